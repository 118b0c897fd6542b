package inspector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/inspector/internal/h1"
)

// serveTCP serves each connection to a fresh local listener with handle,
// in a goroutine of its own, and returns the URL of /hook there. When the
// test ends, atEnd runs (if set), then the listener and every connection
// are closed and the handlers waited for.
func serveTCP(t testing.TB, handle func(net.Conn), atEnd func()) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		if atEnd != nil {
			atEnd()
		}
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	u, _ := url.Parse("http://" + ln.Addr().String() + "/hook")
	return u
}

// rawApp is a local app speaking HTTP/1.1 by hand, so tests control every
// byte of its answers and see every byte of the requests.
type rawApp struct {
	// answer handles the i-th request (from 0) on a connection; it writes
	// whatever it likes and says whether to keep the connection open.
	answer func(conn net.Conn, i int, req []byte) (keep bool)

	accepted atomic.Int32
	mu       sync.Mutex
	reqs     [][]byte
}

func newRawApp(t *testing.T, answer func(conn net.Conn, i int, req []byte) bool) (*rawApp, *url.URL) {
	t.Helper()
	a := &rawApp{answer: answer}
	return a, serveTCP(t, a.serve, nil)
}

func (a *rawApp) serve(conn net.Conn) {
	a.accepted.Add(1)
	br := bufio.NewReader(conn)
	for i := 0; ; i++ {
		req, err := readRawRequest(br)
		if err != nil {
			return
		}
		a.mu.Lock()
		a.reqs = append(a.reqs, req)
		a.mu.Unlock()
		if !a.answer(conn, i, req) {
			return
		}
	}
}

func (a *rawApp) requests() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([][]byte(nil), a.reqs...)
}

// readRawRequest reads one request with a Content-Length body (or none),
// byte for byte.
func readRawRequest(br *bufio.Reader) ([]byte, error) {
	var raw []byte
	n := 0
	for {
		line, err := br.ReadString('\n')
		raw = append(raw, line...)
		if err != nil {
			return nil, err
		}
		if line == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, err
	}
	return append(raw, body...), nil
}

