package inspector

// The side-by-side table of issue 11: every case runs through the whole
// Handler twice, once with the Forwarder's own client (the direct HTTP/1.1
// client, internal/h1) and once with a tuned net/http.Transport, against
// an app that behaves as the servers developers run do (Node, Express in
// cluster mode, Fastify, Flask, Python's http.server, Go's net/http). The
// outcomes must be the same: what the sender is answered, how many times
// the app saw each delivery, and what is stored.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
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

	"github.com/omega-listen/omega-listen/capture"
)

// scriptApp is a local app written against raw TCP, so a case can do what
// real servers do that net/http's server never would: read a request and
// destroy the socket, answer before reading the body and reset, stop
// reading, close an idle connection on a timer.
type scriptApp struct {
	// serve handles the i-th request (from 0) on a connection, whose head
	// has been read; it reads the body or not, answers or not, and says
	// whether to wait for another request on the connection.
	serve func(c *appConn, i int, head appHead) (keep bool)
	// idle, if set, is how long a connection may wait for its next
	// request before the app closes it.
	idle time.Duration

	mu   sync.Mutex
	seen map[string]int // capture ID → times the app read that request's head
	stop chan struct{}  // closed at cleanup: apps that hang stop hanging
}

type appConn struct {
	net.Conn
	br   *bufio.Reader
	stop <-chan struct{} // closed when the test ends
}

type appHead struct {
	capture string
	length  int
	expect  bool
}

func newScriptApp(t testing.TB, idle time.Duration, serve func(c *appConn, i int, h appHead) bool) (*scriptApp, *url.URL) {
	t.Helper()
	a := &scriptApp{serve: serve, idle: idle, seen: map[string]int{}, stop: make(chan struct{})}
	return a, serveTCP(t, a.conn, func() { close(a.stop) })
}

// conn serves the requests of one connection.
func (a *scriptApp) conn(c net.Conn) {
	ac := &appConn{Conn: c, br: bufio.NewReaderSize(c, 64<<10), stop: a.stop}
	for i := 0; ; i++ {
		if a.idle > 0 && i > 0 {
			c.SetReadDeadline(time.Now().Add(a.idle))
		}
		h, err := ac.readHead()
		if err != nil {
			return
		}
		c.SetReadDeadline(time.Time{})
		a.mu.Lock()
		a.seen[h.capture]++
		a.mu.Unlock()
		if !a.serve(ac, i, h) {
			return
		}
	}
}

func (a *scriptApp) times(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[id]
}

func (c *appConn) readHead() (appHead, error) {
	var h appHead
	for first := true; ; first = false {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return h, err
		}
		if line == "\r\n" && !first {
			return h, nil
		}
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch {
		case strings.EqualFold(k, "Content-Length"):
			h.length, _ = strconv.Atoi(v)
		case strings.EqualFold(k, HeaderCapture):
			h.capture = v
		case strings.EqualFold(k, "Expect"):
			h.expect = strings.EqualFold(v, "100-continue")
		}
	}
}

func (c *appConn) readBody(h appHead) error {
	_, err := io.CopyN(io.Discard, c.br, int64(h.length))
	return err
}

func (c *appConn) reset() {
	c.Conn.(*net.TCPConn).SetLinger(0)
	c.Close()
}

const (
	appOK       = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
	appDenied   = "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\ndenied"
	appDeniedKA = "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\ndenied"
)

// outcome is what one delivery came to.
type outcome struct {
	Sent     int    // the status the sender got
	BodyLen  int    // the length of the body the sender got
	BodySum  string // and a digest of it
	Times    int    // how many times the app saw the delivery
	Outcome  capture.Outcome
	Stored   int // the status stored
	Trunc    bool
	ErrorSet bool
}

type faithCase struct {
	name string
	idle time.Duration // the app closes idle connections after this
	// serve is the app; see scriptApp.
	serve func(c *appConn, i int, h appHead) bool
	// body is the size of each delivery's body; header adds to it.
	body   int
	header http.Header
	// gaps are the pauses before each delivery after the first; the
	// case is one delivery if empty.
	gaps []time.Duration
	// want is the expected outcome of each delivery, checked for both
	// clients, except the digest (wantBody, if set, checks the body).
	want     []outcome
	wantBody func(b []byte) bool
	// errText is in the stored error of the last delivery, if set.
	errText string
	// better, if set, says why the direct client is deliberately better
	// than net/http here: net/http's outcomes are logged, not compared.
	better string
}

