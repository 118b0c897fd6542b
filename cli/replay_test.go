package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

// replayApp is a local app that records what it gets and answers status.
type replayApp struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	bodies [][]byte
	hdrs   []http.Header
}

func newReplayApp(t *testing.T, status int) *replayApp {
	t.Helper()
	a := &replayApp{}
	a.status.Store(int32(status))
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.bodies = append(a.bodies, b)
		a.hdrs = append(a.hdrs, r.Header.Clone())
		a.mu.Unlock()
		w.WriteHeader(int(a.status.Load()))
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *replayApp) got() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([][]byte(nil), a.bodies...)
}

// seedCaptures records deliveries to target that the app answered with
// status, as a listener would have, in the store in dir.
func seedCaptures(t *testing.T, dir, target string, statuses ...int) []*capture.Capture {
	t.Helper()
	st, err := capture.Open(dir, capture.Options{Retain: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []*capture.Capture
	for _, status := range statuses {
		body, _ := omega.SampleEvent(omega.TypeProcessFailed, "ep_1", "")
		env, _ := omega.ParseEnvelopeHead(body)
		c := &capture.Capture{
			Meta: capture.Meta{
				Method: "POST", Path: inspector.RedactedPath,
				EventID: env.ID, EventType: env.Type, EndpointID: env.EndpointID,
				Target: target, Status: status, SentStatus: status,
			},
			Headers: http.Header{"Content-Type": {"application/json"}},
			Body:    body,
		}
		if status == 0 {
			c.Error, c.SentStatus = "could not reach "+target+": connection refused", 502
		}
		if err := st.Record(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func countCaptures(t *testing.T, dir string) int {
	t.Helper()
	st, err := capture.Open(dir, capture.Options{Retain: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.Count(context.Background(), capture.Query{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReplayCommandExitCodes(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"OMEGA_LISTEN_HOME": dir}
	ok, broken := newReplayApp(t, 200), newReplayApp(t, 500)
	caps := seedCaptures(t, dir, ok.URL+"/webhook", 500, 0)
	caps = append(caps, seedCaptures(t, dir, broken.URL+"/webhook", 200)...)

	code, out, errs := run(t, env, "replay", caps[0].ID, caps[1].ID)
	if code != 0 {
		t.Fatalf("replay to a working app: exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "--> video.process_failed ["+caps[0].EventID+"] (replay of "+caps[0].ID+")") ||
		!strings.Contains(lines[1], "<-- [200] POST "+ok.URL+"/webhook ["+caps[0].EventID+"]") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(errs, "Replayed 2: 2 ok, 0 failed") {
		t.Errorf("stderr %q", errs)
	}
	if len(ok.got()) != 2 || !bytes.Equal(ok.got()[0], caps[0].Body) {
		t.Errorf("app got %d bodies", len(ok.got()))
	}

	code, out, errs = run(t, env, "replay", caps[2].ID[:12])
	if code != 1 || !strings.Contains(out, "<-- [500] POST") || !strings.Contains(errs, "Replayed 1: 0 ok, 1 failed") {
		t.Errorf("replay to a broken app: exit %d\n%s%s", code, out, errs)
	}

	code, _, errs = run(t, env, "replay", "--type", "video.nope")
	if code != 1 || !strings.Contains(errs, "nothing to replay: there are no captures of type video.nope") {
		t.Errorf("nothing selected: exit %d %q", code, errs)
	}
	code, _, errs = run(t, env, "replay", "c_0000000000000000000000000")
	if code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("unknown ID: exit %d %q", code, errs)
	}

	for _, args := range [][]string{
		{},
		{caps[0].ID, "--all"},
		{"--all", "--last", "2"},
		{"--last", "-1"},
		{"--all", "--format", "xml"},
		{"--all", "--to", "ftp://x/y"},
		{"--all", "--concurrency", "0"},
		{"--all", "--delay", "-1s"},
		{"--all", "--set", "novalue"},
		{"--all", "-H", "bad header"},
		{"--all", "--endpoint", "6323940afc8e1c02d9f3b155"},
		{"--from-omega", "630fac88bd5bb64cf8b24b99"},
		{"--from-omega", "630fac88bd5bb64cf8b24b99", "--endpoint", "e", "--all"},
		{caps[0].ID, caps[1].ID, "--edit"},
		{"--last", "2", "--edit"},
		{"--all", "--bogus"},
	} {
		code, _, errs := run(t, env, append([]string{"replay"}, args...)...)
		if code != 2 || !strings.Contains(errs, "replay --help") {
			t.Errorf("replay %q: exit %d, want 2\n%s", args, code, errs)
		}
	}
	if len(ok.got()) != 2 || len(broken.got()) != 1 {
		t.Errorf("usage errors sent something: %d, %d", len(ok.got()), len(broken.got()))
	}
}

func TestReplayDryRunSendsNothing(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"OMEGA_LISTEN_HOME": dir}
	app := newReplayApp(t, 200)
	caps := seedCaptures(t, dir, app.URL+"/webhook", 500, 200)

	code, out, errs := run(t, env, "replay", "--all", "--dry-run", "-H", "X-Extra: 1", "--set", "data.title=dry")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errs)
	}
	for _, want := range []string{
		"POST " + app.URL + "/webhook", "Omega-Listen-Replay: " + caps[0].ID, "Omega-Listen-Replay: " + caps[1].ID,
		"X-Extra: 1", "Content-Type: application/json", "edited",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "nothing was sent") {
		t.Errorf("stderr %q", errs)
	}

	code, out, _ = run(t, env, "replay", "--last", "1", "--dry-run", "--format", "json", "--to", "localhost:9/x")
	var line struct {
		Type      string              `json:"type"`
		CaptureID string              `json:"capture_id"`
		Target    string              `json:"target"`
		Headers   map[string][]string `json:"headers"`
		BodyBytes int                 `json:"body_bytes"`
	}
	if err := json.Unmarshal([]byte(out), &line); err != nil || code != 0 {
		t.Fatalf("json dry run: exit %d %v\n%s", code, err, out)
	}
	if line.Type != "dry_run" || line.CaptureID != caps[1].ID || line.Target != "http://localhost:9/x" || line.BodyBytes != len(caps[1].Body) || line.Headers["Omega-Listen-Replay"][0] != caps[1].ID {
		t.Errorf("json dry run: %+v", line)
	}
	if len(app.got()) != 0 || countCaptures(t, dir) != 2 {
		t.Errorf("dry run sent %d, store has %d", len(app.got()), countCaptures(t, dir))
	}
}

// TestReplayFailedAfterFix is the new user's story: the handler fails,
// they fix it, they replay what failed, once.
func TestReplayFailedAfterFix(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"OMEGA_LISTEN_HOME": dir}
	app := newReplayApp(t, 500)
	caps := seedCaptures(t, dir, app.URL+"/webhook", 500, 200, 500, 0)

	// Still broken: replays fail too, and exit 1.
	code, out, errs := run(t, env, "replay", "--failed")
	if code != 1 || !strings.Contains(errs, "Replayed 3: 0 ok, 3 failed") {
		t.Fatalf("while broken: exit %d\n%s%s", code, out, errs)
	}

	app.status.Store(200)
	code, out, errs = run(t, env, "replay", "--failed", "--format", "json")
	if code != 0 {
		t.Fatalf("after the fix: exit %d\n%s%s", code, out, errs)
	}
	var replayed []string
	var summary map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not NDJSON: %q", l)
		}
		switch m["type"] {
		case "delivery":
			if m["outcome"] != "ok" || m["status"] != float64(200) {
				t.Errorf("delivery line %v", m)
			}
			replayed = append(replayed, m["replay_of"].(string))
		case "summary":
			summary = m
		default:
			t.Errorf("unexpected line %v", m)
		}
	}
	want := []string{caps[0].ID, caps[2].ID, caps[3].ID}
	if fmt.Sprint(replayed) != fmt.Sprint(want) {
		t.Errorf("replayed %v, want the three originals %v", replayed, want)
	}
	if summary["replayed"] != float64(3) || summary["ok"] != float64(3) || summary["failed"] != float64(0) {
		t.Errorf("summary %v", summary)
	}
	if n := len(app.got()); n != 6 {
		t.Errorf("app got %d requests in all, want 3 + 3", n)
	}

	// Nothing is left to retry: that is success, so a script can rerun it.
	code, out, errs = run(t, env, "replay", "--failed")
	if code != 0 || !strings.Contains(errs, "Nothing to replay: there are no failed captures") || out != "" || len(app.got()) != 6 {
		t.Errorf("third run: exit %d %q %q, app got %d", code, out, errs, len(app.got()))
	}
	code, out, _ = run(t, env, "replay", "--failed", "--format", "json")
	if code != 0 || strings.TrimSpace(out) != `{"failed":0,"ok":0,"replayed":0,"type":"summary"}` || len(app.got()) != 6 {
		t.Errorf("third run, json: exit %d %q, app got %d", code, out, len(app.got()))
	}
}

func TestReplaySetToAndConcurrency(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"OMEGA_LISTEN_HOME": dir}
	orig, other := newReplayApp(t, 200), newReplayApp(t, 202)
	caps := seedCaptures(t, dir, orig.URL, 200, 200, 200, 200, 200, 200)

	code, out, errs := run(t, env, "replay", "--all", "--to", other.URL+"/v2", "--set", "data.title=Replayed", "--concurrency", "4", "-H", "X-Test: yes")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errs)
	}
	if len(orig.got()) != 0 || len(other.got()) != len(caps) {
		t.Fatalf("orig got %d, other %d", len(orig.got()), len(other.got()))
	}
	for i, b := range other.got() {
		var ev struct{ Data struct{ Title string } }
		if json.Unmarshal(b, &ev) != nil || ev.Data.Title != "Replayed" || other.hdrs[i].Get("X-Test") != "yes" {
			t.Errorf("other got %s (X-Test %q)", b, other.hdrs[i].Get("X-Test"))
		}
	}
	// Lines come in the order of the captures, whatever order they finished in.
	var idx int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(l, "<--") {
			if idx >= len(caps) || !strings.Contains(l, "["+caps[idx].EventID+"]") || !strings.Contains(l, "[202] POST "+other.URL+"/v2") {
				t.Errorf("line %d: %q", idx, l)
			}
			idx++
		}
	}
	if idx != len(caps) {
		t.Errorf("%d result lines\n%s", idx, out)
	}

	code, _, errs = run(t, env, "replay", caps[0].ID, "--set", "data.nope.x=1")
	if code != 1 || !strings.Contains(errs, `no member "nope"`) || !strings.Contains(errs, "nothing was replayed") {
		t.Errorf("bad --set: exit %d %q", code, errs)
	}
}

