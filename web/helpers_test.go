package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/feed"
)

// fixture is an inspector over a real store and bus, with a local app
// that replays are sent to.
type fixture struct {
	t      testing.TB
	store  *capture.Store
	bus    *capture.Bus
	stream *feed.Stream
	srv    *Server
	url    string // http://127.0.0.1:PORT
	addr   string // 127.0.0.1:PORT
	app    *httptest.Server

	mu        sync.Mutex
	appBodies [][]byte
	appHdrs   []http.Header
}

type fixtureOpt func(*Options)

func newFixture(t testing.TB, opts ...fixtureOpt) *fixture {
	t.Helper()
	st, err := capture.Open(t.TempDir(), capture.Options{Retain: -1})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, bus: capture.NewBus()}
	f.stream = feed.New(f.bus)
	f.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.appBodies = append(f.appBodies, b)
		f.appHdrs = append(f.appHdrs, r.Header.Clone())
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"app":"took it"}`)
	}))
	o := Options{
		Actions: Actions{
			List: st.List, Get: st.Get, ListFull: st.ListFull, Count: st.Count,
			Replay: f.replay,
			Curl:   func(c *capture.Capture) string { return capture.Curl(c, "") },
		},
		Subscribe: f.stream.Subscribe,
		Info:      Info{Mode: "listen", Forward: f.app.URL, Tunnel: "none", TunnelState: "local", KnownTypes: []string{"video.process_succeeded", "video.process_failed", "video.deleted"}},
		Creator:   "omega-listen/test",
	}
	for _, fo := range opts {
		fo(&o)
	}
	f.srv = New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Start(ln)
	f.addr = ln.Addr().String()
	f.url = "http://" + f.addr
	t.Cleanup(func() {
		f.srv.Close()
		f.bus.Close()
		f.app.Close()
		st.Close()
	})
	return f
}

// replay is what cli wires: record a new capture, send it to the app,
// record the answer, publishing both.
func (f *fixture) replay(ctx context.Context, id string, body []byte, header http.Header) (*capture.Capture, error) {
	orig, err := f.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if body == nil {
		body = orig.Body
	}
	if header == nil {
		header = orig.Headers
	}
	c := &capture.Capture{Meta: capture.Meta{Method: "POST", Path: orig.Path, EventType: orig.EventType, EventID: orig.EventID, ReplayOf: orig.ID, Target: f.app.URL}, Headers: header, Body: body}
	if err := f.store.Begin(ctx, c); err != nil {
		return nil, err
	}
	f.bus.Publish(capture.Received, c)
	req, _ := http.NewRequestWithContext(ctx, "POST", f.app.URL, bytes.NewReader(body))
	req.Header = header.Clone()
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.Error = err.Error()
		c.SentStatus = 502
	} else {
		c.Status, c.SentStatus, c.RespHeaders = resp.StatusCode, resp.StatusCode, resp.Header
		c.RespBody, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	c.Duration = time.Since(start)
	c.State, c.CompletedAt = capture.StateDone, time.Now()
	if err := f.store.Finish(ctx, c); err != nil {
		return nil, err
	}
	f.bus.Publish(capture.Completed, c)
	return c, nil
}

// deliver records a delivery as the listener would, publishing its two
// events; status 0 leaves it pending.
func (f *fixture) deliver(typ string, body string, status int) *capture.Capture {
	f.t.Helper()
	ctx := context.Background()
	c := &capture.Capture{
		Meta: capture.Meta{Method: "POST", Path: "/omega/{token}", EventType: typ, EventID: "ev" + typ,
			Target: f.app.URL},
		Body:    []byte(body),
		Headers: http.Header{"Content-Type": {"application/json"}, "User-Agent": {"Omega/1"}},
	}
	if err := f.store.Begin(ctx, c); err != nil {
		f.t.Fatal(err)
	}
	f.bus.Publish(capture.Received, c)
	if status == 0 {
		return c
	}
	f.finish(c, status)
	return c
}

func (f *fixture) finish(c *capture.Capture, status int) {
	f.t.Helper()
	c.Status, c.SentStatus, c.State, c.CompletedAt, c.Duration = status, status, capture.StateDone, time.Now(), 3*time.Millisecond
	c.RespHeaders = http.Header{"Content-Type": {"application/json"}}
	c.RespBody = []byte(`{"ok":true}`)
	if err := f.store.Finish(context.Background(), c); err != nil {
		f.t.Fatal(err)
	}
	f.bus.Publish(capture.Completed, c)
}

func (f *fixture) appGot() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.appBodies...)
}

// do sends a request to the inspector as a page on its own origin would
// (Origin and token set unless the caller overrides them).
func (f *fixture) do(method, path string, body any, hdr map[string]string) (*http.Response, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.url+path, rd)
	if method != "GET" {
		req.Header.Set("Origin", f.url)
		req.Header.Set(TokenHeader, f.srv.Token())
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (f *fixture) getJSON(path string, v any) {
	f.t.Helper()
	resp, b := f.do("GET", path, nil, nil)
	if resp.StatusCode != 200 {
		f.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		f.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// waitFor polls cond (generously: it must happen).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
