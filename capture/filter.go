package capture

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Filter is a parsed filter line, the syntax the screen's `/` and the web
// inspector share. Conditions combine with AND; the values of one
// condition (types, statuses) with OR.
type Filter struct {
	Raw      string
	Types    []string // event type prefixes
	Statuses []string // "2xx", "3xx", "4xx", "5xx", "ok", "error", "failed", "rejected", "pending"
	Text     string   // must occur in the request body
	// Query is the same conditions as a store query.
	Query Query
}

// Empty reports whether the filter selects everything.
func (f Filter) Empty() bool { return len(f.Types) == 0 && len(f.Statuses) == 0 && f.Text == "" }

// Match reports whether c passes every condition, as the store would
// decide it. c must carry its body when the filter has text.
func (f Filter) Match(c *Capture) bool {
	s := c.Summary()
	if !f.Query.MatchesSummary(&s) {
		return false
	}
	return f.Text == "" || bytes.Contains(c.Body, []byte(f.Text))
}

// StatusNames are the values status: takes.
var StatusNames = []string{"2xx", "3xx", "4xx", "5xx", "ok", "error", "failed", "rejected", "pending"}

// ParseFilter reads a filter line:
//
//	type:video.process_succeeded   event type (or prefix: type:video.process)
//	video.deleted                  a bare word that starts one of knownTypes
//	status:5xx                     2xx 3xx 4xx 5xx (the app's status), ok,
//	                               error (app answered non-2xx), failed
//	                               (app not reached), rejected, pending
//	anything else                  text the request body must contain;
//	                               "double quotes" keep spaces
//
// Values of type: and status: may be comma-separated.
func ParseFilter(s string, knownTypes []string) (Filter, error) {
	f := Filter{Raw: strings.TrimSpace(s)}
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
					f.Types = append(f.Types, v)
				}
			}
			if val == "" {
				return Filter{}, fmt.Errorf("type: needs an event type, e.g. type:video.process_succeeded")
			}
		case hasColon && strings.EqualFold(name, "status"):
			if val == "" {
				return Filter{}, fmt.Errorf("status: needs one of %s", strings.Join(StatusNames, ", "))
			}
			for v := range strings.SplitSeq(strings.ToLower(val), ",") {
				v = strings.TrimSpace(v)
				if v == "app_error" {
					v = "error"
				}
				if !slices.Contains(StatusNames, v) {
					return Filter{}, fmt.Errorf("status:%s: want one of %s", v, strings.Join(StatusNames, ", "))
				}
				f.Statuses = append(f.Statuses, v)
			}
		case isTypePrefix(tok.s, knownTypes):
			f.Types = append(f.Types, tok.s)
		default:
			words = append(words, tok.s)
		}
	}
	f.Text = strings.Join(words, " ")
	f.Query = f.query()
	return f, nil
}

// isTypePrefix: a bare word is a type filter when it starts a known event
// type and looks like one (at least "video."), so body text such as "vid"
// is not taken for a type.
func isTypePrefix(w string, known []string) bool {
	if !strings.Contains(w, ".") {
		return false
	}
	return slices.ContainsFunc(known, func(t string) bool { return strings.HasPrefix(t, w) })
}

type filterToken struct {
	s      string
	quoted bool
}

// splitQuoted splits on spaces, keeping "double-quoted phrases" whole. An
// unterminated quote runs to the end.
func splitQuoted(s string) []filterToken {
	var out []filterToken
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				if len(s) > 1 {
					out = append(out, filterToken{s[1:], true})
				}
				return out
			}
			if end > 0 {
				out = append(out, filterToken{s[1 : 1+end], true})
			}
			s = s[2+end:]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		out = append(out, filterToken{s[:end], false})
		s = s[end:]
	}
}

// query builds f.Query from the parsed conditions.
func (f Filter) query() Query {
	q := Query{TypePrefixes: f.Types, Text: f.Text}
	for _, st := range f.Statuses {
		switch st {
		case "2xx", "3xx", "4xx", "5xx":
			q.StatusClasses = append(q.StatusClasses, int(st[0]-'0'))
		case "ok":
			q.Outcomes = append(q.Outcomes, OutcomeOK)
		case "error":
			q.Outcomes = append(q.Outcomes, OutcomeAppError)
		case "failed":
			q.Outcomes = append(q.Outcomes, OutcomeFailed)
		case "rejected":
			q.Outcomes = append(q.Outcomes, OutcomeRejected)
		case "pending":
			q.Outcomes = append(q.Outcomes, OutcomePending)
		}
	}
	return q
}
