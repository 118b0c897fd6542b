package inspector

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// The direct client: for a plain http:// app the Forwarder writes the
// request itself and parses the answer with http.ReadResponse on the
// calling goroutine. http.Transport hands every request to two goroutines
// per connection (writeLoop, readLoop) over channels; under load those
// handoffs and their wakeups cost more CPU than the forward itself.

const (
	// maxIdleConns bounds the connections kept open between forwards, as
	// MaxIdleConns did on the Transport.
	maxIdleConns = 256
	// idleConnTimeout closes a connection unused for this long.
	idleConnTimeout = 90 * time.Second
	// maxHeaderBytes is http.Transport's default limit on an answer's
	// header block, 1xx answers before it included.
	maxHeaderBytes = 10 << 20
	// connReadBuffer is the per-connection read buffer: enough for the
	// answer's header block. Bodies bigger than it bypass it.
	connReadBuffer = 4 << 10
)

// aLongTimeAgo is a deadline that makes pending I/O return at once.
var aLongTimeAgo = time.Unix(1, 0)

// Shared, read-only requests for http.ReadResponse, which only looks at
// the method: a HEAD answer has no body whatever its Content-Length.
var (
	headRequest  = &http.Request{Method: http.MethodHead}
	otherRequest = &http.Request{Method: http.MethodPost}
)

// errRetry marks a failure on a reused connection that the app most likely
// closed while it sat idle: the request never reached it, so it is sent
// again on a new connection.
type errRetry struct{ err error }

func (e errRetry) Error() string { return e.err.Error() }
func (e errRetry) Unwrap() error { return e.err }

// pconn is one keep-alive connection to the app.
type pconn struct {
	conn   net.Conn
	raw    syscall.RawConn // for the liveness check; nil if the conn has none
	cr     connReader
	br     *bufio.Reader
	addr   string
	reused bool        // it served an earlier request
	idleAt time.Time   // when it went back to the pool
	stop   func() bool // stops the ctx watcher of the current forward
	probe  func(uintptr) bool
	peer   peerState
}

// connReader counts what an exchange reads and enforces the header limit.
type connReader struct {
	conn  net.Conn
	limit int64 // bytes left before the header limit
	n     int64 // bytes read in this exchange
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.limit <= 0 {
		return 0, fmt.Errorf("read limit of %d bytes exhausted", maxHeaderBytes)
	}
	if int64(len(p)) > r.limit {
		p = p[:r.limit]
	}
	n, err := r.conn.Read(p)
	r.limit -= int64(n)
	r.n += int64(n)
	return n, err
}

// connPool keeps idle connections per host:port, newest last. It is the
// whole of the direct client's state.
type connPool struct {
	mu    sync.Mutex
	idle  map[string][]*pconn
	count int
	timer *time.Timer // sweeps connections idle too long; nil if none wait
}

func newConnPool() *connPool { return &connPool{idle: make(map[string][]*pconn)} }

// get returns the newest idle connection to addr, or nil.
func (p *connPool) get(addr string) *pconn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		list := p.idle[addr]
		if len(list) == 0 {
			return nil
		}
		pc := list[len(list)-1]
		list[len(list)-1] = nil
		p.idle[addr] = list[:len(list)-1]
		p.count--
		if time.Since(pc.idleAt) < idleConnTimeout {
			return pc
		}
		// The sweep has not run yet; the app may have dropped it anyway.
		pc.conn.Close()
	}
}

// put makes pc idle. Over the bound, the oldest idle connection to the
// same address makes way, as with http.Transport.
func (p *connPool) put(pc *pconn) {
	pc.idleAt = time.Now()
	pc.reused = true
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[pc.addr]
	if p.count >= maxIdleConns {
		if len(list) == 0 {
			pc.conn.Close()
			return
		}
		list[0].conn.Close()
		list = append(list[:0], list[1:]...)
		p.count--
	}
	p.idle[pc.addr] = append(list, pc)
	p.count++
	if p.timer == nil {
		p.timer = time.AfterFunc(idleConnTimeout, p.sweep)
	}
}

// sweep closes the connections idle for idleConnTimeout and comes back
// when the next one will be.
func (p *connPool) sweep() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer == nil {
		return // closeIdle ran
	}
	now := time.Now()
	next := time.Duration(0)
	for addr, list := range p.idle {
		i := 0
		for ; i < len(list) && now.Sub(list[i].idleAt) >= idleConnTimeout; i++ {
			list[i].conn.Close()
			list[i] = nil
		}
		p.count -= i
		list = list[i:]
		if len(list) == 0 {
			delete(p.idle, addr)
			continue
		}
		p.idle[addr] = list
		if d := idleConnTimeout - now.Sub(list[0].idleAt); next == 0 || d < next {
			next = d
		}
	}
	if next == 0 {
		p.timer = nil
		return
	}
	p.timer.Reset(next)
}

