package captures_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
)

// fillStore records caps (oldest first) in a new store in dir and closes
// it, as a listener that has exited would leave it.
func fillStore(t *testing.T, dir string, caps ...*capture.Capture) {
	t.Helper()
	st, err := capture.Open(dir, capture.Options{Retain: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range caps {
		if c.State == capture.StatePending {
			err = st.Begin(context.Background(), c)
		} else {
			err = st.Record(context.Background(), c)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// sampleCaptures are one of each kind, received a minute apart ending now.
func sampleCaptures() []*capture.Capture {
	now := time.Now()
	at := func(minsAgo int) time.Time { return now.Add(-time.Duration(minsAgo) * time.Minute) }
	ok := &capture.Capture{
		Meta: capture.Meta{ID: "c_0aaaaaaaaaaaaaaaaaaaaaaaa1", ReceivedAt: at(120), Method: "POST", Path: "/omega/{token}",
			EventID: "630fac88bd5bb64cf8b24b99", EventType: "video.process_succeeded", Target: "http://127.0.0.1:8888/webhook",
			Status: 200, SentStatus: 200, Duration: 3 * time.Millisecond},
		Headers:     http.Header{"Content-Type": {"application/json"}, "X-Evil": {"\x1b[2Jgotcha"}},
		Body:        []byte(`{"id":"630fac88bd5bb64cf8b24b99","type":"video.process_succeeded","data":{"name":"it's"}}`),
		RespHeaders: http.Header{"Content-Type": {"text/plain"}},
		RespBody:    []byte("thanks\n"),
	}
	failed := &capture.Capture{
		Meta: capture.Meta{ID: "c_0aaaaaaaaaaaaaaaaaaaaaaaa2", ReceivedAt: at(3), Method: "POST", Path: "/omega/{token}",
			EventID: "e2", EventType: "video.process_failed", Target: "http://127.0.0.1:8888/webhook",
			Error: "dial tcp 127.0.0.1:8888: connection refused", SentStatus: 502, Duration: time.Millisecond},
		Headers: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":"e2","type":"video.process_failed"}`),
	}
	rejected := &capture.Capture{
		Meta: capture.Meta{ID: "c_0aaaaaaaaaaaaaaaaaaaaaaaa3", ReceivedAt: at(2), Method: "GET", Path: "/favicon.ico",
			Flags: capture.FlagRejected, RejectReason: "wrong path", SentStatus: 404},
	}
	replay := &capture.Capture{
		Meta: capture.Meta{ID: "c_0aaaaaaaaaaaaaaaaaaaaaaaa4", ReceivedAt: at(1), Method: "POST", Path: "/omega/{token}",
			Flags:  capture.FlagNotJSON | capture.FlagBackfill,
			Target: "http://127.0.0.1:8888/webhook", Status: 500, SentStatus: 500, Duration: 2 * time.Millisecond,
			ReplayOf: "c_0aaaaaaaaaaaaaaaaaaaaaaaa1"},
		Headers: http.Header{"Content-Type": {"application/json"}}, Body: []byte("\x00binary\xff"),
	}
	return []*capture.Capture{ok, failed, rejected, replay}
}

func TestCapturesListEmpty(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := clitest.Run(t, nil, "captures", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "No captures yet in "+dir) || !strings.Contains(out, "--forward") {
		t.Errorf("empty list: %d %q %q", code, out, errs)
	}
	code, out, _ = clitest.Run(t, nil, "captures", "list", "--data-dir", dir, "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("empty list --json: %d %q", code, out)
	}
	code, out, _ = clitest.Run(t, nil, "captures", "list", "--data-dir", dir, "--failed")
	if code != 0 || !strings.Contains(out, "No captures match") {
		t.Errorf("empty filtered list: %d %q", code, out)
	}
}

func TestCapturesList(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, sampleCaptures()...)

	code, out, errs := clitest.Run(t, nil, "captures", "list", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("list: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("list:\n%s", out)
	}
	for i, want := range [][]string{
		{"c_0aaaaaaaaaaaaaaaaaaaaaaaa1", "video.process_succeeded", "630fac88bd5bb64cf8b24b99", "200", "3.0ms", "89 bytes"},
		{"c_0aaaaaaaaaaaaaaaaaaaaaaaa2", "video.process_failed", "failed", "error: dial tcp"},
		{"c_0aaaaaaaaaaaaaaaaaaaaaaaa3", "404", "rejected: wrong path"},
		{"c_0aaaaaaaaaaaaaaaaaaaaaaaa4", "(not JSON)", "500", "replay of c_0aaaaaaaaaaaaaaaaaaaaaaaa1", "backfill"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %d lacks %q: %s", i+1, w, lines[i+1])
			}
		}
	}

	var got []map[string]any
	code, out, _ = clitest.Run(t, nil, "captures", "list", "--data-dir", dir, "--json")
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || len(got) != 4 {
		t.Fatalf("list --json: %d %v\n%s", code, err, out)
	}
	if got[0]["id"] != "c_0aaaaaaaaaaaaaaaaaaaaaaaa1" || got[3]["outcome"] != "app_error" || got[1]["outcome"] != "failed" {
		t.Errorf("list --json: %v", got)
	}

	for _, tc := range []struct {
		name string
		args []string
		ids  []string
	}{
		{"limit", []string{"--limit", "2"}, []string{"3", "4"}},
		{"failed", []string{"--failed"}, []string{"2", "4"}},
		{"two types", []string{"--type", "video.process_failed,video.process_succeeded"}, []string{"1", "2"}},
		{"since minutes ago", []string{"--since", "10m"}, []string{"2", "3", "4"}},
		{"since a time", []string{"--since", time.Now().Add(-10 * time.Minute).Format(time.RFC3339)}, []string{"2", "3", "4"}},
		{"since a day ago", []string{"--since", "1d"}, []string{"1", "2", "3", "4"}},
		{"grep", []string{"--grep", "it's"}, []string{"1"}},
		{"unknown session", []string{"--session", "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"captures", "list", "--data-dir", dir, "--json"}, tc.args...)
			code, out, errs := clitest.Run(t, nil, args...)
			var got []capture.Summary
			if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
				t.Errorf("%v: %d %v %s", tc.args, code, err, errs)
				return
			}
			var ids []string
			for _, m := range got {
				ids = append(ids, m.ID[len(m.ID)-1:])
			}
			if strings.Join(ids, ",") != strings.Join(tc.ids, ",") {
				t.Errorf("%v: got %v, want %v", tc.args, ids, tc.ids)
			}
		})
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown type", []string{"--type", "video.nope"}},
		{"negative limit", []string{"--limit", "-1"}},
		{"negative since", []string{"--since", "-5m"}},
		{"since not a time", []string{"--since", "soon"}},
		{"since in the future", []string{"--since", time.Now().Add(time.Hour).Format(time.RFC3339)}},
		{"extra argument", []string{"extra-arg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := clitest.Run(t, nil, append([]string{"captures", "list", "--data-dir", dir}, tc.args...)...)
			if code != 2 {
				t.Errorf("%v: exit %d, want 2 (%s)", tc.args, code, errs)
			}
		})
	}
}

// squash collapses runs of spaces, so tests need not know column widths.
func squash(s string) string {
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}

func TestCapturesShow(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, sampleCaptures()...)

	code, out, errs := clitest.Run(t, nil, "captures", "show", "--data-dir", dir, "c_0aaaaaaaaaaaaaaaaaaaaaaaa1")
	if code != 0 {
		t.Fatalf("show: %d %s", code, errs)
	}
	out = squash(out)
	for _, want := range []string{
		"Capture", "c_0aaaaaaaaaaaaaaaaaaaaaaaa1", "video.process_succeeded [630fac88bd5bb64cf8b24b99]",
		"Answer 200 OK in 3.0ms", "Request headers:", "Content-Type: application/json",
		`X-Evil: \x1b[2Jgotcha`, "Request body (89 bytes):", `"name": "it's"`, "Response body (7 bytes):", " thanks",
		"Replays (1):", "c_0aaaaaaaaaaaaaaaaaaaaaaaa4",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("show printed a raw escape:\n%q", out)
	}

	code, out, _ = clitest.Run(t, nil, "captures", "show", "--data-dir", dir, "c_0aaaaaaaaaaaaaaaaaaaaaaaa2")
	if out = squash(out); code != 0 || !strings.Contains(out, "Error dial tcp 127.0.0.1:8888: connection refused") || !strings.Contains(out, "Sender got 502") {
		t.Errorf("show failed capture: %d\n%s", code, out)
	}
	code, out, _ = clitest.Run(t, nil, "captures", "show", "--data-dir", dir, "c_0aaaaaaaaaaaaaaaaaaaaaaaa4")
	if code != 0 || !strings.Contains(out, `\x00binary\xff`) || !strings.Contains(out, "not JSON, backfill") {
		t.Errorf("show binary capture: %d\n%s", code, out)
	}

	var got struct {
		ID      string            `json:"id"`
		Body    []byte            `json:"body"`
		Outcome string            `json:"outcome"`
		Replays []capture.Summary `json:"replays"`
	}
	code, out, _ = clitest.Run(t, nil, "captures", "show", "--data-dir", dir, "--json", "c_0aaaaaaaaaaaaaaaaaaaaaaaa1")
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("show --json: %d %v\n%s", code, err, out)
	}
	if got.ID != "c_0aaaaaaaaaaaaaaaaaaaaaaaa1" || got.Outcome != "ok" || len(got.Replays) != 1 || !bytes.HasPrefix(got.Body, []byte(`{"id"`)) {
		t.Errorf("show --json: %+v", got)
	}

	code, out, _ = clitest.Run(t, nil, "captures", "show", "--data-dir", dir, "--body", "c_0aaaaaaaaaaaaaaaaaaaaaaaa4")
	if code != 0 || out != "\x00binary\xff" {
		t.Errorf("show --body: %d %q", code, out)
	}

	code, _, errs = clitest.Run(t, nil, "captures", "show", "--data-dir", dir, "c_zzzzzz")
	if code != 1 || !strings.Contains(errs, "capture not found") || !strings.Contains(errs, "omega-listen captures list") {
		t.Errorf("show unknown: %d %q", code, errs)
	}
	code, _, errs = clitest.Run(t, nil, "captures", "show", "--data-dir", dir, "c_0aaaa")
	if code != 1 || !strings.Contains(errs, "ambiguous") {
		t.Errorf("show ambiguous prefix: %d %q", code, errs)
	}
	if code, _, _ = clitest.Run(t, nil, "captures", "show", "--data-dir", dir); code != 2 {
		t.Errorf("show without an ID: exit %d, want 2", code)
	}
	if code, _, _ = clitest.Run(t, nil, "captures", "show", "--data-dir", dir, "--json", "--body", "c_0aaaaaaaaaaaaaaaaaaaaaaaa1"); code != 2 {
		t.Errorf("show --json --body: exit %d, want 2", code)
	}
}

func TestCapturesExport(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, sampleCaptures()...)

	code, out, errs := clitest.Run(t, nil, "captures", "export", "--data-dir", dir, "--format", "jsonl")
	if code != 0 {
		t.Fatalf("export jsonl: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("jsonl: %d lines\n%s", len(lines), out)
	}
	var first struct {
		ID      string          `json:"id"`
		Headers http.Header     `json:"headers"`
		Body    json.RawMessage `json:"body"` // JSON as JSON: jq '.body.type' works
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.ID != "c_0aaaaaaaaaaaaaaaaaaaaaaaa1" || first.Headers.Get("X-Evil") != "\x1b[2Jgotcha" ||
		!json.Valid(first.Body) || first.Body[0] != '{' {
		t.Errorf("jsonl first line: %v %+v", err, first)
	}

	outDir := t.TempDir()
	har := filepath.Join(outDir, "d.har")
	code, _, errs = clitest.Run(t, nil, "captures", "export", "--data-dir", dir, "--format", "har", "--out", har, "--failed")
	if code != 0 || !strings.Contains(errs, "Wrote 2 capture(s)") {
		t.Fatalf("export har: %d %s", code, errs)
	}
	fi, err := os.Stat(har)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("har file: %v %v", fi, err)
	}
	data, _ := os.ReadFile(har)
	var doc struct {
		Log struct {
			Version string
			Creator struct{ Name string }
			Entries []struct {
				Response struct{ Status int }
			}
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Log.Version != "1.2" || doc.Log.Creator.Name != "omega-listen" || len(doc.Log.Entries) != 2 ||
		doc.Log.Entries[0].Response.Status != 0 || doc.Log.Entries[1].Response.Status != 500 {
		t.Errorf("har: %v %+v", err, doc)
	}

	// An existing file is kept unless --force.
	if err := os.WriteFile(har, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = clitest.Run(t, nil, "captures", "export", "--data-dir", dir, "--format", "har", "--out", har)
	if b, _ := os.ReadFile(har); code != 1 || string(b) != "mine" || !strings.Contains(errs, "--force") {
		t.Errorf("export over an existing file: %d %q, file %q", code, errs, b)
	}
	code, _, errs = clitest.Run(t, nil, "captures", "export", "--data-dir", dir, "--format", "curl", "--out", har, "--force", "c_0aaaaaaaaaaaaaaaaaaaaaaaa1", "c_0aaaaaaaaaaaaaaaaaaaaaaaa3")
	fi, _ = os.Stat(har)
	b, _ := os.ReadFile(har)
	if code != 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export --force: %d %s, mode %v", code, errs, fi.Mode())
	}
	cmds := strings.Split(string(b), "\n\n")
	if len(cmds) != 2 ||
		!strings.HasPrefix(cmds[0], "# c_0aaaaaaaaaaaaaaaaaaaaaaaa1 video.process_succeeded [630fac88bd5bb64cf8b24b99] ") ||
		!strings.Contains(cmds[0], "--url http://127.0.0.1:8888/webhook") ||
		!strings.Contains(cmds[0], `-H "$(printf 'X-Evil: \033[2Jgotcha')"`) ||
		!strings.Contains(cmds[1], "# never forwarded: set TARGET") {
		t.Errorf("curl export:\n%s", b)
	}
	if bytes.Contains(b, []byte("\x1b")) {
		t.Errorf("curl export holds a raw escape")
	}
	code, out, _ = clitest.Run(t, nil, "captures", "export", "--data-dir", dir, "--format", "curl", "--to", "http://localhost:3000/x", "c_0aaaaaaaaaaaaaaaaaaaaaaaa3")
	if code != 0 || !strings.Contains(out, "--url http://localhost:3000/x") || strings.Contains(out, "TARGET") {
		t.Errorf("curl --to: %d\n%s", code, out)
	}

	code, out, errs = clitest.Run(t, nil, "captures", "export", "--data-dir", dir, "--format", "har", "--session", "none")
	if code != 0 || !strings.Contains(out, `"entries": []`) || !strings.Contains(errs, "No captures match") {
		t.Errorf("empty export: %d %q %q", code, out, errs)
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown format", []string{"--format", "xml"}},
		{"a filter with IDs", []string{"--format", "har", "--failed", "c_0aaaaaaaaaaaaaaaaaaaaaaaa1"}},
		{"HAR with a target", []string{"--format", "har", "--to", "http://x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, errs := clitest.Run(t, nil, append([]string{"captures", "export", "--data-dir", dir}, tc.args...)...); code != 2 {
				t.Errorf("%v: exit %d, want 2 (%s)", tc.args, code, errs)
			}
		})
	}
	if code, _, errs := clitest.Run(t, nil, "captures", "export", "--data-dir", dir, "c_nothere"); code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("export unknown id: %d %s", code, errs)
	}
}

func listIDs(t *testing.T, dir string) []string {
	t.Helper()
	_, out, _ := clitest.Run(t, nil, "captures", "list", "--data-dir", dir, "--json", "--limit", "0")
	var got []capture.Summary
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got {
		ids = append(ids, m.ID[len(m.ID)-1:])
	}
	return ids
}

func TestCapturesPrune(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		left string
		out  string
	}{
		{"keep 3", []string{"--keep", "3"}, "2,3,4", "Deleted 1 capture(s)."},
		{"keep more than there are", []string{"--keep", "10"}, "1,2,3,4", "Nothing to prune."},
		{"older than 90m", []string{"--older-than", "90m"}, "2,3,4", "Deleted 1 capture(s)."},
		{"older than 1s", []string{"--older-than", "1s"}, "", "Deleted 4 capture(s)."},
		{"older than all", []string{"--older-than", "1000h"}, "1,2,3,4", "Nothing to prune."},
		{"all", []string{"--all"}, "", "Deleted 4 capture(s)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fillStore(t, dir, sampleCaptures()...)
			code, out, errs := clitest.Run(t, nil, append([]string{"captures", "prune", "--data-dir", dir, "--yes"}, tc.args...)...)
			if code != 0 || strings.TrimSpace(out) != tc.out {
				t.Errorf("%v: %d %q %q", tc.args, code, out, errs)
			}
			if got := strings.Join(listIDs(t, dir), ","); got != tc.left {
				t.Errorf("%v: left %q, want %q", tc.args, got, tc.left)
			}
		})
	}

	dir := t.TempDir()
	fillStore(t, dir, sampleCaptures()...)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"all without yes off a terminal", []string{"--all"}},
		{"yes alone", []string{"--yes"}},
		{"all and keep", []string{"--all", "--keep", "1", "--yes"}},
		{"older than 0s", []string{"--older-than", "0s", "--yes"}},
		{"negative keep", []string{"--keep", "-1", "--yes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := clitest.Run(t, nil, append([]string{"captures", "prune", "--data-dir", dir}, tc.args...)...)
			if code != 2 {
				t.Errorf("%v: exit %d, want 2 (%s)", tc.args, code, errs)
			}
		})
	}
	if got := len(listIDs(t, dir)); got != 4 {
		t.Fatalf("usage errors deleted captures: %d left", got)
	}

	// On a terminal it asks.
	ask := func(answer string) (int, string, string) {
		var out, errb bytes.Buffer
		s := cmdutil.Streams{In: strings.NewReader(answer), InIsTerminal: true, Out: &out, Err: &errb}
		code := cli.Main([]string{"captures", "prune", "--data-dir", dir, "--keep", "2"}, s)
		return code, out.String(), errb.String()
	}
	code, _, errs := ask("n\n")
	if code != 1 || !strings.Contains(errs, "Delete 2 capture(s)") || !strings.Contains(errs, "Nothing deleted") || len(listIDs(t, dir)) != 4 {
		t.Errorf("answer no: %d %q", code, errs)
	}
	code, out, _ := ask("y\n")
	if code != 0 || !strings.Contains(out, "Deleted 2 capture(s).") || strings.Join(listIDs(t, dir), ",") != "3,4" {
		t.Errorf("answer yes: %d %q", code, out)
	}
}

func TestCapturesHelpHasExamples(t *testing.T) {
	for _, sub := range []string{"list", "show", "export", "prune"} {
		t.Run(sub, func(t *testing.T) {
			code, out, _ := clitest.Run(t, nil, "captures", sub, "--help")
			if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "omega-listen captures "+sub) {
				t.Errorf("captures %s --help: %d\n%s", sub, code, out)
			}
		})
	}
}
