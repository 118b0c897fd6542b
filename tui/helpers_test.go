package tui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
)

// updating reports -update: rewrite the golden files in testdata. The flag
// is defined by x/exp/golden (which teatest imports), so both share it.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const (
	thisSession  = "s_this"
	earlierSess  = "s_earlier"
	testEndpoint = "6323940a1b2c3d4e5f607182"
)

var t0 = time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)

var testInfo = Info{
	WebhookURL: "https://demo.ngrok.app/omega/tok_0123456789abcdefghijkl",
	PublicURL:  "https://demo.ngrok.app",
	EndpointID: testEndpoint,
	Forward:    "http://localhost:8888/webhook",
	Tunnel:     "ngrok",
	Events:     []string{omega.TypeProcessSucceeded, omega.TypeProcessFailed},
	SessionID:  thisSession,
}

// fixture returns a finished, delivered capture n seconds after t0.
func fixture(n int, typ string, status int) *capture.Capture {
	body := fmt.Sprintf(`{"id":"evt%021d","type":%q,"created":"2026-11-26T17:00:00Z","data":{"video_id":"v_%d","title":"Demo \"%d\"","duration":12.5,"ready":true,"tags":null}}`, n, typ, n, n)
	return &capture.Capture{
		Meta: capture.Meta{
			ID:          fmt.Sprintf("c_01jd3k8m%04dx%013d", n, n),
			Seq:         int64(1000 + n),
			SessionID:   thisSession,
			State:       capture.StateDone,
			ReceivedAt:  t0.Add(time.Duration(n) * time.Second),
			CompletedAt: t0.Add(time.Duration(n)*time.Second + 3100*time.Microsecond),
			RemoteAddr:  "203.0.113.7:51234",
			Method:      "POST",
			Path:        "/omega/tok_0123456789abcdefghijkl",
			EventID:     fmt.Sprintf("evt%021d", n),
			EventType:   typ,
			EndpointID:  testEndpoint,
			Target:      "http://localhost:8888/webhook",
			Status:      status,
			Duration:    3100 * time.Microsecond,
			SentStatus:  status,
		},
		Headers: http.Header{
			"Content-Type":    {"application/json"},
			"User-Agent":      {"Omega-Webhooks/1.0"},
			"Omega-Signature": {"t=1764176400,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
		},
		Body:        []byte(body),
		RespHeaders: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		RespBody:    []byte("ok\n"),
	}
}

// failed makes c a delivery whose app could not be reached.
func failed(c *capture.Capture) *capture.Capture {
	c.Status, c.SentStatus = 0, 502
	c.RespHeaders, c.RespBody = nil, nil
	c.Error = "dial tcp 127.0.0.1:8888: connect: connection refused"
	c.Duration = 1200 * time.Microsecond
	return c
}

// fixtures is a mixed history: two earlier-session rows, then this
// session's ok, app error, failed, rejected, replay and backfill rows.
func fixtures() []*capture.Capture {
	e1 := fixture(1, omega.TypeProcessSucceeded, 200)
	e1.SessionID = earlierSess
	e2 := fixture(2, omega.TypeDeleted, 500)
	e2.SessionID = earlierSess
	ok := fixture(10, omega.TypeProcessSucceeded, 200)
	appErr := fixture(11, omega.TypeProcessFailed, 500)
	appErr.RespBody = []byte(`{"error":"boom"}`)
	fail := failed(fixture(12, omega.TypeProcessSucceeded, 0))
	rej := fixture(13, "", 0)
	rej.Flags = capture.FlagRejected
	rej.Path = "/omega/wrong-token"
	rej.EventID, rej.Status, rej.SentStatus = "", 0, 404
	rej.RejectReason = "unknown path"
	rej.Target, rej.RespBody, rej.RespHeaders, rej.Duration = "", nil, nil, 0
	rep := fixture(14, omega.TypeProcessSucceeded, 200)
	rep.ReplayOf = ok.ID
	bf := fixture(15, omega.TypeProcessFailed, 200)
	bf.Flags = capture.FlagBackfill
	return []*capture.Capture{e1, e2, ok, appErr, fail, rej, rep, bf}
}

func summaries(cs []*capture.Capture) []capture.Summary {
	out := make([]capture.Summary, len(cs))
	for i, c := range cs {
		out[i] = c.Summary()
	}
	return out
}

// fakeStore is Actions backed by a slice, recording what was asked.
type fakeStore struct {
	mu       sync.Mutex
	caps     []*capture.Capture
	queries  []capture.Query
	loads    []string
	replays  []string
	bodies   [][]byte
	quits    int
	listErr  error
	replayed *capture.Capture
}

func (f *fakeStore) add(cs ...*capture.Capture) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		f.caps = append(f.caps, c)
	}
	slices.SortFunc(f.caps, func(a, b *capture.Capture) int { return int(a.Seq - b.Seq) })
}

