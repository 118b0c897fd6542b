package trigger_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/session"
)

// TestTriggerRefusesUnsubscribedTypes: Omega never sends a type the
// endpoint is not subscribed to, so trigger does not either.
func TestTriggerRefusesUnsubscribedTypes(t *testing.T) {
	var hits atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer app.Close()
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := clitest.StartInProc(t, env, "--emulate", "--forward", app.URL, "-e", "video.process_succeeded,video.process_failed", "--print")
	defer p.Stop(t)

	code, out, errs := clitest.Run(t, env, "trigger", "video.process_succeeded", "video.deleted")
	if code != 1 || out != "" {
		t.Fatalf("exit %d, out %q; want 1 and nothing delivered", code, out)
	}
	for _, want := range []string{
		"not subscribed to video.deleted, so Omega would not send it (its events: video.process_succeeded, video.process_failed)",
		"omega-listen trigger video.deleted --to " + app.URL,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the app got %d requests, want none (not even the subscribed type)", n)
	}
	if code, _, errs := clitest.Run(t, env, "trigger", "video.process_succeeded"); code != 0 || hits.Load() != 1 {
		t.Errorf("a subscribed type: exit %d, app hits %d, %s", code, hits.Load(), errs)
	}
}

// TestTriggerReturnsOnceRecorded: when trigger returns, the listener's
// capture of the event is in the store for other commands to find, so
// `trigger X && replay --last 1` replays X.
func TestTriggerReturnsOnceRecorded(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := clitest.StartInProc(t, env, "--emulate", "--forward", app.URL, "--print")
	defer p.Stop(t)
	eventID := regexp.MustCompile(`\[([0-9a-f]{24})\]`)
	for i := range 5 {
		code, out, errs := clitest.Run(t, env, "trigger", "video.process_succeeded")
		m := eventID.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("trigger %d: exit %d, %q %q", i, code, out, errs)
		}
		st, err := capture.Open(env["OMEGA_LISTEN_HOME"], capture.Options{Retain: -1})
		if err != nil {
			t.Fatal(err)
		}
		newest, err := st.List(context.Background(), capture.Query{Newest: true, Limit: 1})
		st.Close()
		if err != nil || len(newest) != 1 || newest[0].EventID != m[1] || newest[0].State != capture.StateDone {
			t.Fatalf("trigger %d delivered %s; the newest capture in the store is %+v (%v)", i, m[1], newest, err)
		}
	}
}

// TestCommandsUseTheRunningEmulator: with no API key, endpoints and events
// talk to the emulator of the `--emulate` listener on the data dir.
func TestCommandsUseTheRunningEmulator(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}

	// Nothing running: the usual advice.
	if code, _, errs := clitest.Run(t, env, "endpoints", "list"); code != 1 || !strings.Contains(errs, "no Omega API key") {
		t.Fatalf("no listener: exit %d %q", code, errs)
	}

	p := clitest.StartInProc(t, env, "--emulate", "--forward", app.URL, "--print")
	defer p.Stop(t)
	si, err := session.Find(env["OMEGA_LISTEN_HOME"])
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := clitest.Run(t, env, "endpoints", "list")
	if code != 0 || !strings.Contains(out, si.EndpointID) || !strings.Contains(errs, "Using the emulator of the omega-listen --emulate running on") {
		t.Fatalf("endpoints list: exit %d, out %q, err %q; want the listener's endpoint %s", code, out, errs, si.EndpointID)
	}
	if code, out, errs := clitest.Run(t, env, "trigger", "video.process_succeeded"); code != 0 {
		t.Fatalf("trigger: exit %d %q %q", code, out, errs)
	}
	code, out, errs = clitest.Run(t, env, "events", "list", "--endpoint", si.EndpointID)
	if code != 0 || !strings.Contains(out, "video.process_succeeded") {
		t.Fatalf("events list: exit %d, out %q, err %q", code, out, errs)
	}
}

// TestTriggerSetAndData: --set changes fields of the sample, --data
// replaces it with a file's JSON; both reach the app through the listener.
func TestTriggerSetAndData(t *testing.T) {
	app := clitest.NewApp(t, 200)
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := clitest.StartInProc(t, env, "--emulate", "--forward", app.URL, "--print")
	defer p.Stop(t)

	code, out, errs := clitest.Run(t, env, "trigger", "video.process_succeeded", "--set", `data.title=Launch day`, "--set", "data.duration=0")
	if code != 0 || !strings.Contains(out, "200") {
		t.Fatalf("--set: exit %d %q %q", code, out, errs)
	}
	got := app.Got()
	if len(got) != 1 || !strings.Contains(string(got[0]), `"title":"Launch day"`) && !strings.Contains(string(got[0]), `"title": "Launch day"`) {
		t.Fatalf("the app got %q", got)
	}
	file := filepath.Join(t.TempDir(), "ev.json")
	if err := os.WriteFile(file, []byte(`{"id":"6b0000000000000000000abc","type":"video.process_succeeded","data":{"id":"v1","title":"mine"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = clitest.Run(t, env, "trigger", "video.process_succeeded", "--data", file, "--set", "data.title=theirs")
	if code != 0 || !strings.Contains(out, "[6b0000000000000000000abc]") {
		t.Fatalf("--data: exit %d %q %q", code, out, errs)
	}
	if got := app.Got(); len(got) != 2 || string(got[1]) != `{"id":"6b0000000000000000000abc","type":"video.process_succeeded","data":{"id":"v1","title":"theirs"}}` {
		t.Errorf("the app got %q", got)
	}
	code, _, errs = clitest.Run(t, env, "trigger", "video.process_succeeded", "--set", "nodots")
	if code != cmdutil.ExitUsage || !strings.Contains(errs, "path=value") {
		t.Errorf("bad --set: exit %d %q", code, errs)
	}
}
