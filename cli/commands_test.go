package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/cli"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/session"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

func TestEndpointsCommands(t *testing.T) {
	emu, env := clitest.EmuEnv(t, emulator.Options{})

	code, out, errs := clitest.Run(t, env, "endpoints", "create", "--url", "http://127.0.0.1:9/x", "--events", "video.process_succeeded", "--json")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errs)
	}
	var ep omega.Endpoint
	if err := json.Unmarshal([]byte(out), &ep); err != nil || ep.ID == "" || ep.URL != "http://127.0.0.1:9/x" {
		t.Fatalf("create printed %q (%v)", out, err)
	}

	code, out, _ = clitest.Run(t, env, "endpoints", "list")
	if code != 0 || !strings.Contains(out, ep.ID) || !strings.Contains(out, "video.process_succeeded") || !strings.HasPrefix(out, "ID") {
		t.Errorf("list: %d\n%s", code, out)
	}

	code, _, errs = clitest.Run(t, env, "endpoints", "update", ep.ID, "--events", "all", "--description", "mine")
	if code != 0 {
		t.Fatalf("update: %d %s", code, errs)
	}
	got := emu.Endpoints()[0]
	if len(got.Events) != len(omega.AllTypes()) || got.Desc() != "mine" || got.URL != ep.URL {
		t.Errorf("after update: %+v", got)
	}

	if code, out, _ = clitest.Run(t, env, "endpoints", "disable", ep.ID); code != 0 || emu.Endpoints()[0].Active {
		t.Errorf("disable: %d %s active=%v", code, out, emu.Endpoints()[0].Active)
	}
	if code, _, _ = clitest.Run(t, env, "endpoints", "enable", ep.ID); code != 0 || !emu.Endpoints()[0].Active {
		t.Errorf("enable: %d", code)
	}

	code, out, _ = clitest.Run(t, env, "endpoints", "delete", ep.ID)
	if code != 0 || !strings.Contains(out, "Deleted endpoint "+ep.ID) || len(emu.Endpoints()) != 0 {
		t.Errorf("delete: %d %q, %d left", code, out, len(emu.Endpoints()))
	}
	code, _, errs = clitest.Run(t, env, "endpoints", "delete", ep.ID)
	if code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("delete again: %d %q", code, errs)
	}
}