func answerWith(s string) func(net.Conn, int, []byte) bool {
	return func(c net.Conn, _ int, _ []byte) bool {
		io.WriteString(c, s)
		return true
	}
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// forwarders returns the Forwarder under test (direct client) and one
// forced onto http.Transport, the behaviour it must match.
func forwarders(t *testing.T, o ForwarderOptions) (direct, transport *Forwarder) {
	t.Helper()
	direct = NewForwarder(o)
	t.Cleanup(direct.Close)
	tr := newTransport(nil)
	t.Cleanup(tr.CloseIdleConnections)
	o.Transport = tr
	transport = NewForwarder(o)
	return direct, transport
}

func TestDirectWireMatchesTransport(t *testing.T) {
	big := bytes.Repeat([]byte("b"), 64<<10+1000)
	tests := []struct {
		name   string
		target string // path and query on the app, and user info
		extra  http.Header
		req    Request
	}{
		{name: "delivery", req: Request{Method: "POST", Header: benchHeader, Body: benchBody, CaptureID: "c_1"}},
		{name: "no user agent, empty POST", req: Request{Method: "POST", Header: http.Header{"Content-Type": {"application/json"}}}},
		{name: "empty PUT", req: Request{Method: "PUT"}},
		{name: "GET replay", req: Request{Method: "GET", Header: http.Header{"Accept": {"*/*"}}, ReplayOf: "c_0", CaptureID: "c_2"}},
		{name: "DELETE without body", req: Request{Method: "DELETE"}},
		{name: "DELETE with body", req: Request{Method: "DELETE", Body: []byte("x")}},
		{name: "hop-by-hop and framing headers dropped", req: Request{Body: []byte("{}"), Header: http.Header{
			"Connection": {"X-Hop, keep-alive"}, "X-Hop": {"1"}, "Keep-Alive": {"timeout=5"}, "Transfer-Encoding": {"chunked"},
			"Te": {"trailers"}, "Trailer": {"X-T"}, "Proxy-Authorization": {"Basic x"}, "Upgrade": {"h2c"},
			"Host": {"evil.example"}, "Content-Length": {"999"}, "X-Kept": {"yes"},
		}}},
		{name: "values trimmed, repeated, lower-case key, obs-text", req: Request{Body: []byte("{}"), Header: http.Header{
			"X-Space": {"  a b \t"}, "X-Multi": {"1", "2", ""}, "x-lower": {"spelt in lower case"},
			"X-Latin": {"caf\xe9"}, "User-Agent": {"  curl/8.0 ", "second"},
		}}},
		{name: "empty user agent means none", req: Request{Body: []byte("x"), Header: http.Header{"User-Agent": {""}}}},
		{name: "extras replace and add", extra: http.Header{"content-type": {"text/plain"}, "X-Extra": {"1", "2"}, "Authorization": {"Bearer t"}},
			req: Request{Body: []byte("x"), Header: http.Header{"Content-Type": {"application/json"}}, CaptureID: "c_3", ReplayOf: "c_1"}},
		{name: "basic auth and query from the target", target: "me:s%3Acret@/hook%20x?q=a%2Fb&r=1", req: Request{Body: []byte("x")}},
		{name: "authorization header wins over target user", target: "me:pw@/hook", req: Request{Body: []byte("x"), Header: http.Header{"Authorization": {"Bearer mine"}}}},
		{name: "body beyond the inline size", req: Request{Body: big, Header: http.Header{"Content-Type": {"application/octet-stream"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, u := newRawApp(t, answerWith(okAnswer))
			if tt.target != "" {
				var err error
				if u, err = url.Parse("http://" + strings.Replace(tt.target, "@", "@"+u.Host, 1)); err != nil {
					t.Fatal(err)
				}
			}
			direct, transport := forwarders(t, ForwarderOptions{Target: u, Headers: tt.extra})
			for _, f := range []*Forwarder{transport, direct} {
				if res := f.Forward(context.Background(), tt.req); res.Err != nil || res.Status != 200 || string(res.Body) != "ok" {
					t.Fatalf("result %+v", res)
				}
			}
			reqs := app.requests()
			if len(reqs) != 2 {
				t.Fatalf("app got %d requests, want 2", len(reqs))
			}
			if !bytes.Equal(reqs[0], reqs[1]) {
				t.Errorf("direct client sent\n%q\nhttp.Transport sent\n%q", trimBody(reqs[1]), trimBody(reqs[0]))
			}
		})
	}
}

func trimBody(b []byte) []byte {
	if len(b) > 2000 {
		return b[:2000]
	}
	return b
}

func TestDirectKeepAlive(t *testing.T) {
	var conns atomic.Int32
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, r.Header.Get(HeaderCapture))
	}))
	app.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	app.Start()
	defer app.Close()
	u, _ := url.Parse(app.URL + "/hook")
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()
	for i := range 10 {
		id := fmt.Sprintf("c_%d", i)
		if res := f.Forward(context.Background(), Request{Body: []byte("x"), CaptureID: id}); res.Err != nil || string(res.Body) != id {
			t.Fatalf("forward %d: %+v", i, res)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("10 sequential forwards used %d connections, want 1", n)
	}
}

// TestDirectAppClosesIdleConns: an app that drops connections between
// requests (restarts, short idle timeouts, no keep-alive) must not cost a
// delivery, nor get one twice. A close that crosses a request in flight is
// another matter (see TestFaithfulSideBySide): here each forward waits
// until the app has closed.
func TestDirectAppClosesIdleConns(t *testing.T) {
	tests := []struct {
		name  string
		reset bool
	}{
		{"closes right after answering", false},
		{"resets right after answering", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var handled atomic.Int32
			closed := make(chan struct{}, 3)
			app, u := newRawApp(t, func(c net.Conn, i int, req []byte) bool {
				if i == 0 {
					handled.Add(1)
				}
				io.WriteString(c, okAnswer)
				if tt.reset {
					c.(*net.TCPConn).SetLinger(0)
				}
				c.Close()
				closed <- struct{}{}
				return false
			})
			f := NewForwarder(ForwarderOptions{Target: u})
			defer f.Close()
			for i := range 3 {
				if res := f.Forward(context.Background(), Request{Body: []byte("x")}); res.Err != nil || res.Status != 200 {
					t.Fatalf("forward %d: %+v", i, res)
				}
				<-closed
				time.Sleep(50 * time.Millisecond) // for the FIN or RST to land
			}
			if n := int(handled.Load()); n != 3 {
				t.Errorf("app handled %d requests, want 3", n)
			}
			if n := app.accepted.Load(); n != 3 {
				t.Errorf("%d connections, want one per forward", n)
			}
		})
	}
}

