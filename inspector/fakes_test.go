package inspector

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/omega-listen/omega-listen/capture"
)

// eventLog is one ordered log shared by the fake recorder, publisher, app
// and test client, so tests can assert what happened before what.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *eventLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// fakeRecorder keeps snapshots of what it was given, in memory.
type fakeRecorder struct {
	log                             *eventLog
	pub                             *fakePublisher // publishes what it stores, as capture.Store does
	failBegin, failFinish, failRecd error

	mu       sync.Mutex
	seq      int64
	begun    map[string]capture.Capture
	finished map[string]capture.Capture
	recorded map[string]capture.Capture
}

func (f *fakeRecorder) Begin(_ context.Context, c *capture.Capture) error {
	f.log.add("begin %s", c.ID)
	if f.failBegin != nil {
		f.pub.Received(c)
		return f.failBegin
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	c.Seq = f.seq
	put(&f.begun, c)
	f.pub.Received(c)
	return nil
}

func (f *fakeRecorder) Finish(_ context.Context, c *capture.Capture) error {
	f.log.add("finish %s", c.ID)
	if f.failFinish != nil {
		f.pub.Completed(c)
		return f.failFinish
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	put(&f.finished, c)
	f.pub.Completed(c)
	return nil
}

func (f *fakeRecorder) Record(_ context.Context, c *capture.Capture) error {
	f.log.add("record %s", c.ID)
	if f.failRecd != nil {
		f.pub.Completed(c)
		return f.failRecd
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	c.Seq = f.seq
	put(&f.recorded, c)
	f.pub.Completed(c)
	return nil
}

func put(m *map[string]capture.Capture, c *capture.Capture) {
	if *m == nil {
		*m = map[string]capture.Capture{}
	}
	(*m)[c.ID] = *c
}

// only returns the single capture of m, failing the test if there is not
// exactly one.
func (f *fakeRecorder) only(t *testing.T, which string) capture.Capture {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]map[string]capture.Capture{"begun": f.begun, "finished": f.finished, "recorded": f.recorded}[which]
	if len(m) != 1 {
		t.Fatalf("%s captures: %d, want 1", which, len(m))
	}
	for _, c := range m {
		return c
	}
	panic("unreachable")
}

func (f *fakeRecorder) counts() (begun, finished, recorded int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.begun), len(f.finished), len(f.recorded)
}

// fakePublisher is the bus of fakeRecorder: what a presenter would see.
type fakePublisher struct {
	log *eventLog

	mu        sync.Mutex
	received  []*capture.Capture
	completed []*capture.Capture
}

// Received and Completed keep a copy, as capture.Bus does. A nil
// fakePublisher publishes nothing.
func (p *fakePublisher) Received(c *capture.Capture) {
	if p == nil {
		return
	}
	p.log.add("received %s", c.ID)
	cp := *c
	p.mu.Lock()
	p.received = append(p.received, &cp)
	p.mu.Unlock()
}

func (p *fakePublisher) Completed(c *capture.Capture) {
	if p == nil {
		return
	}
	p.log.add("completed %s", c.ID)
	cp := *c
	p.mu.Lock()
	p.completed = append(p.completed, &cp)
	p.mu.Unlock()
}

// seenRequest is what the app got.
type seenRequest struct {
	Method, Path, Host string
	Header             http.Header
	Body               []byte
	ContentLength      int64
	TransferEncoding   []string
}

// appSpy is the local app: it keeps every request and answers with
// answer (default 200 "ok").
type appSpy struct {
	log    *eventLog
	answer http.HandlerFunc

	mu   sync.Mutex
	reqs []seenRequest
}

func (a *appSpy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	a.log.add("app %s", r.Header.Get(HeaderCapture))
	a.mu.Lock()
	a.reqs = append(a.reqs, seenRequest{r.Method, r.URL.RequestURI(), r.Host, r.Header.Clone(), body, r.ContentLength, r.TransferEncoding})
	a.mu.Unlock()
	if a.answer != nil {
		a.answer(w, r)
		return
	}
	io.WriteString(w, "ok")
}

func (a *appSpy) requests() []seenRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]seenRequest(nil), a.reqs...)
}

// rig is a Handler served over loopback, forwarding to an appSpy.
type rig struct {
	t      *testing.T
	log    *eventLog
	app    *appSpy
	appSrv *httptest.Server
	target *url.URL
	rec    *fakeRecorder
	pub    *fakePublisher
	h      *Handler
	srv    *httptest.Server

	storeErrs []error
	mu        sync.Mutex
}

const testToken = "test-token_0123456789abcdef"

type rigOption func(*HandlerOptions, *ForwarderOptions)

func newRig(t *testing.T, answer http.HandlerFunc, opts ...rigOption) *rig {
	t.Helper()
	r := &rig{t: t, log: &eventLog{}}
	r.app = &appSpy{log: r.log, answer: answer}
	r.appSrv = httptest.NewServer(r.app)
	t.Cleanup(r.appSrv.Close)
	r.target, _ = url.Parse(r.appSrv.URL + "/webhook")
	r.pub = &fakePublisher{log: r.log}
	r.rec = &fakeRecorder{log: r.log, pub: r.pub}

	fo := ForwarderOptions{Target: r.target}
	ho := HandlerOptions{
		Token:     testToken,
		Recorder:  r.rec,
		SessionID: "s1",
		OnStoreError: func(err error) {
			r.mu.Lock()
			r.storeErrs = append(r.storeErrs, err)
			r.mu.Unlock()
		},
	}
	for _, o := range opts {
		o(&ho, &fo)
	}
	fwd := NewForwarder(fo)
	t.Cleanup(fwd.Close)
	ho.Forwarder = fwd
	r.h = NewHandler(ho)
	// Served the way the listener serves it: behind the framing guard.
	r.srv = httptest.NewUnstartedServer(r.h)
	r.srv.Listener = GuardFraming(r.srv.Listener)
	r.srv.Config.ConnContext = FramingContext
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rig) url() string { return r.srv.URL + r.h.Path() }

// do sends a request the way a plain client would, adding nothing of Go's
// own (no User-Agent, no Accept-Encoding), and waits until the Handler is
// done with it.
func (r *rig) do(method, path string, hdr http.Header, body io.Reader) (*http.Response, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, body)
	if err != nil {
		r.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = nil
	}
	resp, err := plainClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	r.log.add("answered")
	if err := r.h.Wait(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	return resp, b
}

func (r *rig) post(body string) (*http.Response, []byte) {
	r.t.Helper()
	return r.do(http.MethodPost, r.h.Path(), http.Header{"Content-Type": {"application/json"}}, strings.NewReader(body))
}

var plainClient = &http.Client{
	Transport: &http.Transport{DisableCompression: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// rawRequest writes request bytes as they are to addr and reads the
// answer: for header sets no Go client would send.
func rawRequest(t *testing.T, addr string, request string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
