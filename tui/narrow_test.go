package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
)

// TestGoldenTiny: 30×8 degrades gracefully: the header's event list
// becomes its size, the EVENT column keeps the type (without "video."),
// and the detail view's times are not cut in two.
func TestGoldenTiny(t *testing.T) {
	m, _ := started(t, fixtures(), 30, 8)
	s := screen(t, m)
	golden(t, "tiny", s)
	if !strings.Contains(s, "process_f") {
		t.Errorf("the EVENT column lost the type at 30 columns:\n%s", s)
	}
	m, _ = started(t, fixtures(), 30, 14)
	press(m, "enter")
	s = screen(t, m)
	golden(t, "tiny_detail", s)
	if !strings.Contains(s, "11-26 17:00:15") {
		t.Errorf("a time was cut in two:\n%s", s)
	}
}

// TestNewRowsWhileScrolledAway: the header counts rows that arrived below
// the view while the list does not follow.
func TestNewRowsWhileScrolledAway(t *testing.T) {
	m, _ := started(t, fixtures(), 100, 12)
	press(m, "g") // to the top: no longer following
	base := m.below(m.cur())
	var rows []capture.Summary
	for i := range 3 {
		rows = append(rows, fixture(20+i, omega.TypeProcessSucceeded, 200).Summary())
	}
	m.Update(deliveriesMsg{rows: rows})
	if got := m.below(m.cur()); got != base+3 {
		t.Fatalf("below = %d, want %d", got, base+3)
	}
	if s := screen(t, m); !strings.Contains(s, "new ↓ (G follows)") {
		t.Errorf("no count of new rows:\n%s", s)
	}
	press(m, "G")
	if s := screen(t, m); strings.Contains(s, "new ↓") {
		t.Errorf("still counted after G:\n%s", s)
	}
}

// TestPendingRowShowsElapsed: a delivery the app has not answered shows
// how long it has waited, and the model ticks to keep it current.
func TestPendingRowShowsElapsed(t *testing.T) {
	fs := &fakeStore{}
	m := newTestModel(t, fs.actions(), 100, 10)
	var ticks int
	m.after = func(time.Duration, tea.Msg) tea.Cmd { ticks++; return nil }
	run(m, m.Init())
	p := fixture(30, omega.TypeProcessSucceeded, 0)
	p.State, p.CompletedAt, p.Duration = capture.StatePending, time.Time{}, 0
	m.now = func() time.Time { return p.ReceivedAt.Add(12*time.Second + 300*time.Millisecond) }
	m.Update(deliveriesMsg{rows: []capture.Summary{p.Summary()}})
	if s := screen(t, m); !strings.Contains(s, "12s…") {
		t.Errorf("no elapsed time on the pending row:\n%s", s)
	}
	if ticks != 1 {
		t.Errorf("%d ticks scheduled, want 1", ticks)
	}
	m.Update(pendingTickMsg{})
	if ticks != 2 {
		t.Errorf("the tick did not schedule the next while pending: %d", ticks)
	}
	done := *p
	done.State, done.Status, done.Duration = capture.StateDone, 200, 3*time.Millisecond
	m.Update(deliveriesMsg{rows: []capture.Summary{done.Summary()}})
	m.Update(pendingTickMsg{})
	if ticks != 2 {
		t.Errorf("ticking on with nothing pending: %d", ticks)
	}
}
