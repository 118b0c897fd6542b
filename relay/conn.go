package relay

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omega-listen/omega-listen/relay/wire"
)

// clientConn is one listener's websocket.
type clientConn struct {
	s  *Server
	sl *slot
	c  *wire.Conn

	mu       sync.Mutex
	pending  map[uint64]chan *wire.Response // live deliveries awaiting their answer
	nextLive uint64
	refused  bool          // the listener answered a queued delivery "not taken": stop draining
	window   chan struct{} // one token per queued delivery sent and not answered
	stop     chan struct{} // closed when refused
}

// connect authenticates a client and upgrades it. Every refusal happens
// before the upgrade, with a status and a sentence.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") != "" {
		text(w, http.StatusForbidden, "websocket upgrades from browser origins are refused\n")
		s.log.Warn("connect refused", "remote", r.RemoteAddr, "reason", "origin")
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get(wire.AuthHeader), "Bearer ")
	if !ok || tok == "" {
		text(w, http.StatusUnauthorized, "no token: send Authorization: Bearer <token>\n")
		s.log.Warn("connect refused", "remote", r.RemoteAddr, "reason", "no token")
		return
	}
	sl := s.byToken(tok)
	if sl == nil {
		text(w, http.StatusUnauthorized, "the relay does not accept this token\n")
		s.log.Warn("connect refused", "remote", r.RemoteAddr, "reason", "wrong token")
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		w.Header().Set("Retry-After", "5")
		text(w, http.StatusServiceUnavailable, "the relay is shutting down\n")
		return
	}
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered already
	}
	cc := &clientConn{s: s, sl: sl, pending: map[uint64]chan *wire.Response{},
		window: make(chan struct{}, s.o.DrainWindow), stop: make(chan struct{})}
	cc.c = wire.NewConn(ws, wire.ConnOptions{
		ReadLimit:  s.o.MaxBody + 1<<20,
		PingPeriod: s.o.PingPeriod, PongWait: s.o.PongWait, WriteWait: s.o.WriteWait,
		OnFrame: cc.onFrame,
	})
	if sl.q != nil {
		if epoch, id, ok := parseResume(r.Header.Get(wire.ResumeHeader)); ok && epoch == sl.q.epoch {
			_ = sl.q.ack(id)
		}
	}
	// Hello goes first: nothing else is sent before the slot knows cc.
	hello := &wire.Hello{Name: sl.name, PublicURL: s.PublicURL(sl.name)}
	if sl.q != nil {
		hello.Epoch = sl.q.epoch
		hello.Queued = uint64(sl.q.len())
	}
	_ = cc.c.Send(context.Background(), wire.EncodeHello(nil, hello))
	sl.mu.Lock()
	old := sl.conn
	sl.conn = cc
	sl.mu.Unlock()
	if old != nil {
		old.c.Close(wire.CodeReplaced, "replaced by a newer connection for "+sl.name)
		s.log.Info("replaced", "name", sl.name, "remote", r.RemoteAddr)
	}
	s.log.Info("connected", "name", sl.name, "remote", r.RemoteAddr, "queued", hello.Queued)
	go func() {
		if sl.q != nil {
			cc.drain()
		}
		<-cc.c.Done()
		sl.mu.Lock()
		if sl.conn == cc {
			sl.conn = nil
		}
		sl.mu.Unlock()
		s.log.Info("disconnected", "name", sl.name, "remote", r.RemoteAddr, "why", fmt.Sprint(cc.c.Err()))
	}()
}

// byToken finds the slot whose token is tok, comparing against every one
// in constant time.
func (s *Server) byToken(tok string) *slot {
	// Hashes have one length, so the comparison tells nothing of the
	// tokens' lengths either.
	h := sha256.Sum256([]byte(tok))
	var found *slot
	for _, sl := range s.slots {
		if subtle.ConstantTimeCompare(h[:], sl.tokenHash[:]) == 1 {
			found = sl
		}
	}
	return found
}

func parseResume(h string) (epoch string, id uint64, ok bool) {
	epoch, n, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || epoch == "" {
		return "", 0, false
	}
	id, err := strconv.ParseUint(n, 10, 64)
	return epoch, id, err == nil
}

func (cc *clientConn) onFrame(b []byte) error {
	v, err := wire.Decode(b)
	if err != nil {
		return err
	}
	res, ok := v.(*wire.Response)
	if !ok {
		return fmt.Errorf("%w: a client sends only responses", wire.ErrMalformed)
	}
	if res.Queued {
		cc.mu.Lock()
		if !res.Taken && !cc.refused {
			cc.refused = true
			close(cc.stop)
		}
		refused := cc.refused
		cc.mu.Unlock()
		select {
		case <-cc.window:
		default:
		}
		if !refused {
			if err := cc.sl.q.ack(res.ID); err != nil {
				cc.s.log.Error("queue", "name", cc.sl.name, "err", err)
			}
			cc.s.log.Info("delivery", "name", cc.sl.name, "mode", "drained", "id", res.ID, "status", res.Status)
		}
		return nil
	}
	cc.mu.Lock()
	ch := cc.pending[res.ID]
	delete(cc.pending, res.ID)
	cc.mu.Unlock()
	if ch != nil {
		ch <- res // buffered: the waiter may have given up
	}
	return nil
}

// errNotSent: the connection ended before the delivery was handed to it,
// so the listener cannot have seen it.
var errNotSent = errors.New("the listener's connection closed before the delivery was sent")

// deliverLive sends d and waits for the listener's answer.
func (cc *clientConn) deliverLive(ctx context.Context, d *wire.Deliver) (*wire.Response, error) {
	ch := make(chan *wire.Response, 1)
	cc.mu.Lock()
	cc.nextLive++
	d.ID = cc.nextLive
	cc.pending[d.ID] = ch
	cc.mu.Unlock()
	defer func() {
		cc.mu.Lock()
		delete(cc.pending, d.ID)
		cc.mu.Unlock()
	}()
	if err := cc.c.Send(ctx, wire.EncodeDeliver(nil, d)); err != nil {
		if ctx.Err() == nil {
			return nil, errNotSent
		}
		return nil, err
	}
	select {
	case res := <-ch:
		return res, nil
	case <-cc.c.Done():
		return nil, errors.New("the listener's connection closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// drain sends the queue in order, at most DrainWindow ahead of the
// answers, until the connection ends or the listener refuses one.
func (cc *clientConn) drain() {
	q := cc.sl.q
	var sent uint64 // the last ID sent on this connection
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-cc.c.Done():
		case <-cc.stop:
		}
		cancel()
	}()
	// A kick can go to a replaced connection's drainer on its way out:
	// the ticker bounds how long that can hold the queue up.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		es := q.after(sent, cc.s.o.DrainWindow)
		if len(es) == 0 {
			select {
			case <-cc.sl.kick:
			case <-tick.C:
			case <-ctx.Done():
				return
			}
			continue
		}
		for _, e := range es {
			select {
			case cc.window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			d, err := q.read(e)
			if errors.Is(err, errAcked) {
				<-cc.window
				sent = e.id
				continue
			}
			if err != nil {
				cc.s.log.Error("queue", "name", cc.sl.name, "err", err)
				cc.c.Close(websocket.CloseInternalServerErr, "the relay could not read its queue")
				return
			}
			if err := cc.c.Send(ctx, wire.EncodeDeliver(nil, d)); err != nil {
				return
			}
			sent = e.id
		}
	}
}
