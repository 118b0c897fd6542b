package tui

import (
	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
)

// filter is a parsed `/` filter (capture.ParseFilter: the web inspector
// reads the same syntax).
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

// parseFilter reads a filter line; see capture.ParseFilter for the syntax.
func parseFilter(s string) (filter, error) {
	f, err := capture.ParseFilter(s, omega.AllTypes())
	if err != nil {
		return filter{}, err
	}
	return filter{raw: f.Raw, types: f.Types, statuses: f.Statuses, text: f.Text, q: f.Query}, nil
}

// match reports whether a row passes the type and status conditions, as
// the store would. The text condition is the store's to check (the row
// has no body).
func (f filter) match(s *capture.Summary) bool { return f.q.MatchesSummary(s) }
