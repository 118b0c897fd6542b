package tui

import (
	"bytes"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
)

// TestProgramSmoke runs the model in a real Bubble Tea program: deliveries
// arrive as messages and are drawn; q starts the teardown, whose lines are
// drawn as they come; DoneMsg ends the program.
func TestProgramSmoke(t *testing.T) {
	fs := &fakeStore{}
	var tm *teatest.TestModel
	acts := fs.actions()
	acts.Quit = func() {
		tm.Send(ShutdownMsg{Line: "Deleting endpoint 6323940a…"})
		tm.Send(ShutdownMsg{Line: "Deleted endpoint 6323940a."})
	}
	m := New(Options{Info: testInfo, Actions: acts, NoColor: true})
	tm = teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	wait := func(what string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(what)) },
			teatest.WithDuration(10*time.Second))
	}
	wait("waiting for deliveries")

	a := fixture(1, omega.TypeProcessSucceeded, 200)
	a.EventID = "evt-alpha-one"
	b := failed(fixture(2, omega.TypeProcessFailed, 0))
	b.EventID = "evt-bravo-two"
	tm.Send(deliveriesMsg{rows: []capture.Summary{a.Summary()}})
	wait("c_01jd3k8m0001") // the short capture ID; the event ID shows only on wider screens
	tm.Send(deliveriesMsg{rows: []capture.Summary{b.Summary()}})
	wait("c_01jd3k8m0002")

	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	wait("Deleted endpoint 6323940a.")
	tm.Send(DoneMsg{})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	final := tm.FinalModel(t).(*Model)
	if final.mode != modeShutdown || final.main.rows.len() != 2 {
		t.Errorf("final model: mode %v, %d rows", final.mode, final.main.rows.len())
	}
	if final.counts[capture.OutcomeOK] != 1 || final.counts[capture.OutcomeFailed] != 1 {
		t.Errorf("counts %v", final.counts)
	}
}
