package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/omega-listen/omega-listen/capture"
)

// ErrNothingSelected is wrapped by Select's error when no capture matches.
var ErrNothingSelected = errors.New("nothing to replay")

// ErrRejected is wrapped by the error for a capture the receiver refused:
// it was never forwarded (wrong path, method or size, and its body was not
// kept), so there is nothing to replay.
var ErrRejected = errors.New("capture was rejected by the receiver and never forwarded")

// Selector says which captures to replay: either IDs, or a combination of
// the filters (Types, Since, Failed, Last), or All.
type Selector struct {
	// IDs are capture IDs or unambiguous prefixes of them (see
	// capture.Store.Get). They cannot be combined with the filters.
	IDs []string
	// Last keeps the newest Last captures of those the other filters
	// select (0: no limit).
	Last int
	// Types keeps captures of these event types.
	Types []string
	// Since keeps captures received in this long before now (0: any time).
	Since time.Duration
	// Failed keeps deliveries the app has not accepted yet: the capture's
	// app answered non-2xx or could not be reached, and no replay of it
	// has since got a 2xx. A capture and its replays count as one
	// delivery, and it is the original (the capture at the root of the
	// ReplayOf chain) that is selected, so running replay --failed twice
	// never sends one event twice once the app accepts it.
	Failed bool
	// All selects every capture; it cannot be combined with anything.
	All bool
}

func (s Selector) filters() bool {
	return s.Last > 0 || len(s.Types) > 0 || s.Since > 0 || s.Failed
}

// SelectorProblem is what is wrong with a Selector.
type SelectorProblem int

// The problems Validate finds.
const (
	// NegativeLast: Last is below zero.
	NegativeLast SelectorProblem = iota + 1
	// FutureSince: Since is below zero, a window that starts in the future.
	FutureSince
	// IDsAndFilters: capture IDs together with filters or All.
	IDsAndFilters
	// AllAndFilters: All together with other filters.
	AllAndFilters
	// NoSelection: neither IDs, nor filters, nor All.
	NoSelection
	// EmptyType: one of Types is empty.
	EmptyType
)

// SelectorError is a Selector that does not name exactly one kind of
// selection. Its text speaks of the selection, not of the flags that made
// it; the command layer says which of its flags to change.
type SelectorError struct {
	Problem SelectorProblem
}

func (e *SelectorError) Error() string {
	switch e.Problem {
	case NegativeLast:
		return "the number of latest captures must be positive"
	case FutureSince:
		return "the start of the time window must not be in the future"
	case IDsAndFilters:
		return "give capture IDs or filters, not both"
	case AllAndFilters:
		return "selecting every capture cannot be combined with other filters"
	case NoSelection:
		return "say what to replay: capture IDs, the latest N, a type, a time window, the failed ones, or all"
	case EmptyType:
		return "empty event type"
	}
	return fmt.Sprintf("invalid selection (problem %d)", int(e.Problem))
}

// Validate checks that s names exactly one kind of selection. Its error is
// a *SelectorError.
func (s Selector) Validate() error {
	bad := func(p SelectorProblem) error { return &SelectorError{Problem: p} }
	switch {
	case s.Last < 0:
		return bad(NegativeLast)
	case s.Since < 0:
		return bad(FutureSince)
	case len(s.IDs) > 0 && (s.filters() || s.All):
		return bad(IDsAndFilters)
	case s.All && s.filters():
		return bad(AllAndFilters)
	case len(s.IDs) == 0 && !s.filters() && !s.All:
		return bad(NoSelection)
	}
	for _, t := range s.Types {
		if strings.TrimSpace(t) == "" {
			return bad(EmptyType)
		}
	}
	return nil
}

// String describes s for messages: "the last 3 failed captures of type
// video.process_failed received in the last 1h0m0s".
func (s Selector) String() string {
	switch {
	case len(s.IDs) > 0:
		return "captures " + strings.Join(s.IDs, ", ")
	case s.All:
		return "all captures"
	case s.Last > 0:
		return fmt.Sprintf("the last %d %s", s.Last, s.matching())
	}
	return "the " + s.matching()
}

// matching describes the filters but Last: "failed captures of type T".
func (s Selector) matching() string {
	var b strings.Builder
	if s.Failed {
		b.WriteString("failed ")
	}
	b.WriteString("captures")
	if len(s.Types) > 0 {
		fmt.Fprintf(&b, " of type %s", strings.Join(s.Types, " or "))
	}
	if s.Since > 0 {
		fmt.Fprintf(&b, " received in the last %s", s.Since)
	}
	return b.String()
}