func (f *fakeStore) actions() Actions {
	return Actions{
		List:   f.list,
		Load:   f.load,
		Replay: f.replay,
		Curl:   func(c *capture.Capture) string { return "curl -X POST " + c.Target },
		Quit: func() {
			f.mu.Lock()
			f.quits++
			f.mu.Unlock()
		},
	}
}

func (f *fakeStore) list(_ context.Context, q capture.Query) ([]capture.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []capture.Summary
	for _, c := range f.caps {
		switch {
		case q.AfterSeq != 0 && c.Seq <= q.AfterSeq,
			q.BeforeSeq != 0 && c.Seq >= q.BeforeSeq,
			q.SessionID != "" && c.SessionID != q.SessionID,
			q.ReplayOf != "" && c.ReplayOf != q.ReplayOf,
			q.Text != "" && !strings.Contains(string(c.Body), q.Text),
			!q.MatchesSummary(new(c.Summary())),
			len(q.IDs) > 0 && !slices.Contains(q.IDs, c.ID):
			continue
		}
		out = append(out, c.Summary())
	}
	if q.Newest {
		slices.Reverse(out)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (f *fakeStore) load(_ context.Context, id string) (*capture.Capture, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads = append(f.loads, id)
	for _, c := range f.caps {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", capture.ErrNotFound, id)
}

func (f *fakeStore) replay(_ context.Context, id string, body []byte) (*capture.Capture, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replays = append(f.replays, id)
	f.bodies = append(f.bodies, body)
	if f.replayed != nil {
		return f.replayed, nil
	}
	return nil, errors.New("app down")
}

// newTestModel is a model at a fixed size, colour off, times in UTC, with
// status lines that never expire.
func newTestModel(t testing.TB, acts Actions, w, h int) *Model {
	t.Helper()
	m := New(Options{Info: testInfo, Actions: acts, NoColor: true, Editor: func(path string) (*exec.Cmd, error) { return exec.Command("true", path), nil }})
	m.loc = time.UTC
	m.after = func(time.Duration, tea.Msg) tea.Cmd { return nil }
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// started is newTestModel after Init has run against a store holding cs.
func started(t testing.TB, cs []*capture.Capture, w, h int) (*Model, *fakeStore) {
	t.Helper()
	fs := &fakeStore{}
	fs.add(cs...)
	m := newTestModel(t, fs.actions(), w, h)
	run(m, m.Init())
	return m, fs
}

// run executes cmd as the program would, feeding its messages back into
// Update, and returns every message that Update did not produce a command
// for (clipboard, exec, quit...). Commands run one after another.
func run(m *Model, cmd tea.Cmd) []tea.Msg {
	var out []tea.Msg
	var loop func(tea.Cmd)
	loop = func(cmd tea.Cmd) {
		if cmd == nil {
			return
		}
		msg := cmd()
		switch msg := msg.(type) {
		case nil:
			return
		case tea.BatchMsg:
			for _, c := range msg {
				loop(c)
			}
			return
		}
		out = append(out, msg)
		if isInternal(msg) {
			_, next := m.Update(msg)
			loop(next)
		}
	}
	loop(cmd)
	return out
}

// isInternal: messages the model sends itself and must see.
func isInternal(msg tea.Msg) bool {
	switch msg.(type) {
	case historyMsg, catchupMsg, filterMsg, detailMsg, replaysMsg, replayDoneMsg,
		editReadyMsg, editDoneMsg, clipMsg, statusMsg, deliveriesMsg, triggerDoneMsg, clipDoneMsg:
		return true
	}
	return false
}

func press(m *Model, keys ...string) []tea.Msg {
	var out []tea.Msg
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		out = append(out, run(m, cmd)...)
	}
	return out
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	}
	r := []rune(k)
	if len(r) != 1 {
		panic("keyMsg: " + k)
	}
	code := r[0]
	if code >= 'A' && code <= 'Z' {
		return tea.KeyPressMsg{Code: code + ('a' - 'A'), Text: k, Mod: tea.ModShift}
	}
	return tea.KeyPressMsg{Code: code, Text: k}
}

func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got ---\n%s\n--- want ---\n%s", t.Name(), path, got, want)
	}
}
