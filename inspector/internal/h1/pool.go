package h1

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// maxHeaderBytes is http.Transport's default limit on an answer's
	// header block, 1xx answers before it included.
	maxHeaderBytes = 10 << 20
	// connReadBuffer is the per-connection read buffer: enough for the
	// answer's header block. Bodies bigger than it bypass it.
	connReadBuffer = 4 << 10
	// sweepEvery is how often idle connections are looked at: those past
	// their idle time are closed, and those the app closed are released
	// (a socket the peer closed sits in CLOSE-WAIT until we close it).
	sweepEvery = 250 * time.Millisecond
	// maxIdleTime bounds what an app's Keep-Alive: timeout=N may ask for.
	maxIdleTime = 90 * time.Second
)

// aLongTimeAgo is a deadline that makes pending I/O return at once.
var aLongTimeAgo = time.Unix(1, 0)

// pconn is one keep-alive connection to the app.
type pconn struct {
	conn    net.Conn
	raw     syscall.RawConn // for the liveness check; nil if the conn has none
	cr      connReader
	br      *bufio.Reader
	addr    string
	reused  bool          // it served an earlier request
	idleAt  time.Time     // when it went back to the pool
	idleFor time.Duration // how long it may stay idle (the app's hint, or the cap)
	stop    func() bool   // stops the ctx watcher of the current forward
	probe   func(uintptr) bool
	peer    peerState
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

// connPool keeps idle connections per host:port, newest last.
type connPool struct {
	max     int
	idleCap time.Duration

	mu    sync.Mutex
	idle  map[string][]*pconn
	count int
	timer *time.Timer // runs sweep while connections are idle; nil if none are
}

func newConnPool(max int, idleCap time.Duration) *connPool {
	return &connPool{max: max, idleCap: idleCap, idle: make(map[string][]*pconn)}
}

// get returns the newest idle connection to addr, or nil.
func (p *connPool) get(addr string) *pconn {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for {
		list := p.idle[addr]
		if len(list) == 0 {
			return nil
		}
		pc := list[len(list)-1]
		list[len(list)-1] = nil
		p.idle[addr] = list[:len(list)-1]
		p.count--
		if now.Sub(pc.idleAt) < pc.idleFor {
			return pc
		}
		// Past its time and the sweep has not run yet: the app may be
		// closing it now.
		pc.conn.Close()
	}
}

// put makes pc idle for at most idleFor. Over the bound, the oldest idle
// connection to the same address makes way, as with http.Transport.
func (p *connPool) put(pc *pconn, idleFor time.Duration) {
	pc.idleAt = time.Now()
	pc.idleFor = idleFor
	pc.reused = true
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[pc.addr]
	if p.count >= p.max {
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
		p.timer = time.AfterFunc(sweepEvery, p.sweep)
	}
}

// sweep closes the idle connections past their time or closed by the app,
// and comes back while any are left. Those idle for less than a sweep are
// not probed: under load they are about to be used, and get probes them.
func (p *connPool) sweep() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer == nil {
		return // closeIdle ran
	}
	now := time.Now()
	for addr, list := range p.idle {
		kept := list[:0]
		for _, pc := range list {
			idle := now.Sub(pc.idleAt)
			if idle >= pc.idleFor || (idle >= sweepEvery && !pc.alive()) {
				pc.conn.Close()
				p.count--
				continue
			}
			kept = append(kept, pc)
		}
		clear(list[len(kept):])
		if len(kept) == 0 {
			delete(p.idle, addr)
			continue
		}
		p.idle[addr] = kept
	}
	if p.count == 0 {
		p.timer = nil
		return
	}
	p.timer.Reset(sweepEvery)
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

// idleCount is the number of idle connections.
func (p *connPool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

func dial(ctx context.Context, addr string, timeout time.Duration, deadline time.Time) (*pconn, error) {
	d := net.Dialer{Timeout: timeout, Deadline: deadline, KeepAlive: 30 * time.Second}
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

// idleFor is how long a connection may stay idle after resp: a little less
// than the app's Keep-Alive: timeout=N, so it is retired before the app
// closes it (a request crossing the app's close would be lost, and is
// never resent), or the cap when the app says nothing.
func idleFor(resp *http.Response, cap time.Duration) time.Duration {
	v, ok := resp.Header["Keep-Alive"]
	if !ok {
		return cap
	}
	for _, s := range v {
		for s != "" {
			var param string
			param, s, _ = strings.Cut(s, ",")
			k, val, _ := strings.Cut(strings.TrimSpace(param), "=")
			if !strings.EqualFold(strings.TrimSpace(k), "timeout") {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`))
			if err != nil || n < 0 {
				return cap
			}
			hint := maxIdleTime
			if n < int(maxIdleTime/time.Second) { // no overflow from a huge N
				hint = time.Duration(n) * time.Second
			}
			// A second before the app's limit, or half of a short one.
			return hint - min(time.Second, hint/2)
		}
	}
	return cap
}