// closeIdle closes every idle connection. Like
// http.Transport.CloseIdleConnections, connections busy now are kept when
// they finish.
func (p *connPool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, list := range p.idle {
		for _, pc := range list {
			pc.conn.Close()
		}
		delete(p.idle, addr)
	}
	p.count = 0
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

func (p *connPool) dial(ctx context.Context, addr string, deadline time.Time) (*pconn, error) {
	d := net.Dialer{Timeout: dialTimeout, Deadline: deadline, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	pc := &pconn{conn: conn, addr: addr}
	if sc, ok := conn.(syscall.Conn); ok {
		pc.raw, _ = sc.SyscallConn()
	}
	pc.probe = pc.peer.probe
	pc.cr.conn = conn
	pc.br = bufio.NewReaderSize(&pc.cr, connReadBuffer)
	return pc, nil
}

// roundTrip sends the serialised request (head, then body if the head
// does not already hold it) and reads the answer's header block. The
// caller reads the body and then calls release. A stale idle connection
// is skipped; a reused one that fails before any answer byte is replaced
// once by a new one.
func (p *connPool) roundTrip(ctx context.Context, addr string, head, body []byte, method string, deadline time.Time) (*http.Response, *pconn, error) {
	pc := p.get(addr)
	for pc != nil {
		if err := pc.conn.SetDeadline(deadline); err == nil && pc.alive() {
			break
		}
		pc.conn.Close()
		pc = p.get(addr)
	}
	if pc == nil {
		var err error
		if pc, err = p.dial(ctx, addr, deadline); err != nil {
			return nil, nil, err
		}
		pc.conn.SetDeadline(deadline)
	}
	resp, err := pc.exchange(ctx, head, body, method)
	if re, ok := err.(errRetry); ok {
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return nil, nil, re.err
		}
		if pc, err = p.dial(ctx, addr, deadline); err != nil {
			return nil, nil, err
		}
		pc.conn.SetDeadline(deadline)
		resp, err = pc.exchange(ctx, head, body, method)
	}
	if err != nil {
		return nil, nil, err
	}
	return resp, pc, nil
}

// exchange writes the request on pc and reads up to the final answer's
// header block. On error pc is closed. The error is an errRetry when pc
// was reused and the app cannot have seen the request.
func (pc *pconn) exchange(ctx context.Context, head, body []byte, method string) (*http.Response, error) {
	if ctx.Done() != nil {
		conn := pc.conn
		pc.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	}
	fail := func(err error, retry bool) (*http.Response, error) {
		pc.close()
		if retry && pc.reused && !isTimeout(err) {
			return nil, errRetry{err}
		}
		return nil, err
	}

	var err error
	if len(body) == 0 {
		_, err = pc.conn.Write(head)
	} else {
		bufs := net.Buffers{head, body}
		_, err = bufs.WriteTo(pc.conn)
	}
	if err != nil {
		return fail(err, true)
	}

	pc.cr.limit, pc.cr.n = maxHeaderBytes, 0
	if _, err := pc.br.Peek(1); err != nil {
		// Nothing at all came back: on a reused connection that is the
		// app having closed it while idle, before our request arrived.
		closed := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
		return fail(err, closed && pc.cr.n == 0)
	}
	req := otherRequest
	if method == http.MethodHead {
		req = headRequest
	}
	for {
		resp, err := http.ReadResponse(pc.br, req)
		if err != nil {
			var ne net.Error
			switch {
			case pc.cr.limit <= 0:
				err = fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", maxHeaderBytes)
			case !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) && !errors.As(err, &ne):
				err = &badAnswerError{err}
			}
			return fail(err, false)
		}
		// 1xx answers other than 101 precede the real one; net/http skips
		// them the same way, within one header limit.
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		pc.cr.limit = math.MaxInt64
		return resp, nil
	}
}

// release ends a forward on pc: back to the pool if the answer was read
// whole and both sides allow another request, closed otherwise.
func (p *connPool) release(pc *pconn, resp *http.Response, reusable bool) {
	if pc.stop != nil {
		if !pc.stop() {
			// The ctx watcher ran: the deadline is in the past.
			reusable = false
		}
		pc.stop = nil
	}
	reusable = reusable && !resp.Close && resp.ProtoAtLeast(1, 1) &&
		resp.StatusCode >= 200 && resp.Body.Close() == nil && pc.br.Buffered() == 0
	if reusable {
		p.put(pc)
	} else {
		pc.conn.Close()
	}
}

func (pc *pconn) close() {
	if pc.stop != nil {
		pc.stop()
		pc.stop = nil
	}
	pc.conn.Close()
}

// alive reports whether an idle connection still looks usable: the app
// has not closed or reset it, and sent nothing unasked. It costs one
// non-blocking read.
func (pc *pconn) alive() bool {
	if pc.raw == nil {
		return true
	}
	pc.peer = peerState{}
	if err := pc.raw.Read(pc.probe); err != nil {
		return false
	}
	return pc.peer.alive
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

// fastErr turns a direct-client error into what the Transport path would
// have returned: the context's cause once it is done, and
// context.DeadlineExceeded when the forward's own deadline passed.
func fastErr(ctx context.Context, deadline time.Time, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if isTimeout(err) && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return err
}
