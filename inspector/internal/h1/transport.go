// Package h1 is the direct HTTP/1.1 client the inspector forwards with: an
// http.RoundTripper for plain http:// apps that writes the request itself
// and parses the answer on the calling goroutine. http.Transport hands
// every request to two goroutines per connection (writeLoop, readLoop)
// over channels; under load those handoffs cost more CPU than the forward.
//
// It keeps net/http's promises where they matter to a webhook:
//
//   - Never twice. A request is resent only when none of it was written
//     (net/http's "nothing written" rule). Once a byte has gone out, a
//     connection the app closes or resets without answering is an error
//     (NoAnswerError), never a second delivery.
//   - The app's answer wins. A body that does not go out in one small
//     write is written by a goroutine while the caller reads the answer,
//     so an app that answers early (401, 413) and then closes, resets or
//     stops reading is heard. Expect: 100-continue holds the body back
//     until the app says 100, answers, or ExpectContinueTimeout passes.
//   - Idle connections are retired before the app closes them (its
//     Keep-Alive: timeout=N, else IdleTimeout) and released as soon as it
//     does (a sweep probes them), so none pile up in CLOSE-WAIT.
//
// Requests it does not send itself (https, CONNECT, bodies of unknown
// length, hosts that are not ASCII) go to Options.Fallback.
package h1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options configure a Transport.
type Options struct {
	// Fallback sends the requests the direct client does not. Without
	// one they fail.
	Fallback http.RoundTripper
	// DialTimeout bounds connecting; default 5s (the app is local).
	DialTimeout time.Duration
	// IdleTimeout is how long a connection may stay idle when the app's
	// answer gives no Keep-Alive: timeout; default 2s, under the 5s many
	// servers close at (Node, uvicorn) and at gunicorn's 2s.
	IdleTimeout time.Duration
	// ExpectContinueTimeout is how long a request with Expect:
	// 100-continue waits for the app's 100 before sending its body
	// anyway; default 1s.
	ExpectContinueTimeout time.Duration
	// MaxIdleConns bounds the idle connections kept; default 256.
	MaxIdleConns int
}

// Transport is the direct client. It is safe for concurrent use.
type Transport struct {
	o    Options
	pool *connPool
	last atomic.Pointer[cachedTarget]
}

// cachedTarget is the last target worked out, by URL pointer: the
// Forwarder passes the same *url.URL for every delivery.
type cachedTarget struct {
	u    *url.URL
	host string
	t    rawTarget
	ok   bool
}

// New returns a Transport.
func New(o Options) *Transport {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Second
	}
	if o.ExpectContinueTimeout <= 0 {
		o.ExpectContinueTimeout = time.Second
	}
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = 256
	}
	return &Transport{o: o, pool: newConnPool(o.MaxIdleConns, o.IdleTimeout)}
}

// CloseIdleConnections closes the idle connections, its own and the
// Fallback's. Like http.Transport's, it does not stop later requests.
func (t *Transport) CloseIdleConnections() {
	t.pool.closeIdle()
	if c, ok := t.o.Fallback.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// IdleConns is the number of idle connections of the direct client.
func (t *Transport) IdleConns() int { return t.pool.idleCount() }

// NoAnswerError is a request the app may have received, whose connection
// it closed or reset without a byte of answer: it crashed, threw, or
// destroyed the socket. It is not resent.
type NoAnswerError struct{ Err error }

func (e *NoAnswerError) Error() string {
	return "the app closed the connection without answering"
}

func (e *NoAnswerError) Unwrap() error { return e.Err }

// nothingWritten is a failure before any byte of the request was written:
// the one case where sending it again cannot make it twice.
type nothingWritten struct{ err error }

func (e nothingWritten) Error() string { return e.err.Error() }
func (e nothingWritten) Unwrap() error { return e.err }

// Shared, read-only requests for http.ReadResponse, which only looks at
// the method: a HEAD answer has no body whatever its Content-Length.
var (
	headRequest  = &http.Request{Method: http.MethodHead}
	otherRequest = &http.Request{Method: http.MethodPost}
)

// Body is a request body in memory. The direct client writes its bytes
// without copying; any other body of known length is read first.
type Body struct {
	b []byte
	r bytes.Reader
}

// NewBody returns b as a request body.
func NewBody(b []byte) *Body {
	body := &Body{b: b}
	body.r.Reset(b)
	return body
}

func (b *Body) Read(p []byte) (int, error)         { return b.r.Read(p) }
func (b *Body) WriteTo(w io.Writer) (int64, error) { return b.r.WriteTo(w) }
func (b *Body) Close() error                       { return nil }

// bodyBytes is req's body as bytes, or false when its length is unknown.
func bodyBytes(req *http.Request) ([]byte, bool, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, true, nil
	}
	if b, ok := req.Body.(*Body); ok {
		return b.b, true, nil
	}
	if req.ContentLength < 0 || (req.ContentLength == 0 && req.Body != nil) {
		return nil, false, nil
	}
	b := make([]byte, req.ContentLength)
	_, err := io.ReadFull(req.Body, b)
	req.Body.Close()
	return b, true, err
}

