package tui

import (
	"cmp"
	"slices"
	"sort"

	"github.com/omega-listen/omega-listen/capture"
)

// rowList is capture summaries in Seq order, findable by ID. It holds no
// headers or bodies: those are loaded when a row is opened.
type rowList struct {
	rows []capture.Summary
	byID map[string]int64 // ID → Seq
}

func newRowList() *rowList { return &rowList{byID: make(map[string]int64)} }

func (l *rowList) len() int { return len(l.rows) }

// search returns the index of the first row with Seq >= seq.
func (l *rowList) search(seq int64) int {
	// Most lookups are for the newest rows: check the end first.
	if n := len(l.rows); n == 0 || l.rows[n-1].Seq < seq {
		return n
	}
	return sort.Search(len(l.rows), func(i int) bool { return l.rows[i].Seq >= seq })
}

// find returns the index of the row with this ID, or -1.
func (l *rowList) find(id string) int {
	seq, ok := l.byID[id]
	if !ok {
		return -1
	}
	i := l.search(seq)
	if i < len(l.rows) && l.rows[i].ID == id {
		return i
	}
	return -1
}

func (l *rowList) get(id string) (capture.Summary, bool) {
	if i := l.find(id); i >= 0 {
		return l.rows[i], true
	}
	return capture.Summary{}, false
}

// newer reports whether in should replace old, the same capture seen
// earlier. States only move forward: an event or a read that saw the
// capture pending never undoes one that saw it done.
func newer(old, in *capture.Summary) bool {
	return !(old.State == capture.StateDone && in.State != capture.StateDone)
}

// merge applies rows by ID: the later state wins, and a capture is never
// held twice. skip (if not nil) may refuse a row that is not held yet;
// changed is called for every row applied, with the value it replaced.
// New rows are usually the newest and are appended; any others cost one
// sort for the whole batch rather than a copy each.
func (l *rowList) merge(in []capture.Summary, skip func(*capture.Summary) bool, changed func(prev capture.Summary, existed bool, s capture.Summary)) {
	var fresh []capture.Summary
	var freshAt map[string]int
	sorted := true
	last := int64(-1 << 63)
	if n := len(l.rows); n > 0 {
		last = l.rows[n-1].Seq
	}
	for _, s := range in {
		if i := l.find(s.ID); i >= 0 {
			prev := l.rows[i]
			if !newer(&prev, &s) {
				continue
			}
			if prev.Seq == s.Seq {
				l.rows[i] = s
			} else {
				// The store moved it (two processes picked the same Seq).
				l.removeAt(i)
				fresh, freshAt = addFresh(fresh, freshAt, s)
				sorted = false
			}
			if changed != nil {
				changed(prev, true, s)
			}
			continue
		}
		if j, ok := freshAt[s.ID]; ok {
			prev := fresh[j]
			if newer(&prev, &s) {
				fresh[j] = s
				if changed != nil {
					changed(prev, true, s)
				}
			}
			continue
		}
		if skip != nil && skip(&s) {
			continue
		}
		if s.Seq <= last {
			sorted = false
		}
		last = s.Seq
		fresh, freshAt = addFresh(fresh, freshAt, s)
		if changed != nil {
			changed(capture.Summary{}, false, s)
		}
	}
	if len(fresh) == 0 {
		return
	}
	for _, s := range fresh {
		l.byID[s.ID] = s.Seq
	}
	l.rows = append(l.rows, fresh...)
	if !sorted {
		slices.SortStableFunc(l.rows, func(a, b capture.Summary) int { return cmp.Compare(a.Seq, b.Seq) })
	}
}

func addFresh(fresh []capture.Summary, at map[string]int, s capture.Summary) ([]capture.Summary, map[string]int) {
	if at == nil {
		at = make(map[string]int)
	}
	at[s.ID] = len(fresh)
	return append(fresh, s), at
}

func (l *rowList) removeAt(i int) {
	delete(l.byID, l.rows[i].ID)
	l.rows = append(l.rows[:i], l.rows[i+1:]...)
}

func (l *rowList) remove(id string) bool {
	if i := l.find(id); i >= 0 {
		l.removeAt(i)
		return true
	}
	return false
}

// dropFront forgets the n oldest rows.
func (l *rowList) dropFront(n int) {
	n = min(n, len(l.rows))
	for _, r := range l.rows[:n] {
		delete(l.byID, r.ID)
	}
	// Copy rather than reslice so the dropped rows' memory is freed.
	l.rows = append(make([]capture.Summary, 0, len(l.rows)-n+len(l.rows)/4), l.rows[n:]...)
}