func TestReplayEdit(t *testing.T) {
	dir := t.TempDir()
	app := newReplayApp(t, 200)
	caps := seedCaptures(t, dir, app.URL, 500)
	editor := filepath.Join(t.TempDir(), "ed.sh")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\nsed -i \"$SEDCMD\" \"$1\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OMEGA_LISTEN_HOME": dir, "EDITOR": editor}

	t.Setenv("SEDCMD", "s/process_failed/process_succeeded/")
	code, out, errs := run(t, env, "replay", caps[0].ID, "--edit")
	if code != 0 || !strings.Contains(out, "--> video.process_succeeded") {
		t.Fatalf("edit: exit %d\n%s%s", code, out, errs)
	}
	if got := app.got(); len(got) != 1 || !bytes.Contains(got[0], []byte(`"type":"video.process_succeeded"`)) {
		t.Errorf("app got %s", got)
	}

	t.Setenv("SEDCMD", "s/\"type\"/type/")
	code, _, errs = run(t, env, "replay", caps[0].ID, "--edit")
	if code != 1 || !strings.Contains(errs, "not valid JSON") || !strings.Contains(errs, "line 1, column") {
		t.Errorf("invalid edit: exit %d %q", code, errs)
	}
	t.Setenv("SEDCMD", "s/.*//")
	code, _, errs = run(t, env, "replay", caps[0].ID, "--edit")
	if code != 1 || !strings.Contains(errs, "empty") {
		t.Errorf("empty edit: exit %d %q", code, errs)
	}
	t.Setenv("SEDCMD", "s/nothing-matches-this//")
	code, _, errs = run(t, env, "replay", caps[0].ID, "--edit")
	if code != 0 || !strings.Contains(errs, "not changed") {
		t.Errorf("unchanged edit: exit %d %q", code, errs)
	}
	if n := len(app.got()); n != 2 {
		t.Errorf("app got %d, want 2 (the aborted edits send nothing)", n)
	}
}