func (t *Transport) target(req *http.Request) (rawTarget, bool) {
	if c := t.last.Load(); c != nil && c.u == req.URL && c.host == req.Host {
		return c.t, c.ok
	}
	rt, ok := newRawTarget(req.URL, req.Host)
	t.last.Store(&cachedTarget{u: req.URL, host: req.Host, t: rt, ok: ok})
	return rt, ok
}

// RoundTrip sends req and returns the app's answer, whose body must be
// read to its end (or closed) for the connection to be used again.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt, ok := t.target(req)
	if !ok || !rawMethod(req.Method) || (req.ContentLength < 0 && req.Body != nil && req.Body != http.NoBody) {
		return t.fallback(req)
	}
	body, ok, err := bodyBytes(req)
	if !ok {
		return t.fallback(req)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	ctx := req.Context()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	deadline, _ := ctx.Deadline()

	rb := reqBufPool.Get().(*reqBuf)
	defer rb.free()
	if err := writeRequestHead(rb, req.Method, &rt, req.Header, len(body)); err != nil {
		return nil, err
	}
	x := exchange{
		method:   req.Method,
		expect:   len(body) > 0 && hasToken(req.Header["Expect"], "100-continue"),
		close:    req.Close || wantsClose(req.Header),
		head:     rb.b,
		body:     body,
		deadline: deadline,
	}
	if !x.expect && len(body) <= inlineBody {
		x.head = append(x.head, body...)
		rb.b, x.body = x.head, nil
	}

	pc := t.idleConn(rt.addr, deadline)
	for attempt := 0; ; attempt++ {
		if pc == nil {
			if pc, err = dial(ctx, rt.addr, t.o.DialTimeout, deadline); err != nil {
				return nil, mapErr(ctx, deadline, err)
			}
			pc.conn.SetDeadline(deadline)
		}
		resp, err := t.exchange(ctx, pc, &x)
		if err == nil {
			return resp, nil
		}
		var nw nothingWritten
		if errors.As(err, &nw) && pc.reused && attempt == 0 && ctx.Err() == nil && !isTimeout(nw.err) {
			// The app had closed the connection and not a byte went out:
			// the one failure it is safe to try again, on a new one.
			pc = nil
			continue
		}
		return nil, mapErr(ctx, deadline, err)
	}
}

func (t *Transport) fallback(req *http.Request) (*http.Response, error) {
	if t.o.Fallback == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("h1: cannot send %s %s", req.Method, req.URL.Redacted())
	}
	ctx := req.Context()
	d, ok := ctx.Deadline()
	if !ok || ctx.Done() != nil {
		return t.o.Fallback.RoundTrip(req)
	}
	// A deadline without Done (see DeadlineContext) is enforced here by
	// connection deadlines; the Fallback needs a context that ends.
	ctx, cancel := WithDeadline(ctx, d)
	resp, err := t.o.Fallback.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{resp.Body, cancel, ctx}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
	ctx    context.Context
}

