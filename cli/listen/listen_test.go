package listen_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
	"github.com/omega-listen/omega-listen/tunnel"
)

func TestDomainEndpointIsReusedAndDeactivatedAtExit(t *testing.T) {
	emu, env := clitest.EmuEnv(t, emulator.Options{})
	env["NGROK_AUTHTOKEN"] = "test-token"

	p := clitest.StartInProcWith(t, clitest.FakeNgrok, env, "--forward", "8888", "--domain", "dev-me.ngrok.app", "-e", "video.process_succeeded")
	eps := emu.Endpoints()
	if len(eps) != 1 || !strings.HasPrefix(eps[0].URL, "https://dev-me.ngrok.app/omega/") {
		t.Fatalf("first run registered %+v", eps)
	}
	first := eps[0]
	p.Stop(t)
	eps = emu.Endpoints()
	if len(eps) != 1 || eps[0].Active {
		t.Fatalf("after exit: %+v, want the one endpoint, inactive", eps)
	}
	if !strings.Contains(p.Err.String(), "Deactivated endpoint "+first.ID) {
		t.Errorf("stderr: %s", p.Err)
	}

	// Second run: same URL (the token is kept per data dir), same endpoint,
	// new events, active again.
	p = clitest.StartInProcWith(t, clitest.FakeNgrok, env, "--forward", "8888", "--domain", "dev-me.ngrok.app", "-e", "video.process_failed,video.deleted")
	eps = emu.Endpoints()
	if len(eps) != 1 || eps[0].ID != first.ID || eps[0].URL != first.URL || !eps[0].Active ||
		strings.Join(eps[0].Events, ",") != "video.process_failed,video.deleted" {
		t.Fatalf("second run: %+v, want endpoint %s reused with new events", eps, first.ID)
	}
	if !strings.Contains(p.Err.String(), "Reusing endpoint "+first.ID) {
		t.Errorf("stderr: %s", p.Err)
	}
	p.Stop(t)

	// --delete-on-exit deletes it.
	p = clitest.StartInProcWith(t, clitest.FakeNgrok, env, "--forward", "8888", "--domain", "dev-me.ngrok.app", "--delete-on-exit")
	p.Stop(t)
	if n := len(emu.Endpoints()); n != 0 {
		t.Errorf("--delete-on-exit left %d endpoints", n)
	}
}

func TestMissingNgrokTokenFailsBeforeAnythingElse(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir(), "OMEGA_API_KEY": "k"}
	code, _, errs := clitest.Run(t, env, "--forward", "8888")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"NGROK_AUTHTOKEN", "dashboard.ngrok.com", "--tunnel none --public-url", "--emulate"} {
		if !strings.Contains(errs, want) {
			t.Errorf("message lacks %q:\n%s", want, errs)
		}
	}
}

func TestListenInProcessRegistersAndCleansUp(t *testing.T) {
	emu, env := clitest.EmuEnv(t, emulator.Options{})
	p := clitest.StartInProc(t, env, "--tunnel", "none", "--forward", "8888", "-e", "all")
	eps := emu.Endpoints()
	if len(eps) != 1 || len(eps[0].Events) != len(omega.AllTypes()) {
		t.Fatalf("endpoints: %+v", eps)
	}
	if !strings.Contains(p.Out.String(), "Ready! Forwarding Omega events to http://localhost:8888/ (endpoint "+eps[0].ID[:8]+"…, public URL "+eps[0].URL+"). Press Ctrl-C to quit.") {
		t.Errorf("ready line: %q", p.Out)
	}
	p.Stop(t)
	if len(emu.Endpoints()) != 0 {
		t.Errorf("endpoint left behind")
	}
}