func TestDirectAppRestarts(t *testing.T) {
	app := &appSpy{}
	srv := httptest.NewServer(app)
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/hook")
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()
	for i := range 3 {
		if res := f.Forward(context.Background(), Request{Body: []byte("x"), CaptureID: fmt.Sprint(i)}); res.Err != nil || res.Status != 200 {
			t.Fatalf("forward %d: %+v", i, res)
		}
		srv.CloseClientConnections()
		time.Sleep(50 * time.Millisecond) // for the FIN to land
	}
	reqs := app.requests()
	if len(reqs) != 3 {
		t.Fatalf("app saw %d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Header.Get(HeaderCapture); got != fmt.Sprint(i) {
			t.Errorf("request %d is capture %q", i, got)
		}
	}
}

// TestDirectRetryOnlyOnce: a fresh connection that fails is not retried,
// so a request the app read and then dropped is not sent twice.
func TestDirectRetryOnlyOnce(t *testing.T) {
	app, u := newRawApp(t, func(net.Conn, int, []byte) bool { return false })
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()
	res := f.Forward(context.Background(), Request{Body: []byte("x")})
	if res.ErrKind != ErrOther || res.Err == nil || !strings.Contains(res.Err.Error(), "the app closed the connection without answering") {
		t.Errorf("result %+v", res)
	}
	if n := len(app.requests()); n != 1 {
		t.Errorf("app got the request %d times, want 1", n)
	}
}