func TestFaithfulSideBySide(t *testing.T) {
	bigAnswer := 50 << 20
	okThen := func(last func(c *appConn, h appHead) bool) func(*appConn, int, appHead) bool {
		return func(c *appConn, i int, h appHead) bool {
			if i == 0 {
				c.readBody(h)
				io.WriteString(c, appOK)
				return true
			}
			return last(c, h)
		}
	}
	answerEarly := func(answer string, then func(c *appConn)) func(*appConn, int, appHead) bool {
		return func(c *appConn, _ int, h appHead) bool {
			io.WriteString(c, answer)
			then(c)
			return false
		}
	}
	fine := outcome{Sent: 200, BodyLen: 2, Times: 1, Outcome: capture.OutcomeOK, Stored: 200}
	denied := outcome{Sent: 401, BodyLen: 6, Times: 1, Outcome: capture.OutcomeAppError, Stored: 401}
	tests := []faithCase{
		{
			// Express's handler throws on a bad event and the socket is
			// destroyed; in cluster mode a resend would reach the other
			// worker and take it down too.
			name: "reads then destroys a reused connection",
			serve: okThen(func(c *appConn, h appHead) bool {
				c.readBody(h)
				return false
			}),
			body: 100, gaps: []time.Duration{0},
			want:    []outcome{fine, {Sent: 502, Times: 1, Outcome: capture.OutcomeFailed, ErrorSet: true}},
			errText: "the app closed the connection without answering",
		},
		{
			name: "reads then resets a reused connection",
			serve: okThen(func(c *appConn, h appHead) bool {
				c.readBody(h)
				c.reset()
				return false
			}),
			body: 100, gaps: []time.Duration{0},
			want:    []outcome{fine, {Sent: 502, Times: 1, Outcome: capture.OutcomeFailed, ErrorSet: true}},
			errText: "the app closed the connection without answering",
		},
		{
			name:   "401 before reading a 4 MiB body, then closes",
			better: "net/http returns its own write error (broken pipe, reset) when the app's close reaches the writer before the answer is read; the direct client reads the answer after a failed write",
			serve:  answerEarly(appDenied, func(c *appConn) { c.Close() }),
			body:   4 << 20, want: []outcome{denied},
		},
		{
			name:   "401 before reading a 9 MiB body, then closes",
			better: "net/http returns its own write error (broken pipe, reset) when the app's close reaches the writer before the answer is read; the direct client reads the answer after a failed write",
			serve:  answerEarly(appDenied, func(c *appConn) { c.Close() }),
			body:   9 << 20, want: []outcome{denied},
		},
		{
			name:   "401 before reading a 9 MiB body, then resets",
			better: "net/http returns its own write error (broken pipe, reset) when the app's close reaches the writer before the answer is read; the direct client reads the answer after a failed write",
			serve:  answerEarly(appDenied, func(c *appConn) { c.reset() }),
			body:   9 << 20, want: []outcome{denied},
		},
		{
			// As Go's http.Server: a half close, then the rest is drained.
			name: "401 before reading a 9 MiB body, closes like http.Server",
			serve: answerEarly(appDenied, func(c *appConn) {
				c.Conn.(*net.TCPConn).CloseWrite()
				c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				io.Copy(io.Discard, c.br)
			}),
			body: 9 << 20, want: []outcome{denied},
		},
		{
			name: "401 to Expect: 100-continue with a 4 MiB body",
			serve: answerEarly(appDenied, func(c *appConn) {
				c.Close()
			}),
			body: 4 << 20, header: http.Header{"Expect": {"100-continue"}}, want: []outcome{denied},
		},
		{
			name: "100 Continue, then the body is read",
			serve: func(c *appConn, _ int, h appHead) bool {
				if h.expect {
					io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
				}
				c.readBody(h)
				io.WriteString(c, appOK)
				return true
			},
			body: 1 << 20, header: http.Header{"Expect": {"100-continue"}}, want: []outcome{fine},
		},
		{
			// A hang here would be a 504 after the timeout.
			name: "401 early, keeps the socket open without reading",
			serve: func(c *appConn, _ int, h appHead) bool {
				io.WriteString(c, appDeniedKA)
				<-c.stop // never reads the body, never closes
				return false
			},
			body: 9 << 20, want: []outcome{denied},
		},
		{
			// Node's keepAliveTimeout: it says how long, and closes then.
			name: "closes idle connections at T=1s, saying so (T±0.5s)",
			idle: time.Second,
			serve: func(c *appConn, _ int, h appHead) bool {
				c.readBody(h)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok")
				return true
			},
			body: 100, gaps: []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond},
			want: []outcome{fine, fine, fine},
		},
		{
			// Node's 5 s keepAliveTimeout race, shortened: a delivery sent
			// just as the app closes the connection it would reuse.
			name: "closes idle connections at T=1s, saying so, delivery at T",
			idle: time.Second,
			serve: func(c *appConn, _ int, h appHead) bool {
				c.readBody(h)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok")
				return true
			},
			body: 100, gaps: []time.Duration{time.Second},
			want:   []outcome{fine, fine},
			better: "the direct client retires a connection before the app's Keep-Alive: timeout; net/http keeps it to IdleConnTimeout and may send into the app's close (a 502: a POST is not resent)",
		},
		{
			name: "closes idle connections at T=1s, silently (T±0.5s)",
			idle: time.Second,
			serve: func(c *appConn, _ int, h appHead) bool {
				c.readBody(h)
				io.WriteString(c, appOK)
				return true
			},
			body: 100, gaps: []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond},
			want: []outcome{fine, fine, fine},
		},
		{
			name: "answers 50 MB",
			serve: func(c *appConn, _ int, h appHead) bool {
				c.readBody(h)
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", bigAnswer)
				c.Write(bytes.Repeat([]byte("a"), bigAnswer))
				return true
			},
			body:     100,
			want:     []outcome{{Sent: 200, BodyLen: bigAnswer, Times: 1, Outcome: capture.OutcomeOK, Stored: 200, Trunc: true}},
			wantBody: func(b []byte) bool { return len(b) == bigAnswer && bytes.Count(b, []byte("a")) == bigAnswer },
		},
		{
			name: "answers chunked",
			serve: func(c *appConn, _ int, h appHead) bool {
				c.readBody(h)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
				return true
			},
			body:     100,
			want:     []outcome{{Sent: 200, BodyLen: 7, Times: 1, Outcome: capture.OutcomeOK, Stored: 200}},
			wantBody: func(b []byte) bool { return string(b) == "abcdefg" },
		},
		{
			name: "answers 204",
			serve: func(c *appConn, _ int, h appHead) bool {
				c.readBody(h)
				io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
				return true
			},
			body: 100, want: []outcome{{Sent: 204, Times: 1, Outcome: capture.OutcomeOK, Stored: 204}},
		},
		{
			name: "answers 304",
			serve: func(c *appConn, _ int, h appHead) bool {
				c.readBody(h)
				io.WriteString(c, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
				return true
			},
			body: 100, want: []outcome{{Sent: 304, Times: 1, Outcome: capture.OutcomeAppError, Stored: 304}},
		},
		{
			// Python's http.server: HTTP/1.0, the body ends at the close.
			name: "answers HTTP/1.0 without a length",
			serve: func(c *appConn, _ int, h appHead) bool {
				c.readBody(h)
				io.WriteString(c, "HTTP/1.0 200 OK\r\nServer: BaseHTTP/0.6 Python/3.12\r\n\r\nto the end")
				return false
			},
			body:     100,
			want:     []outcome{{Sent: 200, BodyLen: 10, Times: 1, Outcome: capture.OutcomeOK, Stored: 200}},
			wantBody: func(b []byte) bool { return string(b) == "to the end" },
		},
		{
			name: "resets mid-body",
			serve: func(c *appConn, _ int, h appHead) bool {
				c.readBody(h)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
				time.Sleep(200 * time.Millisecond) // let the header go first
				c.reset()
				return false
			},
			body:    100,
			want:    []outcome{{Sent: 502, Times: 1, Outcome: capture.OutcomeFailed, Stored: 200, ErrorSet: true}},
			errText: "connection reset by the app",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [2][]outcome
			for i, client := range []string{"direct", "net/http"} {
				got[i] = runFaithCase(t, tt, client == "net/http")
				if i == 1 && tt.better != "" {
					t.Logf("net/http: %+v (the direct client is better: %s)", got[i], tt.better)
					return
				}
				for j, o := range got[i] {
					w := tt.want[j]
					w.BodySum = o.BodySum
					if o != w {
						t.Errorf("%s, delivery %d: %+v\nwant %+v", client, j, o, w)
					}
				}
			}
			if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
				t.Errorf("the clients differ:\ndirect   %+v\nnet/http %+v", got[0], got[1])
			}
		})
	}
}