func TestReplayFromOmega(t *testing.T) {
	emu, env := emuEnv(t, emulator.Options{})
	app := newReplayApp(t, 200)
	c, err := omega.NewClient(omega.Options{BaseURL: emu.BaseURL, APIKey: emu.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.CreateEndpoint(context.Background(), omega.EndpointInput{URL: "http://127.0.0.1:9/gone", Events: []string{omega.TypeProcessSucceeded}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := emu.DeliverTo(context.Background(), ep.ID, omega.TypeProcessSucceeded)
	if err != nil {
		t.Fatal(err)
	}

	code, out, errs := run(t, env, "replay", "--from-omega", d.EventID, "--endpoint", ep.ID, "--to", app.URL)
	if code != 0 || !strings.Contains(out, "--> video.process_succeeded ["+d.EventID+"]") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "["+d.EventID+"] (from Omega)") || strings.Contains(out, "backfill") {
		t.Errorf("a --from-omega capture is labelled from Omega, not backfill:\n%s", out)
	}
	got := app.got()
	if len(got) != 1 || !bytes.Contains(got[0], []byte(`"id":"`+d.EventID+`"`)) || app.hdrs[0].Get(inspector.HeaderReplay) != "" {
		t.Errorf("app got %s", got)
	}
	if n := countCaptures(t, env["OMEGA_LISTEN_HOME"]); n != 1 {
		t.Errorf("%d captures stored", n)
	}

	code, _, errs = run(t, env, "replay", "--from-omega", d.EventID, "--endpoint", ep.ID)
	if code != 2 || !strings.Contains(errs, "pass --to") {
		t.Errorf("no target: exit %d %q", code, errs)
	}
	code, _, errs = run(t, env, "replay", "--from-omega", "630fac88bd5bb64cf8b24b99", "--endpoint", ep.ID, "--to", app.URL)
	if code != 1 || !strings.Contains(errs, "630fac88bd5bb64cf8b24b99") {
		t.Errorf("unknown event: exit %d %q", code, errs)
	}
	delete(env, "OMEGA_API_KEY")
	code, _, errs = run(t, env, "replay", "--from-omega", d.EventID, "--endpoint", ep.ID, "--to", app.URL)
	if code != 1 || !strings.Contains(errs, "OMEGA_API_KEY") {
		t.Errorf("no key: exit %d %q", code, errs)
	}
}