// nothingSelected is the error for filters that select nothing.
func nothingSelected(sel Selector) error {
	if sel.All {
		return fmt.Errorf("%w: the store holds no captures that can be replayed", ErrNothingSelected)
	}
	err := fmt.Errorf("%w: there are no %s", ErrNothingSelected, sel.matching())
	if sel.Failed {
		err = fmt.Errorf("%w (a delivery that a replay has since got a 2xx for is not failed any more, though `captures list --failed` still lists its failed attempts)", err)
	}
	return err
}

// fetchChunk bounds the IDs in one query, well under SQLite's limit on
// parameters.
const fetchChunk = 500

// Select returns the captures sel selects, whole and oldest first (by
// Seq). Rejected captures are never selected: asked for by ID, one is an
// error wrapping ErrRejected; filters skip them. A selection of nothing is
// an error wrapping ErrNothingSelected that says what was looked for.
func Select(ctx context.Context, store *capture.Store, sel Selector, now time.Time) ([]*capture.Capture, error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	if len(sel.IDs) > 0 {
		return selectIDs(ctx, store, sel.IDs)
	}
	q := capture.Query{Types: sel.Types}
	if sel.Since > 0 {
		q.Since = now.Add(-sel.Since)
	}
	sums, err := store.List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("selecting captures: %w", err)
	}
	sums = slices.DeleteFunc(sums, func(s capture.Summary) bool { return s.Flags.Has(capture.FlagRejected) })
	if sel.Failed {
		sums = stillFailing(sums)
	}
	if sel.Last > 0 && len(sums) > sel.Last {
		sums = sums[len(sums)-sel.Last:]
	}
	if len(sums) == 0 {
		return nil, nothingSelected(sel)
	}
	out := make([]*capture.Capture, 0, len(sums))
	for chunk := range slices.Chunk(sums, fetchChunk) {
		ids := make([]string, len(chunk))
		for i, s := range chunk {
			ids[i] = s.ID
		}
		caps, err := store.ListFull(ctx, capture.Query{IDs: ids})
		if err != nil {
			return nil, fmt.Errorf("reading the selected captures: %w", err)
		}
		out = append(out, caps...)
	}
	if len(out) == 0 {
		// Pruned between the two reads.
		return nil, nothingSelected(sel)
	}
	return out, nil
}

func selectIDs(ctx context.Context, store *capture.Store, ids []string) ([]*capture.Capture, error) {
	out := make([]*capture.Capture, 0, len(ids))
	given := make(map[string]string, len(ids)) // resolved ID → as given
	for _, id := range ids {
		c, err := store.Get(ctx, strings.TrimSpace(id))
		if err != nil {
			return nil, err
		}
		if prev, ok := given[c.ID]; ok {
			if prev == id {
				return nil, fmt.Errorf("capture %s is given twice", id)
			}
			return nil, fmt.Errorf("%q and %q are the same capture, %s: give it once", prev, id, c.ID)
		}
		given[c.ID] = id
		if c.Flags.Has(capture.FlagRejected) {
			return nil, fmt.Errorf("capture %s: %w (%s)", c.ID, ErrRejected, c.RejectReason)
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b *capture.Capture) int { return compareSeq(a.Seq, b.Seq) })
	return out, nil
}

func compareSeq(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// stillFailing keeps, of sums (oldest first), the root of each lineage (a
// capture and its replays) in which something failed and nothing got a
// 2xx. A replay whose original is not in sums is its own root.
func stillFailing(sums []capture.Summary) []capture.Summary {
	byID := make(map[string]int, len(sums))
	for i, s := range sums {
		byID[s.ID] = i
	}
	root := func(i int) int {
		// Bounded: a ReplayOf cycle cannot be made by this program, but
		// the store is outside input.
		for range len(sums) {
			p, ok := byID[sums[i].ReplayOf]
			if sums[i].ReplayOf == "" || !ok || p == i {
				break
			}
			i = p
		}
		return i
	}
	type lineage struct{ ok, failed bool }
	lines := make(map[int]*lineage)
	for i, s := range sums {
		r := root(i)
		l := lines[r]
		if l == nil {
			l = &lineage{}
			lines[r] = l
		}
		switch s.Outcome() {
		case capture.OutcomeOK:
			l.ok = true
		case capture.OutcomeAppError, capture.OutcomeFailed:
			l.failed = true
		}
	}
	var out []capture.Summary
	for i, s := range sums {
		if l := lines[i]; l != nil && l.failed && !l.ok {
			out = append(out, s)
		}
	}
	return out
}