func TestDirectAnswers(t *testing.T) {
	const closeMidBody = "the app closed the connection before a complete answer"
	const noAnswer = "the app closed the connection without answering"
	tests := []struct {
		name    string
		method  string
		answer  string
		closes  bool // the app closes the connection after answering
		status  int
		body    string
		header  http.Header // expected in the result
		noHdr   string      // a header that must not be in the result
		errText string      // expected in the error, if any
		// directErr, if set, is the end of the direct client's error,
		// where it words an unparsable answer better than net/http.
		directErr string
		kind      ErrKind
		reused    bool // the next forward uses the same connection
	}{
		{name: "content length", answer: okAnswer, status: 200, body: "ok", reused: true},
		{name: "connection close", answer: "HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", closes: true, status: 202, body: "ok"},
		{name: "connection close, app keeps it", answer: "HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", status: 202, body: "ok"},
		{name: "HTTP/1.0 with length", answer: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", closes: true, status: 200, body: "ok"},
		{name: "HTTP/1.0 keep-alive", answer: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok"},
		{name: "HTTP/1.0 until close", answer: "HTTP/1.0 200 OK\r\n\r\nto the end", closes: true, status: 200, body: "to the end"},
		{name: "HTTP/1.1 until close", answer: "HTTP/1.1 200 OK\r\n\r\nto the end", closes: true, status: 200, body: "to the end"},
		{name: "chunked with trailer", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Sum: 7\r\n\r\n",
			status: 200, body: "abcdefg", reused: true},
		{name: "100 continue first", answer: "HTTP/1.1 100 Continue\r\n\r\n" + okAnswer, status: 200, body: "ok", reused: true},
		{name: "103 early hints first", answer: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nX-Final: 1\r\nContent-Length: 0\r\n\r\n",
			status: 201, header: http.Header{"X-Final": {"1"}}, noHdr: "Link", reused: true},
		{name: "204 ignores a length", answer: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", status: 204, reused: true},
		{name: "HEAD answer states a length", method: "HEAD", answer: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", status: 200, reused: true},
		{name: "redirect returned", answer: "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n", status: 302,
			header: http.Header{"Location": {"/elsewhere"}}, reused: true},
		{name: "bytes after the answer", answer: okAnswer + "HTTP/1.1 200 OK\r\n", status: 200, body: "ok"},
		{name: "101", answer: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", closes: true, kind: ErrOther,
			errText: "the app answered 101 Switching Protocols, which cannot be passed on"},
		{name: "malformed status line", answer: "HELLO\r\n\r\n", closes: true, kind: ErrOther, errText: `malformed HTTP response "HELLO"`,
			directErr: `failed: the app's answer is not valid HTTP/1.x: malformed HTTP response "HELLO"`},
		{name: "huge malformed status line", answer: strings.Repeat("A", 5000) + "\r\n\r\n", closes: true, kind: ErrOther, errText: `malformed HTTP response "AAAA`,
			directErr: `failed: the app's answer is not valid HTTP/1.x: malformed HTTP response "` + strings.Repeat("A", 200-len(`malformed HTTP response "`)) + "…"},
		{name: "malformed status code", answer: "HTTP/1.1 2x0 OK\r\n\r\n", closes: true, kind: ErrOther, errText: `malformed HTTP status code "2x0"`,
			directErr: `failed: the app's answer is not valid HTTP/1.x: malformed HTTP status code "2x0"`},
		{name: "bad content length", answer: "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n", closes: true, kind: ErrOther, errText: "bad Content-Length",
			directErr: `failed: the app's answer is not valid HTTP/1.x: bad Content-Length "nope"`},
		{name: "bad chunk", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", closes: true, status: 200, kind: ErrOther,
			errText: "reading the answer: invalid byte in chunk length"},
		{name: "closed before answering", closes: true, kind: ErrOther, errText: noAnswer},
		{name: "closed mid-header", answer: "HTTP/1.1 200 OK\r\nX-A:", closes: true, kind: ErrOther, errText: noAnswer},
		{name: "closed mid-body", answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", closes: true, status: 200, body: "abc", kind: ErrOther, errText: closeMidBody},
		{name: "closed mid-chunk", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabc", closes: true, status: 200, kind: ErrOther, errText: closeMidBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, u := newRawApp(t, func(c net.Conn, i int, req []byte) bool {
				io.WriteString(c, tt.answer)
				return !tt.closes
			})
			direct, transport := forwarders(t, ForwarderOptions{Target: u})
			var results [2]Result
			for i, f := range []*Forwarder{direct, transport} {
				res := f.Forward(context.Background(), Request{Method: tt.method, Body: []byte("x")})
				results[i] = res
				if res.ErrKind != tt.kind || res.Status != tt.status {
					t.Errorf("forwarder %d: kind %s status %d err %v; want %s %d", i, res.ErrKind, res.Status, res.Err, tt.kind, tt.status)
				}
				if tt.kind == ErrNone && string(res.Body) != tt.body {
					t.Errorf("forwarder %d: body %q, want %q", i, res.Body, tt.body)
				}
				if tt.errText == "" && res.Err != nil || tt.errText != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.errText)) {
					t.Errorf("forwarder %d: error %v, want one with %q", i, res.Err, tt.errText)
				}
				for k, v := range tt.header {
					if got := res.Header[k]; fmt.Sprint(got) != fmt.Sprint(v) {
						t.Errorf("forwarder %d: header %s = %q, want %q", i, k, got, v)
					}
				}
				if _, ok := res.Header[tt.noHdr]; tt.noHdr != "" && ok {
					t.Errorf("forwarder %d: header %s from an informational answer kept", i, tt.noHdr)
				}
			}
			if tt.directErr != "" {
				if got := fmt.Sprint(results[0].Err); !strings.HasSuffix(got, tt.directErr) {
					t.Errorf("direct error %q, want it to end %q", got, tt.directErr)
				}
			} else if a, b := fmt.Sprint(results[0].Err), fmt.Sprint(results[1].Err); a != b {
				t.Errorf("direct error %q, http.Transport error %q", a, b)
			}
			if !bytes.Equal(results[0].Body, results[1].Body) {
				t.Errorf("direct body %q, http.Transport body %q", results[0].Body, results[1].Body)
			}
			if tt.kind != ErrNone {
				return
			}
			// A forward done, the connection count says whether the
			// direct client kept its connection for the next one.
			before := app.accepted.Load()
			if res := direct.Forward(context.Background(), Request{Method: tt.method, Body: []byte("x")}); res.Err != nil {
				t.Fatalf("second forward: %v", res.Err)
			}
			if reused := app.accepted.Load() == before; reused != tt.reused {
				t.Errorf("connection reused %v, want %v", reused, tt.reused)
			}
		})
	}
}

