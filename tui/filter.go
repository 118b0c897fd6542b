package tui

import (
	"fmt"
	"strings"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
)

// filter is a parsed `/` filter. Conditions combine with AND; the values
// of one condition (types, statuses) with OR.
type filter struct {
	raw      string
	types    []string // event type prefixes
	statuses []string // "2xx", "4xx", "5xx", "ok", "failed", "rejected", "error", "pending"
	text     string   // must occur in the request body (asked of the store)
	// q is the same conditions as a store query, worked out once: the
	// store searches with it, and rows in memory are matched by it.
	q capture.Query
}

func (f filter) empty() bool { return len(f.types) == 0 && len(f.statuses) == 0 && f.text == "" }

var statusNames = []string{"2xx", "3xx", "4xx", "5xx", "ok", "error", "failed", "rejected", "pending"}

// parseFilter reads a filter line:
//
//	type:video.process_succeeded   event type (or prefix: type:video.process)
//	video.deleted                  a bare word that starts a known event type
//	status:5xx                     2xx 3xx 4xx 5xx (the app's status), ok,
//	                               error (app answered non-2xx), failed
//	                               (app not reached), rejected, pending
//	anything else                  text the request body must contain;
//	                               "double quotes" keep spaces
//
// Values of type: and status: may be comma-separated.
func parseFilter(s string) (filter, error) {
	f := filter{raw: strings.TrimSpace(s)}
	var words []string
	for _, tok := range splitQuoted(s) {
		if tok.quoted {
			words = append(words, tok.s)
			continue
		}
		name, val, hasColon := strings.Cut(tok.s, ":")
		switch {
		case hasColon && strings.EqualFold(name, "type"):
			for v := range strings.SplitSeq(val, ",") {
				if v = strings.TrimSpace(v); v != "" {
					f.types = append(f.types, v)
				}
			}
			if val == "" {
				return filter{}, fmt.Errorf("type: needs an event type, e.g. type:%s", omega.TypeProcessSucceeded)
			}
		case hasColon && strings.EqualFold(name, "status"):
			if val == "" {
				return filter{}, fmt.Errorf("status: needs one of %s", strings.Join(statusNames, ", "))
			}
			for v := range strings.SplitSeq(strings.ToLower(val), ",") {
				v = strings.TrimSpace(v)
				if v == "app_error" {
					v = "error"
				}
				found := false
				for _, n := range statusNames {
					if v == n {
						found = true
					}
				}
				if !found {
					return filter{}, fmt.Errorf("status:%s: want one of %s", v, strings.Join(statusNames, ", "))
				}
				f.statuses = append(f.statuses, v)
			}
		case isTypePrefix(tok.s):
			f.types = append(f.types, tok.s)
		default:
			words = append(words, tok.s)
		}
	}
	f.text = strings.Join(words, " ")
	f.q = f.query()
	return f, nil
}

// isTypePrefix: a bare word is a type filter when it starts a documented
// event type and looks like one (at least "video."), so body text such as
// "vid" is not taken for a type.
func isTypePrefix(w string) bool {
	if !strings.Contains(w, ".") {
		return false
	}
	for _, t := range omega.AllTypes() {
		if strings.HasPrefix(t, w) {
			return true
		}
	}
	return false
}

type token struct {
	s      string
	quoted bool
}

// splitQuoted splits on spaces, keeping "double-quoted phrases" whole. An
// unterminated quote runs to the end.
func splitQuoted(s string) []token {
	var out []token
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				if len(s) > 1 {
					out = append(out, token{s[1:], true})
				}
				return out
			}
			if end > 0 {
				out = append(out, token{s[1 : 1+end], true})
			}
			s = s[2+end:]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		out = append(out, token{s[:end], false})
		s = s[end:]
	}
}

// match reports whether a row passes the type and status conditions, as
// the store would. The text condition is the store's to check (the row
// has no body).
func (f filter) match(s *capture.Summary) bool { return f.q.MatchesSummary(s) }

// query builds f.q from the parsed conditions.
func (f filter) query() capture.Query {
	q := capture.Query{TypePrefixes: f.types, Text: f.text}
	for _, st := range f.statuses {
		switch st {
		case "2xx", "3xx", "4xx", "5xx":
			q.StatusClasses = append(q.StatusClasses, int(st[0]-'0'))
		case "ok":
			q.Outcomes = append(q.Outcomes, capture.OutcomeOK)
		case "error":
			q.Outcomes = append(q.Outcomes, capture.OutcomeAppError)
		case "failed":
			q.Outcomes = append(q.Outcomes, capture.OutcomeFailed)
		case "rejected":
			q.Outcomes = append(q.Outcomes, capture.OutcomeRejected)
		case "pending":
			q.Outcomes = append(q.Outcomes, capture.OutcomePending)
		}
	}
	return q
}
