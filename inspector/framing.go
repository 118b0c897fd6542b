package inspector

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// GuardFraming wraps l so that the Handler can refuse a request whose
// framing is ambiguous: one with both Content-Length and Transfer-Encoding,
// the classic request smuggling shape. net/http frames such a request by
// Transfer-Encoding and drops its Content-Length before any handler runs,
// so only the bytes on the connection tell it apart from a plain chunked
// request. Serve the listener with http.Server.ConnContext set to
// FramingContext, or the Handler never learns what the guard saw.
//
// The guard reads along with the server, never ahead of it: it sees each
// request head as the server reads it, skips Content-Length bodies, and
// stops looking after a request with Transfer-Encoding (the Handler closes
// the connection after that one).
func GuardFraming(l net.Listener) net.Listener { return &framingListener{l} }

// FramingContext is the http.Server.ConnContext that hands what
// GuardFraming sees on c to the Handler.
func FramingContext(ctx context.Context, c net.Conn) context.Context {
	if g, ok := c.(*framingConn); ok {
		return context.WithValue(ctx, framingKey{}, g)
	}
	return ctx
}

type framingKey struct{}

type framingListener struct{ net.Listener }

func (l *framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

// framingConn watches the request heads that pass through Read.
type framingConn struct {
	net.Conn
	mu sync.Mutex
	sn headSniffer
	// served counts the requests the Handler has seen on this connection,
	// so it can tell whether the current one is the ambiguous one (the
	// guard may have read further ahead, into pipelined requests).
	served atomic.Int64
}

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.sn.feed(p[:n])
		c.mu.Unlock()
	}
	return n, err
}

// ambiguous counts this request (call once per request, in order) and
// reports whether it is the one with both Content-Length and
// Transfer-Encoding.
func (c *framingConn) ambiguous() bool {
	n := c.served.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sn.conflictAt == n
}

// ambiguousFraming reports whether r's connection guard saw both
// Content-Length and Transfer-Encoding on this request. Without a guard it
// reports false.
func ambiguousFraming(ctx context.Context) bool {
	g, ok := ctx.Value(framingKey{}).(*framingConn)
	return ok && g.ambiguous()
}

// maxSniffedHead bounds what the sniffer holds of one head; the server
// refuses bigger heads itself (431), so there is nothing to learn beyond.
const maxSniffedHead = 1 << 20

// headSniffer follows the request heads of an HTTP/1.x byte stream.
type headSniffer struct {
	buf        []byte // the current head, until its blank line
	skip       int64  // body bytes still to pass over
	heads      int64  // heads seen
	conflictAt int64  // the head (1-based) with both framings, 0 if none
	done       bool   // nothing more to learn on this connection
}

var headEnd = []byte("\r\n\r\n")

func (s *headSniffer) feed(p []byte) {
	for len(p) > 0 && !s.done {
		if s.skip > 0 {
			n := int64(len(p))
			if n > s.skip {
				n = s.skip
			}
			s.skip -= n
			p = p[n:]
			continue
		}
		// Look for the end of the head in what we hold plus p; the end
		// can straddle the two.
		from := max(0, len(s.buf)-3)
		s.buf = append(s.buf, p...)
		i := bytes.Index(s.buf[from:], headEnd)
		if i < 0 {
			if len(s.buf) > maxSniffedHead {
				s.done = true
			}
			return
		}
		end := from + i
		rest := s.buf[end+len(headEnd):]
		s.head(s.buf[:end])
		// What followed the head is body or the next head: go round again
		// with it (a copy: s.buf is reused).
		p = append([]byte(nil), rest...)
		s.buf = s.buf[:0]
	}
}

// head reads one request head's framing headers.
func (s *headSniffer) head(h []byte) {
	s.heads++
	var cl []byte
	hasCL, hasTE := false, false
	lines := bytes.Split(h, []byte("\n"))
	for _, line := range lines[1:] { // the request line first
		line = bytes.TrimSuffix(line, []byte("\r"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch {
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")):
			hasCL, cl = true, bytes.TrimSpace(value)
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Transfer-Encoding")):
			hasTE = true
		}
	}
	switch {
	case hasTE && hasCL:
		s.conflictAt = s.heads
		s.done = true
	case hasTE:
		s.done = true // the connection closes after this request
	case hasCL:
		n, err := strconv.ParseInt(string(cl), 10, 64)
		if err != nil || n < 0 {
			s.done = true // the server refuses it and closes
			return
		}
		s.skip = n
	}
}
