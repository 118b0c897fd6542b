package relay_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/relay"
	"github.com/omega-listen/omega-listen/tunnel"
)

const (
	aliceTok = "alice-token-0123456789abcdefghijklmnop"
	bobTok   = "bob-token-0123456789abcdefghijklmnopqrs"
	// the listener's secret path segment (inspector.ValidToken)
	pathTok = "pathtoken0123456789abcdef"
)

var debugLog = os.Getenv("RELAY_TEST_LOG") != ""

func testLogger(t testing.TB) *slog.Logger {
	if debugLog {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// testRelay is a relay served on loopback.
type testRelay struct {
	*relay.Server
	hs  *httptest.Server
	url string
	dir string
}

func startRelay(t testing.TB, mod func(*relay.Options)) *testRelay {
	t.Helper()
	dir := t.TempDir()
	return startRelayIn(t, dir, mod)
}

func startRelayIn(t testing.TB, dir string, mod func(*relay.Options)) *testRelay {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	pub := "http://" + hs.Listener.Addr().String()
	o := relay.Options{PublicURL: pub, Tokens: map[string]string{"alice": aliceTok, "bob": bobTok}, Dir: dir, Logger: testLogger(t),
		PingPeriod: 500 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	s, err := relay.New(o)
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = s
	hs.Start()
	tr := &testRelay{Server: s, hs: hs, url: pub, dir: dir}
	t.Cleanup(func() { s.Close(); hs.Close() })
	return tr
}

// app is the local app: it records what it receives.
type app struct {
	*httptest.Server
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
	hold chan struct{} // when set, each request waits for it
	in   chan struct{} // a request arrived
}

func startApp(t testing.TB) *app {
	a := &app{in: make(chan struct{}, 100000)}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.got = append(a.got, r)
		a.body = append(a.body, b)
		hold := a.hold
		a.mu.Unlock()
		a.in <- struct{}{}
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(201)
		io.WriteString(w, "app says hi\n")
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *app) bodies() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, len(a.body))
	for i, b := range a.body {
		out[i] = string(b)
	}
	return out
}

// listener is omega-listen's receiving side wired as cli wires it: the
// relay tunnel, the inspector's Handler and Forwarder, a capture store.
type listener struct {
	tun   tunnel.Tunnel
	store *capture.Store
	h     *inspector.Handler
	srv   *http.Server
	fwd   *inspector.Forwarder
	done  chan *capture.Capture // completed, in the order they complete
	recv  chan *capture.Capture // recorded (Begin), in the order they were recorded
	serve chan error
}

// events passes on the captures the store records (recv) and completes
// (done), as the listener's presenters see them, and tells the relay
// tunnel when a queued delivery is recorded, as cli wires it.
func events(sub *capture.Subscription, done, recv chan<- *capture.Capture, tun tunnel.Tunnel) {
	b, _ := tun.(interface{ Begun(string) })
	for ev := range sub.C() {
		c := ev.Capture
		switch {
		case c == nil:
		case ev.Kind == capture.Completed:
			done <- c
		case ev.Kind == capture.Received:
			recv <- c
			if b != nil && c.Flags.Has(capture.FlagQueued) {
				b.Begun(c.Headers.Get(capture.HeaderRelayQueuedAt))
			}
		}
	}
}

func startListener(t testing.TB, relayURL, token, target, dataDir string, mod func(*tunnel.RelayOptions)) (*listener, error) {
	t.Helper()
	o := tunnel.RelayOptions{URL: relayURL, Token: token, StateDir: dataDir, Logger: testLogger(t),
		PingPeriod: 500 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tun, err := tunnel.DialRelay(ctx, o)
	if err != nil {
		return nil, err
	}
	bus := capture.NewBus()
	store, err := capture.Open(dataDir, capture.Options{Retain: -1, Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(target)
	l := &listener{tun: tun, store: store, done: make(chan *capture.Capture, 100000), recv: make(chan *capture.Capture, 100000), serve: make(chan error, 1)}
	sub := bus.Subscribe(1 << 17)
	t.Cleanup(sub.Close)
	go events(sub, l.done, l.recv, tun)
	l.fwd = inspector.NewForwarder(inspector.ForwarderOptions{Target: u, Timeout: 20 * time.Second})
	l.h = inspector.NewHandler(inspector.HandlerOptions{Token: pathTok, Forwarder: l.fwd, Recorder: store})
	l.srv = &http.Server{Handler: l.h, ConnContext: inspector.FramingContext, ReadHeaderTimeout: 10 * time.Second}
	go func() { l.serve <- l.srv.Serve(inspector.GuardFraming(tun)) }()
	t.Cleanup(l.stop)
	return l, nil
}

func (l *listener) webhookURL() string { return l.tun.PublicURL() + "/omega/" + pathTok }

// stop is a clean exit.
func (l *listener) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = l.srv.Shutdown(ctx)
	_ = l.tun.Close()
	l.fwd.Close()
	_ = l.store.Close()
}

// kill drops everything at once, as a killed process would.
func (l *listener) kill() {
	_ = l.srv.Close()
	_ = l.tun.Close()
}

// nextRecorded waits for the next capture recorded.
func (l *listener) nextRecorded(t testing.TB) *capture.Capture {
	t.Helper()
	select {
	case c := <-l.recv:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("no capture recorded within 20s")
		return nil
	}
}

// next waits for the next completed capture.
func (l *listener) next(t *testing.T) *capture.Capture {
	t.Helper()
	select {
	case c := <-l.done:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("no capture completed within 20s")
		return nil
	}
}

func post(t *testing.T, u string, body string, hdr http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(b))
	return res
}

func readAll(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// waitFor polls cond for up to 20s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cutProxy is a TCP proxy whose connections can be cut, as a killed
// process or a lost network would.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	down  bool
}

func startProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut(true) })
	return p
}

func (p *cutProxy) url() string { return "ws://" + p.ln.Addr().String() }

// cut drops every connection; down refuses new ones until cut(false).
func (p *cutProxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.down = down
}

func isRejected(err error) bool {
	var rej *tunnel.RelayRejectedError
	return errors.As(err, &rej)
}

func startRelayB(b *testing.B) *testRelay { return startRelay(b, nil) }
func startAppB(b *testing.B) *app         { return startApp(b) }
func startListenerB(b *testing.B, r *testRelay, a *app) *listener {
	l, err := startListener(b, r.url, aliceTok, a.URL, b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	return l
}
