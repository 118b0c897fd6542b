package tui

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
)

// BenchmarkView renders one frame of a list that holds 100 000 rows (far
// more than the model keeps by default): the cost must depend on the
// screen, not on the rows.
func BenchmarkView(b *testing.B) {
	const n = 100_000
	rows := make([]capture.Summary, n)
	types := omega.AllTypes()
	for i := range rows {
		c := fixture(i, types[i%len(types)], []int{200, 200, 500, 0}[i%4])
		if i%4 == 3 {
			failed(c)
		}
		if i < n/2 {
			c.SessionID = earlierSess
		}
		rows[i] = c.Summary()
	}
	for _, tc := range []struct {
		name    string
		noColor bool
		scroll  bool
	}{{"colour/following", false, false}, {"colour/scrolled", false, true}, {"nocolour/following", true, false}} {
		b.Run(tc.name, func(b *testing.B) {
			m := New(Options{Info: testInfo, Actions: Actions{}, NoColor: tc.noColor, History: n})
			m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
			m.Update(historyMsg{rows: rows[:n/2], limit: n / 2})
			m.Update(deliveriesMsg{rows: rows[n/2:]})
			if m.main.rows.len() != n {
				b.Fatalf("%d rows", m.main.rows.len())
			}
			if tc.scroll {
				m.main.follow = false
				m.main.sel = n/2 + 3 // the divider is on screen
				m.settle(&m.main)
			}
			b.ResetTimer()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkStart measures New, loading the history from a real store of
// 100 000 captures, and the first frame.
func BenchmarkStart(b *testing.B) {
	store := benchStore(b, 100_000)
	acts := Actions{List: store.List, Load: store.Get}
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		m := New(Options{Info: testInfo, Actions: acts})
		m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
		run(m, m.Init())
		_ = m.View()
		if m.main.rows.len() != defaultHistory {
			b.Fatalf("%d rows loaded", m.main.rows.len())
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "ms/start")
	}
}

// benchStore is a real store of n captures of every type, one in 50
// answered 500.
func benchStore(b *testing.B, n int) *capture.Store {
	store, err := capture.Open(b.TempDir(), capture.Options{Retain: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	ctx := context.Background()
	types := omega.AllTypes()
	for i := range n {
		status := 200
		if i%50 == 0 {
			status = 500
		}
		c := fixture(i, types[i%len(types)], status)
		c.ID, c.Seq = "", 0 // the store assigns them
		c.SessionID = fmt.Sprintf("s_%d", i/1000)
		if err := store.Record(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	if got, err := store.Count(ctx, capture.Query{}); err != nil || got != n {
		b.Fatalf("store holds %d captures (%v)", got, err)
	}
	return store
}

// BenchmarkFilter measures a type and status filter over a real store of
// 100 000 captures, from enter to the matches on screen.
func BenchmarkFilter(b *testing.B) {
	store := benchStore(b, 100_000)
	acts := Actions{List: store.List, Load: store.Get}
	m := New(Options{Info: testInfo, Actions: acts})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	run(m, m.Init())
	want, err := store.Count(context.Background(), capture.Query{StatusClasses: []int{5}, TypePrefixes: []string{"video.process"}})
	if err != nil || want == 0 {
		b.Fatalf("%d matches in the store (%v)", want, err)
	}
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		press(m, "/")
		typeText(m, "status:5xx type:video.process")
		press(m, "enter")
		_ = m.View()
		if got := m.filt.rows.len(); got != min(want, filterLimit) {
			b.Fatalf("%d rows match, want %d", got, min(want, filterLimit))
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "ms/filter")
		press(m, "esc")
	}
}