func TestEventsCommands(t *testing.T) {
	emu, env := clitest.EmuEnv(t, emulator.Options{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		w.Write([]byte("webhook received\n"))
	}))
	defer app.Close()
	_, out, _ := clitest.Run(t, env, "endpoints", "create", "--url", app.URL, "--json")
	var ep omega.Endpoint
	json.Unmarshal([]byte(out), &ep)
	ds, err := emu.Deliver(context.Background(), omega.TypeProcessFailed)
	if err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}

	code, out, errs := clitest.Run(t, env, "events", "list", "--endpoint", ep.ID)
	if code != 0 || !strings.Contains(out, ds[0].EventID) || !strings.Contains(out, "video.process_failed") ||
		!strings.Contains(out, "ANSWER") || !strings.Contains(out, "201 Created") {
		t.Errorf("events list (with the app's answer): %d %s %s", code, out, errs)
	}
	code, out, _ = clitest.Run(t, env, "events", "show", "--endpoint", ep.ID, ds[0].EventID)
	for _, want := range []string{ds[0].EventID, "Answer    201 Created", "webhook received", `"status": "process-failed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("events show lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("events show exit %d", code)
	}
	if code, _, errs = clitest.Run(t, env, "events", "list"); code != 2 || !strings.Contains(errs, "--endpoint is required when no omega-listen is running") {
		t.Errorf("events list without --endpoint: %d %q", code, errs)
	}
}

func TestWrongKeyExitsOneAndSaysWhatToFix(t *testing.T) {
	_, env := clitest.EmuEnv(t, emulator.Options{})
	env["OMEGA_API_KEY"] = "wrong-key-123"
	code, out, errs := clitest.Run(t, env, "endpoints", "list")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errs, "OMEGA_API_KEY") || strings.Contains(errs+out, "wrong-key-123") {
		t.Errorf("stderr = %q: must name OMEGA_API_KEY and never print the key", errs)
	}
	delete(env, "OMEGA_API_KEY")
	code, _, errs = clitest.Run(t, env, "endpoints", "list")
	if code != 1 || !strings.Contains(errs, "OMEGA_API_KEY") || !strings.Contains(errs, "--emulate") {
		t.Errorf("no key: %d %q", code, errs)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no forward", []string{}, "--forward is required"},
		{"unknown event type", []string{"--forward", "8888", "--events", "video.nope"}, `unknown event type "video.nope"; valid types: video.process_failed`},
		{"unknown format", []string{"--forward", "8888", "--format", "xml"}, "--format"},
		{"unknown tunnel", []string{"--forward", "8888", "--tunnel", "carrier-pigeon"}, "--tunnel"},
		{"max-body not a size", []string{"--forward", "8888", "--max-body", "lots"}, "max-body"},
		{"short token", []string{"--forward", "8888", "--token", "short"}, "--token"},
		{"public URL with a tunnel", []string{"--forward", "8888", "--public-url", "https://x.test"}, "--public-url is for --tunnel none"},
		{"emulate with ngrok", []string{"--forward", "8888", "--emulate", "--tunnel", "ngrok"}, "--emulate"},
		{"bad header", []string{"--forward", "8888", "-H", "bad header"}, "-H"},
		{"unknown flag", []string{"--bogus-flag"}, "unknown flag"},
		{"unknown command", []string{"nosuchcommand"}, "unknown command"},
		{"endpoints delete without IDs", []string{"endpoints", "delete"}, "give one or more endpoint IDs (`omega-listen endpoints list` shows them)"},
		{"captures show without an ID", []string{"captures", "show"}, "give one capture ID (`omega-listen captures list` shows them)"},
		{"captures show with two IDs", []string{"captures", "show", "a", "b"}, "2 arguments, but omega-listen captures show takes one capture ID"},
		{"trigger without a type", []string{"trigger"}, "give one or more event types"},
		{"replay last 0", []string{"replay", "--last", "0"}, "--last must be at least 1"},
		{"trigger an unknown type", []string{"trigger", "video.nope"}, "unknown event type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := clitest.Run(t, env, tt.args...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errs, tt.want)
			}
		})
	}
}

func TestEnvVarsFeedFlags(t *testing.T) {
	cmd := cli.NewRootCmd(cmdutil.NewFactory(cmdutil.Streams{Getenv: func(k string) string {
		return map[string]string{"OMEGA_BASE_URL": "http://emu.test/company", "OMEGA_LISTEN_TOKEN": "abcdefghijklmnopqrstuv"}[k]
	}}))
	cmd.SetArgs([]string{"--forward", "8888", "--base-url", "http://flag.test/company"})
	cmd.RunE = func(*cobra.Command, []string) error { return nil }
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if v, _ := cmd.Flags().GetString("base-url"); v != "http://flag.test/company" {
		t.Errorf("a given flag must win over the env: base-url = %q", v)
	}
	if v, _ := cmd.Flags().GetString("token"); v != "abcdefghijklmnopqrstuv" {
		t.Errorf("token from OMEGA_LISTEN_TOKEN = %q", v)
	}
}

func TestPruneDeletesOnlyLeftovers(t *testing.T) {
	emu, env := clitest.EmuEnv(t, emulator.Options{})
	host, _ := os.Hostname()
	c, err := omega.NewClient(omega.Options{BaseURL: emu.BaseURL, APIKey: emu.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mk := func(url, desc string) string {
		ep, err := c.CreateEndpoint(ctx, omega.EndpointInput{URL: url, Description: desc, Events: []string{omega.TypeProcessSucceeded}})
		if err != nil {
			t.Fatal(err)
		}
		return ep.ID
	}
	// A live omega-listen receiver answers GET with 405 Allow: POST.
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		w.WriteHeader(405)
	}))
	defer live.Close()
	// pid 4194304 is pid_max's ceiling, which no process can have.
	crashedHere := mk("http://127.0.0.1:9/omega/x", "omega-listen "+host+" 4194304 2026-11-26T17:00:00Z")
	crashedElsewhere := mk("http://127.0.0.1:9/omega/y", "omega-listen otherhost 12 2026-11-26T17:00:00Z")
	running := mk(live.URL+"/omega/z", "omega-listen otherhost 13 2026-11-26T17:00:00Z")
	mine := mk("http://127.0.0.1:9/prod", "production hook")

	code, out, _ := clitest.Run(t, env, "endpoints", "prune", "--dry-run")
	if code != 0 || !strings.Contains(out, "Would delete "+crashedHere) || !strings.Contains(out, "Would delete "+crashedElsewhere) || len(emu.Endpoints()) != 4 {
		t.Fatalf("dry run: %d\n%s", code, out)
	}
	code, out, _ = clitest.Run(t, env, "endpoints", "prune")
	if code != 0 {
		t.Fatalf("prune: %d %s", code, out)
	}
	var left []string
	for _, ep := range emu.Endpoints() {
		left = append(left, ep.ID)
	}
	if strings.Join(left, ",") != running+","+mine {
		t.Errorf("left after prune: %v, want the running one and the user's own", left)
	}
}

// TestEventsUseTheRunningListenersEndpoint: without --endpoint, events
// list and show read the running listener's endpoint.
func TestEventsUseTheRunningListenersEndpoint(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := clitest.StartInProc(t, env, "--emulate", "--print")
	defer p.Stop(t)
	code, out, errs := clitest.Run(t, env, "trigger", "video.process_succeeded")
	if code != 0 {
		t.Fatalf("trigger: %d %s %s", code, out, errs)
	}
	si, err := session.Find(env["OMEGA_LISTEN_HOME"])
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs = clitest.Run(t, env, "events", "list")
	if code != 0 || !strings.Contains(out, "video.process_succeeded") || !strings.Contains(out, "200 OK") ||
		!strings.Contains(errs, "Endpoint "+si.EndpointID+" (the running listener's)") {
		t.Errorf("events list: %d\n%s%s", code, out, errs)
	}
}