func runFaithCase(t *testing.T, tt faithCase, useTransport bool) []outcome {
	t.Helper()
	app, target := newScriptApp(t, tt.idle, tt.serve)
	fo := ForwarderOptions{Target: target, Timeout: 20 * time.Second}
	if useTransport {
		tr := newTransport(nil)
		t.Cleanup(tr.CloseIdleConnections)
		fo.Transport = tr
	}
	fwd := NewForwarder(fo)
	t.Cleanup(fwd.Close)
	rec := &fakeRecorder{log: &eventLog{}}
	var n atomic.Int32
	h := NewHandler(HandlerOptions{
		Token: testToken, Forwarder: fwd, Recorder: rec, MaxBody: 16 << 20,
		NewID: func() string { return fmt.Sprintf("c_%d", n.Add(1)) },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	body := bytes.Repeat([]byte("{"), tt.body)
	var outs []outcome
	for i := 0; i <= len(tt.gaps); i++ {
		if i > 0 {
			time.Sleep(tt.gaps[i-1])
		}
		req, _ := http.NewRequest("POST", srv.URL+h.Path(), bytes.NewReader(body))
		for k, v := range tt.header {
			req.Header[k] = v
		}
		resp, err := plainClient.Do(req)
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("delivery %d: reading the answer: %v", i, err)
		}
		if err := h.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("c_%d", i+1)
		rec.mu.Lock()
		c := rec.finished[id]
		rec.mu.Unlock()
		sum := sha256.Sum256(b)
		o := outcome{Sent: resp.StatusCode, BodyLen: len(b), BodySum: fmt.Sprintf("%x", sum[:6]), Times: app.times(id),
			Outcome: c.Outcome(), Stored: c.Status, Trunc: c.Flags.Has(capture.FlagTruncated), ErrorSet: c.Error != ""}
		if o.Sent >= 500 {
			o.BodyLen, o.BodySum = 0, "" // our own text, which names the port
		}
		outs = append(outs, o)
		if tt.wantBody != nil && i == len(tt.gaps) && !tt.wantBody(b) {
			t.Errorf("the sender got %d bytes starting %q", len(b), b[:min(len(b), 40)])
		}
		if tt.errText != "" && i == len(tt.gaps) && !strings.Contains(c.Error, tt.errText) {
			t.Errorf("stored error %q, want it to say %q", c.Error, tt.errText)
		}
		if tt.want[i].Trunc && len(c.RespBody) != MaxResponseBody {
			t.Errorf("stored %d bytes of the answer, want %d", len(c.RespBody), MaxResponseBody)
		}
	}
	return outs
}

// TestPassLongAnswerPastTimeout: the rest of a long answer, beyond the
// stored part, is bounded by each wait for the app, not by the forward's
// timeout. A sender that reads it after the timeout has passed still gets
// it whole (a fixed deadline cut 50 MB answers under load), and an app
// that stops sending mid-answer is still cut off, not waited for forever.
func TestPassLongAnswerPastTimeout(t *testing.T) {
	// As generous as the side-by-side table: the stored part (10 MiB)
	// must be read within it even on a loaded machine under -race.
	const timeout = 20 * time.Second
	const restLen = 48 << 10 // fits in the socket buffers: sent before the timeout
	for _, client := range []string{"direct", "net/http"} {
		for _, stall := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stall=%v", client, stall), func(t *testing.T) {
				t.Parallel()
				_, target := newScriptApp(t, 0, func(c *appConn, _ int, h appHead) bool {
					c.readBody(h)
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", MaxResponseBody+restLen)
					c.Write(bytes.Repeat([]byte("a"), MaxResponseBody))
					if stall {
						c.Write([]byte("b")) // and nothing more
						<-c.stop
						return false
					}
					c.Write(bytes.Repeat([]byte("b"), restLen))
					return true
				})
				fo := ForwarderOptions{Target: target, Timeout: timeout}
				if client == "net/http" {
					tr := newTransport(nil)
					t.Cleanup(tr.CloseIdleConnections)
					fo.Transport = tr
				}
				fwd := NewForwarder(fo)
				t.Cleanup(fwd.Close)
				start := time.Now()
				res := fwd.forward(context.Background(), Request{Body: []byte("{}")}, true)
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				if res.rest == nil {
					t.Fatalf("no rest to pass on; truncated %v, %d bytes", res.Truncated, len(res.Body))
				}
				defer res.rest.Close()
				if !stall {
					// A slow sender: it reads the rest after the timeout.
					time.Sleep(time.Until(start.Add(timeout + 500*time.Millisecond)))
				}
				type read struct {
					b   []byte
					err error
				}
				done := make(chan read, 1)
				go func() {
					b, err := io.ReadAll(res.rest)
					done <- read{b, err}
				}()
				var got read
				select {
				case got = <-done:
				case <-time.After(3 * timeout):
					t.Fatal("reading the rest of an answer the app stopped sending did not end")
				}
				if stall {
					if got.err == nil {
						t.Errorf("the app stopped mid-answer, yet the rest read whole (%d bytes)", len(got.b))
					}
					return
				}
				if got.err != nil {
					t.Fatalf("reading the rest after %d bytes: %v", len(got.b), got.err)
				}
				if want := bytes.Repeat([]byte("b"), restLen); !bytes.Equal(got.b, want) {
					t.Errorf("the rest is %d bytes, want %d of b", len(got.b), len(want))
				}
			})
		}
	}
}