// SetReadDeadline moves the deadline of the rest of the answer, as
// body.SetReadDeadline does.
func (b *cancelBody) SetReadDeadline(t time.Time) error {
	if !SetDeadline(b.ctx, t) {
		return os.ErrDeadlineExceeded
	}
	return nil
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// DeadlineContext is parent with a deadline that the Transport enforces
// with connection deadlines instead of a timer, for a parent that is
// never canceled (Done is nil): it spares a timer and a watcher per
// request. Err stays nil after the deadline; the request's errors say
// context.DeadlineExceeded. For any other parent it is
// context.WithDeadline.
func DeadlineContext(parent context.Context, d time.Time) (context.Context, context.CancelFunc) {
	if parent.Done() != nil {
		return WithDeadline(parent, d)
	}
	if pd, ok := parent.Deadline(); ok && pd.Before(d) {
		d = pd
	}
	return deadlineCtx{parent, d}, func() {}
}

type deadlineCtx struct {
	context.Context
	d time.Time
}

func (c deadlineCtx) Deadline() (time.Time, bool) { return c.d, true }

// WithDeadline is context.WithDeadline with a deadline SetDeadline can
// move: the forward's timeout bounds waiting for the app, and once a long
// answer is being passed on, each wait for more of it, not the whole copy.
func WithDeadline(parent context.Context, d time.Time) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	m := &movableCtx{Context: ctx, cancel: cancel}
	m.set(d)
	return m, func() {
		m.set(time.Time{})
		cancel(context.Canceled)
	}
}

// SetDeadline moves the deadline of a context from WithDeadline or
// DeadlineContext to t; the zero t means none. It reports false when
// the context cannot move: it is of another kind, or already done.
func SetDeadline(ctx context.Context, t time.Time) bool {
	m, ok := ctx.(*movableCtx)
	return ok && m.set(t)
}

type movableCtx struct {
	context.Context // canceled with context.DeadlineExceeded when d passes
	cancel          context.CancelCauseFunc

	mu    sync.Mutex
	d     time.Time
	timer *time.Timer
}

func (m *movableCtx) set(d time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Context.Err() != nil {
		return false
	}
	m.d = d
	if m.timer != nil {
		m.timer.Stop()
	}
	if d.IsZero() {
		return true
	}
	if m.timer == nil {
		m.timer = time.AfterFunc(time.Until(d), func() { m.cancel(context.DeadlineExceeded) })
	} else {
		m.timer.Reset(time.Until(d))
	}
	return true
}

func (m *movableCtx) Deadline() (time.Time, bool) {
	m.mu.Lock()
	d := m.d
	m.mu.Unlock()
	if pd, ok := m.Context.Deadline(); ok && (d.IsZero() || pd.Before(d)) {
		return pd, true
	}
	return d, !d.IsZero()
}

// Err is context.DeadlineExceeded once the deadline passed, as with
// context.WithDeadline.
func (m *movableCtx) Err() error {
	err := m.Context.Err()
	if err != nil && context.Cause(m.Context) == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return err
}

// idleConn is a pooled connection that still looks alive, or nil.
func (t *Transport) idleConn(addr string, deadline time.Time) *pconn {
	for {
		pc := t.pool.get(addr)
		if pc == nil {
			return nil
		}
		if pc.conn.SetDeadline(deadline) == nil && pc.alive() {
			return pc
		}
		pc.conn.Close()
	}
}

// exchange is one request on one connection.
type exchange struct {
	method   string
	expect   bool // Expect: 100-continue
	close    bool // the request asks for the connection to close
	head     []byte
	body     []byte // nil when the head holds it
	deadline time.Time
}

// syncWrite is the most written on the calling goroutine before reading:
// a request this small goes into the socket buffers of a fresh or idle
// local connection at once, whatever the app does.
const syncWrite = 16 << 10

