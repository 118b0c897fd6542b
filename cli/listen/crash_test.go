package listen_test

import (
	"context"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
)

// TestPendingOfADeadRunIsMarkedInterrupted: a capture an earlier run left
// pending (it died mid-forward) is marked interrupted when the next
// listener opens the store, and replay --failed would pick it.
func TestPendingOfADeadRunIsMarkedInterrupted(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	st, err := capture.Open(env["OMEGA_LISTEN_HOME"], capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &capture.Capture{Meta: capture.Meta{SessionID: "s_dead", Method: "POST", Path: "/omega/{token}", Target: "http://localhost:1/", EventType: "video.deleted"}}
	if err := st.Begin(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	st.Close()

	p := clitest.StartInProc(t, env, "--emulate", "--print")
	p.Stop(t)
	if !strings.Contains(p.Err.String(), "Marked 1 capture(s) that an earlier run left pending") {
		t.Errorf("stderr: %s", p.Err)
	}
	st, err = capture.Open(env["OMEGA_LISTEN_HOME"], capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Get(context.Background(), c.ID)
	if err != nil || got.State != capture.StateInterrupted || got.Outcome() != capture.OutcomeFailed || !strings.HasPrefix(got.Error, "interrupted") {
		t.Fatalf("after the next run: %+v, %v", got, err)
	}
	failed, err := st.List(context.Background(), capture.Query{Failed: true})
	if err != nil || len(failed) != 1 || failed[0].ID != c.ID {
		t.Errorf("--failed selects %+v, %v", failed, err)
	}
	pending, _ := st.List(context.Background(), capture.Query{Outcomes: []capture.Outcome{capture.OutcomePending}})
	if len(pending) != 0 {
		t.Errorf("still pending: %+v", pending)
	}
}
