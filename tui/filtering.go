package tui

import (
	"fmt"
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/text"
)

// lineInput is the one-line editor of the `/` filter. (bubbles' textinput
// brings a blinking cursor and its own styles; a filter needs neither.)
type lineInput struct {
	value []rune
	err   string
}

const maxFilterLen = 200

func (in *lineInput) insert(s string) {
	for _, r := range s {
		if len(in.value) >= maxFilterLen {
			return
		}
		if r == '\n' || r == '\r' || r == '\t' {
			r = ' '
		}
		if text.UnsafeRune(r) {
			continue
		}
		in.value = append(in.value, r)
	}
}

func (m *Model) onInputKey(k tea.KeyPressMsg) tea.Cmd {
	in := m.input
	switch k.String() {
	case "esc":
		m.input = nil
	case "enter":
		f, err := parseFilter(string(in.value))
		if err != nil {
			in.err = err.Error()
			return nil
		}
		m.input = nil
		if f.empty() {
			m.clearFilter()
			return nil
		}
		return m.applyFilter(f)
	case "backspace", "ctrl+h":
		if len(in.value) > 0 {
			in.value = in.value[:len(in.value)-1]
		}
	case "ctrl+u":
		in.value = in.value[:0]
	case "ctrl+w", "alt+backspace":
		v := strings.TrimRightFunc(string(in.value), unicode.IsSpace)
		i := strings.LastIndexFunc(v, unicode.IsSpace)
		in.value = []rune(v[:i+1])
	case "ctrl+c":
		return m.quit()
	default:
		if k.Text != "" {
			in.insert(k.Text)
		} else if k.String() == "space" {
			in.insert(" ")
		}
	}
	in.err = ""
	return nil
}

func (m *Model) clearFilter() {
	m.filt = nil
	m.flt = filter{}
	m.fltGen++
	m.fltBusy, m.fltDirty = false, false
	m.fltSearched, m.fltOlderDone, m.fltLoadingOlder = false, false, false
	m.settle(&m.main)
}

// applyFilter shows the rows f selects. The store holds more than memory
// does, so the filter is asked of it (for the newest filterLimit matches);
// a filter without text shows the matches in memory at once, while the
// store is searched. Without a store, type and status filters still work
// on the rows in memory.
func (m *Model) applyFilter(f filter) tea.Cmd {
	m.clearFilter()
	m.flt = f
	p := newPane()
	m.filt = p
	if f.text == "" {
		for i := range m.main.rows.rows {
			if s := &m.main.rows.rows[i]; f.match(s) {
				p.rows.rows = append(p.rows.rows, *s)
				p.rows.byID[s.ID] = s.Seq
			}
		}
		m.settle(p)
	}
	if m.act.List == nil {
		if f.text == "" {
			m.fltOlderDone = true
			return nil
		}
		m.clearFilter()
		return m.setStatus("searching bodies not available: filter by type: or status: instead", true)
	}
	return m.filterQuery(0)
}

// filterQuery asks the store for the newest matches after Seq after.
func (m *Model) filterQuery(after int64) tea.Cmd {
	m.fltBusy = true
	gen := m.fltGen
	// Every row in memory now is in the store, so once the query has run
	// the store has been searched at least up to the newest of them.
	covered := after
	if n := m.main.rows.len(); n > 0 {
		covered = max(covered, m.main.rows.rows[n-1].Seq)
	}
	q := m.flt.q
	q.AfterSeq, q.Newest, q.Limit = after, true, filterLimit
	return m.listCmd(q, func(rows []capture.Summary, err error) tea.Msg {
		return filterMsg{gen: gen, rows: rows, err: err, after: covered, whole: after == 0}
	})
}

// loadOlderMatches asks the store for the page of matches before the
// first filtered row, when the user scrolls past the top.
func (m *Model) loadOlderMatches() tea.Cmd {
	p := m.filt
	// A refresh in flight (for rows after the newest) does not get in the
	// way; only the first search, which may bring older rows, does.
	if !m.fltSearched || m.fltOlderDone || m.fltLoadingOlder || m.act.List == nil || p.rows.len() == 0 {
		return nil
	}
	m.fltLoadingOlder = true
	gen := m.fltGen
	q := m.flt.q
	q.BeforeSeq, q.Newest, q.Limit = p.rows.rows[0].Seq, true, filterLimit
	return m.listCmd(q, func(rows []capture.Summary, err error) tea.Msg {
		return filterMsg{gen: gen, rows: rows, err: err, older: true}
	})
}

func (m *Model) onFilterResult(msg filterMsg) tea.Cmd {
	if msg.gen != m.fltGen || m.filt == nil {
		return nil // a filter since replaced or cleared
	}
	switch {
	case msg.older:
		m.fltLoadingOlder = false
	case !msg.recheck:
		m.fltBusy = false
	}
	if msg.err != nil {
		return m.setStatus(fmt.Sprintf("filter: %v", msg.err), true)
	}
	if msg.whole {
		m.fltSearched = true
	}
	if (msg.whole || msg.older) && len(msg.rows) < filterLimit {
		m.fltOlderDone = true
	}
	keep := msg.rows[:0]
	for _, s := range msg.rows {
		// The bus may have told us more since the store was read.
		if cur, ok := m.main.rows.get(s.ID); ok && newer(&s, &cur) {
			s = cur
		}
		if !msg.recheck {
			m.fltSeq = max(m.fltSeq, s.Seq)
		}
		if m.flt.match(&s) {
			keep = append(keep, s)
		}
	}
	m.fltSeq = max(m.fltSeq, msg.after)
	p := m.filt
	m.mutate(p, func() {
		p.rows.merge(keep, nil, nil)
		m.trim(p)
	})
	if m.fltDirty && !m.fltBusy {
		m.fltDirty = false
		return m.filterQuery(m.fltSeq)
	}
	return nil
}

// filterChanged applies rows that changed in the main list to the
// filtered one.
func (m *Model) filterChanged(changed []capture.Summary, added bool) tea.Cmd {
	p := m.filt
	var add []capture.Summary
	var del, recheck []string
	for i := range changed {
		s := &changed[i]
		in := p.rows.find(s.ID) >= 0
		switch {
		case m.flt.match(s) && (in || m.flt.text == ""):
			add = append(add, *s)
		case in && !m.flt.match(s):
			del = append(del, s.ID)
		case m.flt.match(s) && len(m.flt.statuses) > 0:
			// A text and status filter: the row now has a status that
			// matches (it was pending when the store was searched), and
			// only the store can say whether its body has the text.
			recheck = append(recheck, s.ID)
		}
	}
	if len(add)+len(del) > 0 {
		m.mutate(p, func() {
			p.rows.merge(add, nil, nil)
			for _, id := range del {
				p.rows.remove(id)
			}
			m.trim(p)
		})
	}
	var cmds []tea.Cmd
	if len(recheck) > 0 && m.act.List != nil {
		q := m.flt.q
		q.IDs = recheck
		gen := m.fltGen
		cmds = append(cmds, m.listCmd(q, func(rows []capture.Summary, err error) tea.Msg {
			return filterMsg{gen: gen, rows: rows, err: err, recheck: true}
		}))
	}
	if !added || m.flt.text == "" {
		return tea.Batch(cmds...)
	}
	if m.fltBusy {
		m.fltDirty = true
		return tea.Batch(cmds...)
	}
	return tea.Batch(append(cmds, m.filterQuery(m.fltSeq))...)
}