// writer is the goroutine writing a big body while the answer is read.
type writer struct {
	done  chan error   // its result, once
	cont  chan bool    // Expect: 100-continue: true sends the body, false not
	n     atomic.Int64 // bytes written
	ended atomic.Bool  // done was received
	err   error        // what done carried
	wg    sync.WaitGroup
}

// exchange writes the request on pc and reads up to the final answer's
// header block. On error pc is closed; the error is a nothingWritten when
// no byte of the request went out.
func (t *Transport) exchange(ctx context.Context, pc *pconn, x *exchange) (*http.Response, error) {
	if ctx.Done() != nil {
		conn := pc.conn
		pc.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	}
	pc.cr.limit, pc.cr.n = maxHeaderBytes, 0

	var w *writer
	var writeErr error
	if !x.expect && x.body == nil && len(x.head) <= syncWrite {
		// The head holds the body (see inlineBody).
		n, err := pc.conn.Write(x.head)
		if err != nil && n == 0 {
			pc.close()
			return nil, nothingWritten{err}
		}
		// A partial write still reads on: the app may have answered
		// before it went away.
		writeErr = err
	} else {
		w = t.startWriter(pc, *x)
	}

	resp, err := t.readAnswer(pc, x, w)
	if err != nil {
		pc.close()
		if w != nil {
			w.wait()
			if w.n.Load() == 0 && w.err != nil {
				return nil, nothingWritten{w.err}
			}
		}
		if closedConn(err) && pc.cr.n == 0 {
			werr := writeErr
			if werr == nil && w != nil {
				werr = w.err
			}
			if werr == nil {
				werr = err
			}
			return nil, &NoAnswerError{werr}
		}
		return nil, err
	}
	// The request is done with pc only once its writing ended well; an
	// answer that came first leaves the connection unusable.
	reusable := writeErr == nil && !x.close
	b := &body{t: t, pc: pc, rc: resp.Body, resp: resp, w: w, ctx: ctx, deadline: x.deadline, reusable: reusable}
	if resp.Body == http.NoBody {
		// 204, 304, an answer to HEAD: done with the header.
		b.release(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// startWriter writes x on pc in a goroutine of its own, from a copy of x.
// The head is copied too: its pooled buffer goes back when RoundTrip
// returns, and the writer may still be at work then (an early answer).
func (t *Transport) startWriter(pc *pconn, x exchange) *writer {
	x.head = bytes.Clone(x.head)
	w := &writer{done: make(chan error, 1)}
	if x.expect {
		w.cont = make(chan bool, 1)
	}
	w.wg.Add(1)
	cont := w.cont // the goroutine's own copy: readAnswer clears w.cont
	go func() {
		defer w.wg.Done()
		w.done <- w.write(pc.conn, &x, cont, t.o.ExpectContinueTimeout)
	}()
	return w
}

func (w *writer) write(conn net.Conn, x *exchange, cont <-chan bool, expectTimeout time.Duration) error {
	n, err := conn.Write(x.head)
	w.n.Add(int64(n))
	if err != nil || len(x.body) == 0 {
		return err
	}
	if cont != nil {
		timer := time.NewTimer(expectTimeout)
		defer timer.Stop()
		select {
		case ok := <-cont:
			if !ok {
				return errBodyNotSent
			}
		case <-timer.C:
		}
	}
	n, err = conn.Write(x.body)
	w.n.Add(int64(n))
	return err
}

// errBodyNotSent: the app answered before its 100 Continue, so the body
// was not sent (and the connection is not kept).
var errBodyNotSent = errors.New("the app answered before the body was sent")

// wait waits for the writer to end; the caller has closed the connection
// or seen it finish.
func (w *writer) wait() {
	if !w.ended.Load() {
		w.err = <-w.done
		w.ended.Store(true)
	}
	w.wg.Wait()
}

// finished reports, without waiting, whether the writer wrote everything.
func (w *writer) finished() bool {
	if !w.ended.Load() {
		select {
		case w.err = <-w.done:
			w.ended.Store(true)
		default:
			return false
		}
	}
	return w.err == nil
}

// readAnswer reads up to the final answer's header block, passing 1xx
// answers over (a 100 lets the body go).
func (t *Transport) readAnswer(pc *pconn, x *exchange, w *writer) (*http.Response, error) {
	req := otherRequest
	if x.method == http.MethodHead {
		req = headRequest
	}
	for {
		resp, err := http.ReadResponse(pc.br, req)
		if err != nil {
			var ne net.Error
			switch {
			case pc.cr.limit <= 0:
				err = fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", maxHeaderBytes)
			case pc.cr.n == 0 || closedConn(err) || errors.As(err, &ne):
			default:
				err = &badAnswerError{err}
			}
			return nil, err
		}
		// 1xx answers other than 101 precede the real one; net/http skips
		// them the same way, within one header limit.
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != http.StatusSwitchingProtocols {
			if resp.StatusCode == http.StatusContinue && w != nil && w.cont != nil {
				w.cont <- true
				w.cont = nil
			}
			continue
		}
		if w != nil && w.cont != nil {
			// A final answer before 100 Continue: the body is not sent,
			// and the connection closes after this answer.
			w.cont <- false
			w.cont = nil
		}
		pc.cr.limit = math.MaxInt64
		return resp, nil
	}
}

// body is an answer's body on its connection: read to the end, it gives
// the connection back to the pool.
type body struct {
	t        *Transport
	pc       *pconn
	rc       io.ReadCloser
	resp     *http.Response
	w        *writer
	ctx      context.Context
	deadline time.Time
	reusable bool
	done     bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.release(true)
	case err != nil:
		b.release(false)
		err = mapErr(b.ctx, b.deadline, err)
	}
	return n, err
}

// SetReadDeadline moves the deadline of the reads of the rest of the
// answer to t (zero: none), on the connection and on the request's
// context if it has a movable one. The Forwarder uses it to pass a long
// answer on: the app must keep sending, but the whole copy may take as
// long as the sender takes.
func (b *body) SetReadDeadline(t time.Time) error {
	if b.done {
		return nil // the connection is no longer this answer's
	}
	b.deadline = t
	SetDeadline(b.ctx, t)
	return b.pc.conn.SetReadDeadline(t)
}

func (b *body) Close() error {
	if !b.done {
		// Not read to its end: the rest would be taken for the next
		// answer, so the connection goes.
		b.release(false)
	}
	return nil
}

// release ends the exchange: the connection goes back to the pool if the
// whole request was written, the whole answer read, and both sides allow
// another request; it is closed otherwise.
func (b *body) release(eof bool) {
	b.done = true
	pc, resp := b.pc, b.resp
	reusable := eof && b.reusable
	if pc.stop != nil {
		if !pc.stop() {
			reusable = false // the ctx watcher ran: the deadline is in the past
		}
		pc.stop = nil
	}
	if b.w != nil && !b.w.finished() {
		reusable = false
	}
	reusable = reusable && !resp.Close && resp.ProtoAtLeast(1, 1) &&
		resp.StatusCode >= 200 && pc.br.Buffered() == 0
	if reusable {
		b.t.pool.put(pc, idleFor(resp, b.t.o.IdleTimeout))
		return
	}
	pc.conn.Close()
	if b.w != nil {
		b.w.wait()
	}
}

// badAnswerError is an answer http.ReadResponse could not parse. Its text
// says so, and keeps only the start of the offending line, which may be
// anything the app sent.
type badAnswerError struct{ err error }

func (e *badAnswerError) Error() string {
	const max = 200
	s := e.err.Error()
	if len(s) > max {
		s = s[:max] + "…"
	}
	return "the app's answer is not valid HTTP/1.x: " + s
}

func (e *badAnswerError) Unwrap() error { return e.err }

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// closedConn reports whether err is the app closing or resetting the
// connection.
func closedConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// mapErr turns a direct-client error into what http.Transport returns: the
// context's cause once it is done, and context.DeadlineExceeded when the
// request's own deadline passed.
func mapErr(ctx context.Context, deadline time.Time, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if isTimeout(err) && !deadline.IsZero() && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return err
}