func TestNoEffectWarning(t *testing.T) {
	_, env := clitest.EmuEnv(t, emulator.Options{})
	p := clitest.StartInProc(t, env, "--tunnel", "none", "--forward", "8888", "-e", "video.in_progress,video.ready_to_watch")
	p.Stop(t)
	if !strings.Contains(p.Err.String(), "Warning: Omega's docs say none of video.in_progress, video.ready_to_watch has any effect now") {
		t.Errorf("stderr: %s", p.Err)
	}
}

func TestTunnelStateChangesArePrinted(t *testing.T) {
	st := make(chan tunnel.Status, 8)
	_, env := clitest.EmuEnv(t, emulator.Options{})
	env["NGROK_AUTHTOKEN"] = "x"
	p := clitest.StartInProcWith(t, clitest.FakeNgrokWithStatus(st), env, "--forward", "8888", "--format", "json")
	st <- tunnel.Status{State: tunnel.Connected, URL: "https://a.test", Latency: time.Millisecond} // a heartbeat: not a change
	st <- tunnel.Status{State: tunnel.Disconnected, Err: errors.New("network gone")}
	st <- tunnel.Status{State: tunnel.Reconnected, URL: "https://a.test"}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.Out.String(), `"type":"tunnel"`) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := p.Out.String()
	if !strings.Contains(out, `"error":"network gone","state":"disconnected"`) || !strings.Contains(out, `"state":"reconnected","time"`) {
		t.Errorf("NDJSON lacks the tunnel's state changes:\n%s", out)
	}
	if n := strings.Count(out, `"type":"tunnel"`); n != 2 {
		t.Errorf("%d tunnel lines, want 2 (the heartbeat is not a change)", n)
	}
	close(st)
	p.Stop(t)
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	emu, env := clitest.EmuEnv(t, emulator.Options{})
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release // an app stuck on a delivery
	}))
	defer app.Close()
	var unstick sync.Once
	defer unstick.Do(func() { close(release) })
	p := clitest.StartInProc(t, env, "--tunnel", "none", "--forward", app.URL)
	go emu.Deliver(context.Background(), omega.TypeProcessSucceeded)
	<-entered
	p.Sig <- os.Interrupt // graceful: waits for the stuck delivery
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Err.String(), "Shutting down") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case c := <-p.Exited:
		t.Fatalf("exited (%d) on the first signal", c)
	case c := <-p.Code:
		t.Fatalf("returned (%d) with a delivery in flight", c)
	default:
	}
	p.Sig <- os.Interrupt
	select {
	case c := <-p.Exited:
		if c != 130 {
			t.Errorf("exit code %d, want 130", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second signal did not exit")
	}
	if !strings.Contains(p.Err.String(), "Quitting at once.") {
		t.Errorf("stderr: %s", p.Err)
	}
	// What is left behind, with the exact command that removes it.
	eps := emu.Endpoints()
	if len(eps) != 1 || !strings.Contains(p.Err.String(), "Endpoint "+eps[0].ID+" is left registered") ||
		!strings.Contains(p.Err.String(), "  omega-listen endpoints delete "+eps[0].ID+" --data-dir ") {
		t.Errorf("the forced quit does not say what it left (%+v): %s", eps, p.Err)
	}
	// Exit is stubbed, so Main is still running: let the stuck delivery go
	// and wait for Main to finish its teardown, which writes to the data
	// dir, before the test's cleanup removes that dir.
	unstick.Do(func() { close(release) })
	select {
	case <-p.Code:
	case <-time.After(30 * time.Second):
		t.Fatal("Main did not return after the stuck delivery was released")
	}
}

// TestListenerShowsWhatOtherProcessesRecord: a replay run beside the
// listener writes to the same store; the listener prints it.
func TestListenerShowsWhatOtherProcessesRecord(t *testing.T) {
	_, env := clitest.EmuEnv(t, emulator.Options{})
	p := clitest.StartInProc(t, env, "--tunnel", "none", "--forward", "8888", "--print")
	defer p.Stop(t)
	other, err := capture.Open(env["OMEGA_LISTEN_HOME"], capture.Options{Retain: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// Another listener's delivery (no lock on its platform, say) is not ours.
	foreign := &capture.Capture{
		Meta: capture.Meta{SessionID: "other-listener", Method: "POST", Path: "/omega/{token}", EventID: "6b08000000000000000000ff",
			EventType: "video.deleted", State: capture.StateDone, Status: 200, SentStatus: 200, Target: "http://localhost:9999/"},
	}
	if err := other.Record(context.Background(), foreign); err != nil {
		t.Fatal(err)
	}
	c := &capture.Capture{
		Meta: capture.Meta{SessionID: "replayer", Method: "POST", Path: "/omega/{token}", EventID: "6b0800000000000000000001",
			EventType: "video.uploaded", ReplayOf: "c_original", State: capture.StateDone, Status: 204, SentStatus: 204, Target: "http://localhost:8888/"},
	}
	if err := other.Record(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(20 * time.Second)
	for !strings.Contains(p.Out.String(), "[204] POST http://localhost:8888/ [6b0800000000000000000001]") {
		select {
		case <-deadline:
			t.Fatalf("the listener never printed the other process's capture:\n%s", p.Out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.Contains(p.Out.String(), "video.uploaded [6b0800000000000000000001] (replay of c_original)") {
		t.Errorf("no received line for the replay:\n%s", p.Out)
	}
	if strings.Contains(p.Out.String(), "6b08000000000000000000ff") {
		t.Errorf("printed another listener's delivery as its own:\n%s", p.Out)
	}
}

// --endpoint borrows the user's endpoint while running and gives it back
// exactly as it was.
func TestEndpointIsBorrowedAndGivenBack(t *testing.T) {
	emu, env := clitest.EmuEnv(t, emulator.Options{})
	c, err := omega.NewClient(omega.Options{BaseURL: emu.BaseURL, APIKey: emu.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ep, err := c.CreateEndpoint(ctx, omega.EndpointInput{URL: "https://prod.example.com/hooks", Description: "production", Events: []string{"video.deleted"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetEndpointActive(ctx, ep.ID, false); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		events string // while running
	}{
		{"own events", nil, "video.deleted"},
		{"-e given", []string{"-e", "video.uploaded,video.process_failed"}, "video.uploaded,video.process_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := clitest.StartInProc(t, env, append([]string{"--tunnel", "none", "--forward", "8888", "--print", "--endpoint", ep.ID}, tc.args...)...)
			eps := emu.Endpoints()
			if len(eps) != 1 {
				t.Fatalf("endpoints while running: %+v (want only the borrowed one)", eps)
			}
			got := eps[0]
			if got.ID != ep.ID || !strings.Contains(got.URL, "/omega/") || !got.Active || got.Desc() != "production" || strings.Join(got.Events, ",") != tc.events {
				t.Fatalf("while running: %+v", got)
			}
			p.Stop(t)
			got = emu.Endpoints()[0]
			if got.URL != "https://prod.example.com/hooks" || got.Active || got.Desc() != "production" || strings.Join(got.Events, ",") != "video.deleted" {
				t.Fatalf("after exit: %+v, want it as it was", got)
			}
			if !strings.Contains(p.Err.String(), "Gave endpoint "+ep.ID+" back") {
				t.Errorf("stderr: %s", p.Err)
			}
		})
	}

	code, _, errs := clitest.Run(t, env, "--tunnel", "none", "--forward", "8888", "--endpoint", "6b0800000000000000000bad")
	if code != 1 || !strings.Contains(errs, "no endpoint with id") {
		t.Errorf("unknown --endpoint: exit %d: %s", code, errs)
	}
	code, _, errs = clitest.Run(t, env, "--tunnel", "none", "--forward", "8888", "--backfill", "1h")
	if code != 2 || !strings.Contains(errs, "--backfill needs") {
		t.Errorf("--backfill without an endpoint: exit %d: %s", code, errs)
	}
}