func TestDirectHeaderInjection(t *testing.T) {
	tests := []struct {
		name  string
		extra http.Header
		req   Request
		want  string
	}{
		{"CRLF in an original value", nil, Request{Header: http.Header{"X-Note": {"a\r\nX-Evil: 1"}}}, `invalid header field value for "X-Note"`},
		{"LF in an original value", nil, Request{Header: http.Header{"X-Note": {"a\nGET / HTTP/1.1"}}}, `invalid header field value for "X-Note"`},
		{"NUL in an original value", nil, Request{Header: http.Header{"X-Note": {"a\x00b"}}}, `invalid header field value for "X-Note"`},
		{"CRLF in an extra", http.Header{"X-Extra": {"v\r\n\r\nPOST /admin HTTP/1.1"}}, Request{}, `invalid header field value for "X-Extra"`},
		{"CR in the user agent", nil, Request{Header: http.Header{"User-Agent": {"ua\rX: y"}}}, `invalid header field value for "User-Agent"`},
		{"colon in a name", nil, Request{Header: http.Header{"X-A: b\r\nX-C": {"d"}}}, `invalid header field name`},
		{"space in an extra name", http.Header{"X Bad": {"1"}}, Request{}, `invalid header field name "X Bad"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, u := newRawApp(t, answerWith(okAnswer))
			direct, transport := forwarders(t, ForwarderOptions{Target: u, Headers: tt.extra})
			tt.req.Body = []byte("x")
			for i, f := range []*Forwarder{direct, transport} {
				res := f.Forward(context.Background(), tt.req)
				if res.ErrKind != ErrOther || res.Err == nil || !strings.Contains(res.Err.Error(), tt.want) {
					t.Errorf("forwarder %d: result %+v, want an error with %q", i, res, tt.want)
				}
			}
			if n := app.accepted.Load(); n != 0 {
				t.Errorf("app got %d connections, want none", n)
			}
		})
	}
}

func TestDirectCancel(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	_, u := newRawApp(t, func(c net.Conn, _ int, req []byte) bool {
		if bytes.Contains(req, []byte("slow")) {
			started <- struct{}{}
			<-release
		}
		io.WriteString(c, okAnswer)
		return true
	})
	defer close(release)
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	res := f.Forward(ctx, Request{Body: []byte("slow")})
	if res.ErrKind != ErrOther || !errors.Is(res.Err, context.Canceled) || !strings.HasSuffix(res.Err.Error(), ": canceled") {
		t.Errorf("result kind %s err %v, want canceled", res.ErrKind, res.Err)
	}
	if res := f.Forward(ctx, Request{Body: []byte("x")}); !errors.Is(res.Err, context.Canceled) {
		t.Errorf("forward on a canceled context: %v", res.Err)
	}
	// The canceled connection is not reused: the next forward works.
	if res := f.Forward(context.Background(), Request{Body: []byte("x")}); res.Err != nil || res.Status != 200 {
		t.Errorf("forward after a cancel: %+v", res)
	}
}

func TestDirectContextDeadline(t *testing.T) {
	_, u := newRawApp(t, func(c net.Conn, _ int, req []byte) bool {
		return true // never answers, keeps the connection
	})
	f := NewForwarder(ForwarderOptions{Target: u, Timeout: time.Hour})
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res := f.Forward(ctx, Request{Body: []byte("x")})
	if res.ErrKind != ErrTimeout || !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Errorf("result kind %s err %v, want a timeout", res.ErrKind, res.Err)
	}
}

func TestDirectTimeoutMidBody(t *testing.T) {
	_, u := newRawApp(t, func(c net.Conn, _ int, req []byte) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
		return true
	})
	// Long enough for the header to arrive on a loaded machine under -race.
	f := NewForwarder(ForwarderOptions{Target: u, Timeout: 2 * time.Second})
	defer f.Close()
	res := f.Forward(context.Background(), Request{Body: []byte("x")})
	if res.ErrKind != ErrTimeout || !errors.Is(res.Err, context.DeadlineExceeded) || res.Status != 200 {
		t.Errorf("result kind %s status %d err %v, want a timeout after the header", res.ErrKind, res.Status, res.Err)
	}
}

func TestDirectAppDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://" + ln.Addr().String() + "/hook")
	ln.Close()
	direct, transport := forwarders(t, ForwarderOptions{Target: u})
	for i, tc := range []struct {
		name string
		f    *Forwarder
	}{{"direct", direct}, {"transport", transport}} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.f.Forward(context.Background(), Request{Body: []byte("x")})
			if res.ErrKind != ErrRefused || res.Err == nil || res.Err.Error() != "could not reach "+u.String()+": connection refused" {
				t.Errorf("forwarder %d: kind %s err %v", i, res.ErrKind, res.Err)
			}
		})
	}
}

func TestDirectExpectContinue(t *testing.T) {
	app, u := newApp(t, nil)
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()
	for range 2 {
		res := f.Forward(context.Background(), Request{Body: []byte("{}"), Header: http.Header{"Expect": {"100-continue"}}})
		if res.Err != nil || res.Status != 200 || string(res.Body) != "ok" {
			t.Fatalf("result %+v", res)
		}
	}
	if n := len(app.requests()); n != 2 {
		t.Errorf("app got %d requests, want 2", n)
	}
}

func TestDirectConcurrent(t *testing.T) {
	app, u := newApp(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get(HeaderCapture))
	})
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()
	const workers, each = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("c_%d_%d", w, i)
				res := f.Forward(context.Background(), Request{Body: []byte(id), CaptureID: id})
				if res.Err != nil || string(res.Body) != id {
					errs <- fmt.Errorf("%s: status %d body %q err %v", id, res.Status, res.Body, res.Err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]int{}
	for _, r := range app.requests() {
		if string(r.Body) != r.Header.Get(HeaderCapture) {
			t.Errorf("body %q under capture %q", r.Body, r.Header.Get(HeaderCapture))
		}
		seen[string(r.Body)]++
	}
	if len(seen) != workers*each {
		t.Errorf("app saw %d distinct requests, want %d", len(seen), workers*each)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
	idle := f.own.(*h1.Transport).IdleConns()
	if idle < 1 || idle > workers {
		t.Errorf("%d idle connections after %d concurrent forwards", idle, workers)
	}
}

func TestDirectCloseClosesIdle(t *testing.T) {
	app, u := newRawApp(t, answerWith(okAnswer))
	f := NewForwarder(ForwarderOptions{Target: u})
	if res := f.Forward(context.Background(), Request{Body: []byte("x")}); res.Err != nil {
		t.Fatal(res.Err)
	}
	f.Close()
	if n := f.own.(*h1.Transport).IdleConns(); n != 0 {
		t.Errorf("%d idle connections after Close", n)
	}
	// Like http.Transport after CloseIdleConnections: still usable.
	if res := f.Forward(context.Background(), Request{Body: []byte("x")}); res.Err != nil {
		t.Fatal(res.Err)
	}
	f.Close()
	if n := app.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestDirectHTTPSStaysOnTransport(t *testing.T) {
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	app.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	app.StartTLS()
	defer app.Close()
	u, _ := url.Parse(app.URL)
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()
	// The test server's certificate is not trusted: only a TLS client
	// can fail that way.
	res := f.Forward(context.Background(), Request{Body: []byte("x")})
	if res.ErrKind != ErrOther || res.Err == nil || !strings.Contains(res.Err.Error(), "certificate") {
		t.Errorf("result %+v, want a certificate error from http.Transport", res)
	}
}

// FuzzDirectAnswer feeds arbitrary bytes as the app's answer: the direct
// client must not panic or hang, and must report either a whole answer or
// an error.
func FuzzDirectAnswer(f *testing.F) {
	for _, s := range []string{
		okAnswer,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nbody",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
		"HELLO\r\n\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	var answer atomic.Pointer[[]byte]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := readRawRequest(bufio.NewReader(c)); err != nil {
					return
				}
				c.Write(*answer.Load())
			}()
		}
	}()
	u, _ := url.Parse("http://" + ln.Addr().String() + "/hook")
	fwd := NewForwarder(ForwarderOptions{Target: u, Timeout: 5 * time.Second})
	defer fwd.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		answer.Store(&data)
		res := fwd.Forward(context.Background(), Request{Body: []byte("x")})
		switch {
		case res.Err == nil && (res.Status < 200 || res.Status > 999 || res.ErrKind != ErrNone):
			t.Errorf("answered status %d kind %s", res.Status, res.ErrKind)
		case res.Err != nil && res.ErrKind == ErrNone:
			t.Errorf("error %v with kind none", res.Err)
		case len(res.Body) > MaxResponseBody:
			t.Errorf("%d body bytes kept", len(res.Body))
		}
	})
}
