package tunnel

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omega-listen/omega-listen/relay/wire"
)

// ProviderRelay is the self-hosted relay (`omega-listen relay serve`).
const ProviderRelay = "relay"

// QueuedAtHeader marks a delivery the relay held in its queue while the
// listener was away: when the relay accepted it (RFC 3339, nanoseconds).
// The receiver takes it out of the request before recording and
// forwarding; the relay removes it from what senders send.
const QueuedAtHeader = "Omega-Listen-Relay-Queued-At"

// RelayOptions configure the relay provider. URL and Token are required.
type RelayOptions struct {
	URL   string // the relay: wss://host, https://host (or ws/http for a local one)
	Token string // the client token, or "name:token" as `relay token` prints it
	// ListenAddr is a local listener served beside the relay (default
	// DefaultListenAddr): the receiver's own URL, for `trigger`.
	ListenAddr string
	// StateDir keeps which queued deliveries were recorded, so that one
	// whose answer was lost with a connection is not delivered twice, even
	// across runs. Empty: remembered for this run only.
	StateDir string
	Logger   *slog.Logger

	MaxBody       int64         // largest delivery accepted from the relay; default 10 MiB
	AnswerTimeout time.Duration // how long the receiver may take to answer; default 5 min

	PingPeriod  time.Duration // default 20s
	PongWait    time.Duration // default 3×PingPeriod
	WriteWait   time.Duration // default 10s
	MinBackoff  time.Duration // first reconnect wait; default 500ms
	MaxBackoff  time.Duration // default 30s
	StableAfter time.Duration // a connection this old resets the backoff; default 30s
	// JumpCheck is how often the wall clock is compared with the monotonic
	// one (default 2s); a wall clock ahead by more than JumpThreshold
	// (default 5s) means the machine slept, and the connection is renewed
	// at once.
	JumpCheck     time.Duration
	JumpThreshold time.Duration
	Clock         Clock // default: the system's
	// TLSConfig for wss:// (default: the system's roots).
	TLSConfig *tls.Config
	// HoldQueued keeps queued deliveries back until Release is called:
	// the listener releases them once its presenters are listening, so the
	// first ones drained are shown like the rest.
	HoldQueued bool
}

// Releaser is a tunnel that holds deliveries back until released (the
// relay's, with HoldQueued).
type Releaser interface{ Release() }

// Clock reads the wall clock and a monotonic one. Tests inject one that
// jumps.
type Clock interface {
	Wall() time.Time
	Mono() time.Duration
}

type sysClock struct{ start time.Time }

func (c sysClock) Wall() time.Time     { return time.Now().Round(0) }
func (c sysClock) Mono() time.Duration { return time.Since(c.start) }

// ErrNoRelayToken is returned by DialRelay when no token was given.
var ErrNoRelayToken = errors.New("no relay token (the relay's operator makes one with `omega-listen relay token NAME`)")

// ErrRelayURLCredentials is wrapped by RelayWebsocketURL's error for a URL
// that carries a user, query or fragment: the token travels in a header.
var ErrRelayURLCredentials = errors.New("must not carry a user, query or fragment (the token is sent apart from the URL)")

// RelayUnreachableError is a relay that could not be reached at all.
type RelayUnreachableError struct {
	URL string
	Err error
}

func (e *RelayUnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the relay at %s: %v", e.URL, e.Err)
}

func (e *RelayUnreachableError) Unwrap() error { return e.Err }

// RelayRejectedError: the relay will not take this client (wrong token, or
// another listener took the name). Retrying cannot help.
type RelayRejectedError struct {
	Reason   string
	Replaced bool // another listener connected with the same token
}

func (e *RelayRejectedError) Error() string { return "the relay rejected this listener: " + e.Reason }

type relayTunnel struct {
	o      RelayOptions
	log    *slog.Logger
	wsURL  string
	token  string
	local  net.Listener
	feed   *statusFeed
	dialer *websocket.Dialer
	clock  Clock

	conns    chan net.Conn
	done     chan struct{}
	jump     chan struct{}
	released chan struct{}
	release  sync.Once
	// kill cuts the exchanges still running when Close has waited for
	// them long enough.
	kill      chan struct{}
	exchanges atomic.Int64

	mu       sync.Mutex
	url      string // public base URL, from the relay's hello
	name     string
	stopErr  error // why Accept fails: the relay rejected us
	stopped  chan struct{}
	queuedMu sync.Mutex // held while a queued delivery is handed over, until recorded
	begunMu  sync.Mutex
	begun    map[string]chan struct{} // "epoch/id" → closed when the receiver recorded it
	markPath string
	markF    *os.File // opened at the first mark
	mark     relayMark

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// relayMark: every queued delivery of Epoch up to ID is recorded.
type relayMark struct {
	Epoch string
	ID    uint64
}

// DialRelay connects to the relay and returns the tunnel once the relay
// has said which public URL is ours. A refused token fails here, at once;
// an unreachable relay too (the first connection must work).
func DialRelay(ctx context.Context, o RelayOptions) (Tunnel, error) {
	ws, err := RelayWebsocketURL(o.URL)
	if err != nil {
		return nil, err
	}
	tok := strings.TrimSpace(o.Token)
	if _, t, ok := strings.Cut(tok, ":"); ok {
		tok = t
	}
	if tok == "" {
		return nil, ErrNoRelayToken
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 10 << 20
	}
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = 5 * time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.StableAfter <= 0 {
		o.StableAfter = 30 * time.Second
	}
	if o.JumpCheck <= 0 {
		o.JumpCheck = 2 * time.Second
	}
	if o.JumpThreshold <= 0 {
		o.JumpThreshold = 5 * time.Second
	}
	if o.Clock == nil {
		o.Clock = sysClock{start: time.Now()}
	}
	t := &relayTunnel{o: o, log: o.Logger, wsURL: ws, token: tok, feed: newStatusFeed(), clock: o.Clock,
		conns: make(chan net.Conn), done: make(chan struct{}), jump: make(chan struct{}, 1), stopped: make(chan struct{}),
		released: make(chan struct{}), kill: make(chan struct{}), begun: map[string]chan struct{}{}}
	if !o.HoldQueued {
		close(t.released)
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	t.dialer = &websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10, Proxy: http.ProxyFromEnvironment, TLSClientConfig: o.TLSConfig}
	if o.StateDir != "" {
		sum := sha256.Sum256([]byte(ws + "\x00" + tok))
		t.markPath = filepath.Join(o.StateDir, "relay-"+hex.EncodeToString(sum[:8])+".mark")
		t.mark = readMark(t.markPath)
	}
	addr, err := normaliseListenAddr(o.ListenAddr)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	if t.local, err = lc.Listen(ctx, "tcp", addr); err != nil {
		return nil, listenError(addr, err)
	}
	s, err := t.dial(ctx)
	if err != nil {
		_ = t.local.Close()
		return nil, err
	}
	t.feed.send(Status{State: Connected, URL: t.url, At: time.Now()})
	t.wg.Go(t.acceptLocal)
	t.wg.Go(t.watchClock)
	t.wg.Go(func() { t.run(s) })
	return t, nil
}

// RelayWebsocketURL turns the relay's URL as users give it (wss://, https://,
// ws:// or http://, with or without a path) into the websocket's URL.
func RelayWebsocketURL(s string) (string, error) {
	const hint = "give the relay's URL, e.g. wss://hooks.example.com"
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("relay URL %q is not a URL; %s", s, hint)
	}
	switch strings.ToLower(u.Scheme) {
	case "wss", "https":
		u.Scheme = "wss"
	case "ws", "http":
		u.Scheme = "ws"
	default:
		return "", fmt.Errorf("relay URL %q must start with wss:// or https:// (ws:// or http:// for a relay on this machine); %s", s, hint)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("relay URL %q %w", s, ErrRelayURLCredentials)
	}
	u.Path = strings.TrimRight(u.Path, "/") + wire.ConnectPath
	u.RawPath = ""
	return u.String(), nil
}

// session is one live websocket to the relay.
type session struct {
	c       *wire.Conn
	epoch   string
	queued  chan *wire.Deliver // served one at a time, in order
	started time.Time
	mu      sync.Mutex
	refused bool // a queued delivery was not taken: every later one is refused too
}

// dial opens a websocket, reads the hello and starts the session's
// workers.
func (t *relayTunnel) dial(ctx context.Context) (*session, error) {
	h := http.Header{}
	h.Set(wire.AuthHeader, "Bearer "+t.token)
	t.mu.Lock()
	if t.mark.Epoch != "" {
		h.Set(wire.ResumeHeader, t.mark.Epoch+" "+strconv.FormatUint(t.mark.ID, 10))
	}
	t.mu.Unlock()
	ws, resp, err := t.dialer.DialContext(ctx, t.wsURL, h)
	if err != nil {
		if resp != nil {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			text := strings.TrimSpace(string(msg))
			if text == "" {
				text = resp.Status
			}
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
				return nil, &RelayRejectedError{Reason: text}
			}
			return nil, fmt.Errorf("the relay at %s refused the connection: %s", t.o.URL, text)
		}
		return nil, &RelayUnreachableError{URL: t.o.URL, Err: err}
	}
	s := &session{queued: make(chan *wire.Deliver, 256), started: time.Now()}
	hello := make(chan *wire.Hello, 1)
	var gotHello bool
	s.c = wire.NewConn(ws, wire.ConnOptions{
		ReadLimit:  t.o.MaxBody + 1<<20,
		PingPeriod: t.o.PingPeriod, PongWait: t.o.PongWait, WriteWait: t.o.WriteWait,
		OnFrame: func(b []byte) error {
			v, err := wire.Decode(b)
			if err != nil {
				return err
			}
			switch f := v.(type) {
			case *wire.Hello:
				if gotHello {
					return fmt.Errorf("%w: a second hello", wire.ErrMalformed)
				}
				gotHello = true
				hello <- f
			case *wire.Deliver:
				if !gotHello {
					return fmt.Errorf("%w: a delivery before the hello", wire.ErrMalformed)
				}
				if f.Queued {
					select {
					case s.queued <- f:
					default:
						return errors.New("the relay sent more queued deliveries than it may")
					}
				} else {
					go t.deliver(s, f)
				}
			default:
				return fmt.Errorf("%w: a relay sends no %T", wire.ErrMalformed, v)
			}
			return nil
		},
	})
	select {
	case hi := <-hello:
		if _, err := ValidatePublicURL(hi.PublicURL); err != nil {
			s.c.Close(websocket.CloseProtocolError, "bad hello")
			return nil, fmt.Errorf("the relay at %s sent an unusable public URL: %w", t.o.URL, err)
		}
		if len(hi.Epoch) <= 32 && validToken(hi.Epoch) {
			s.epoch = hi.Epoch // else: no mark kept, a lost answer means a redelivery
		}
		t.mu.Lock()
		t.url, t.name = hi.PublicURL, hi.Name
		t.mu.Unlock()
		t.log.Info("relay connected", "name", hi.Name, "url", hi.PublicURL, "queued", hi.Queued)
	case <-s.c.Done():
		if rej := closeRejection(s.c.Err()); rej != nil {
			return nil, rej
		}
		return nil, fmt.Errorf("the relay at %s closed the connection before saying hello: %v", t.o.URL, s.c.Err())
	case <-time.After(15 * time.Second):
		s.c.Abort()
		return nil, fmt.Errorf("the relay at %s did not say hello within 15s", t.o.URL)
	case <-ctx.Done():
		s.c.Abort()
		return nil, ctx.Err()
	}
	t.wg.Go(func() { t.serveQueued(s) })
	return s, nil
}

// closeRejection turns the relay's close frames that forbid a reconnect
// into a RelayRejectedError.
func closeRejection(err error) *RelayRejectedError {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case wire.CodeReplaced:
			return &RelayRejectedError{Reason: ce.Text + " (another listener connected with this token)", Replaced: true}
		case wire.CodeRejected:
			return &RelayRejectedError{Reason: ce.Text}
		}
	}
	return nil
}

// run keeps the tunnel connected: when a session ends it reconnects with
// jittered exponential backoff, reset once a connection proved stable,
// and at once after the machine slept.
func (t *relayTunnel) run(s *session) {
	backoff := t.o.MinBackoff
	for {
		var why error
		select {
		case <-s.c.Done():
			why = s.c.Err()
		case <-t.jump:
			why = errors.New("the clock jumped: this machine slept")
			s.c.Abort()
			backoff = 0
		case <-t.kill:
			s.c.Close(websocket.CloseNormalClosure, "listener closing")
			<-s.c.Done()
			close(s.queued)
			return
		}
		<-s.c.Done() // the reader is gone: nothing more is queued
		close(s.queued)
		if rej := closeRejection(why); rej != nil {
			t.stop(rej)
			return
		}
		if backoff > 0 && time.Since(s.started) >= t.o.StableAfter {
			backoff = t.o.MinBackoff
		}
		for {
			wait := jitter(backoff)
			t.mu.Lock()
			u := t.url
			t.mu.Unlock()
			t.feed.send(Status{State: Disconnected, URL: u, Err: fmt.Errorf("%v; reconnecting in %s", why, wait.Round(100*time.Millisecond)), At: time.Now()})
			t.log.Info("relay disconnected", "why", fmt.Sprint(why), "retry_in", wait)
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-t.jump:
				timer.Stop()
			case <-t.done:
				timer.Stop()
				return
			}
			backoff = min(max(backoff*2, t.o.MinBackoff), t.o.MaxBackoff)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-t.done:
					cancel()
				case <-ctx.Done():
				}
			}()
			ns, err := t.dial(ctx)
			cancel()
			if err == nil {
				s = ns
				t.mu.Lock()
				u = t.url
				t.mu.Unlock()
				t.feed.send(Status{State: Reconnected, URL: u, At: time.Now()})
				break
			}
			var rej *RelayRejectedError
			if errors.As(err, &rej) {
				t.stop(rej)
				return
			}
			select {
			case <-t.done:
				return
			default:
			}
			why = err
			if u := errors.Unwrap(err); u != nil {
				why = u // the cause, without the advice meant for startup
			}
		}
	}
}

// jitter spreads d over [d/2, d) so that listeners cut off together do
// not come back together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// stop ends the tunnel for good because the relay will not have us.
func (t *relayTunnel) stop(err *RelayRejectedError) {
	t.log.Error("relay", "err", err)
	t.mu.Lock()
	t.stopErr = err
	u := t.url
	t.mu.Unlock()
	t.feed.send(Status{State: Disconnected, URL: u, Err: err, At: time.Now()})
	close(t.stopped)
}

// watchClock notices the wall clock running ahead of the monotonic one,
// which is what a machine that slept sees when it wakes.
func (t *relayTunnel) watchClock() {
	tick := time.NewTicker(t.o.JumpCheck)
	defer tick.Stop()
	w0, m0 := t.clock.Wall(), t.clock.Mono()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
		}
		w, m := t.clock.Wall(), t.clock.Mono()
		if skew := w.Sub(w0) - (m - m0); skew > t.o.JumpThreshold || skew < -t.o.JumpThreshold {
			t.log.Info("clock jump: renewing the relay connection", "skew", skew)
			select {
			case t.jump <- struct{}{}:
			default:
			}
		}
		w0, m0 = w, m
	}
}

func (t *relayTunnel) acceptLocal() {
	for {
		c, err := t.local.Accept()
		if err != nil {
			return
		}
		select {
		case t.conns <- c:
		case <-t.done:
			_ = c.Close()
			return
		}
	}
}

// queuedDepth is how many queued deliveries may be at the receiver at
// once. The next is handed over only once the one before is recorded
// (Begun), so they are recorded in the relay's order.
const queuedDepth = 16

// serveQueued delivers a session's queued deliveries in the order the
// relay sends them (its queue's order): each is handed to the receiver
// once the one before it was recorded. Without Begun calls (a receiver
// that does not report), once the one before it was answered.
func (t *relayTunnel) serveQueued(s *session) {
	select {
	case <-t.released:
	case <-t.done:
	}
	sem := make(chan struct{}, queuedDepth)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for d := range s.queued {
		select {
		case <-s.c.Done():
			continue // its answer could not be sent: the relay sends it again
		default:
		}
		// One queued delivery is handed over at a time, across sessions
		// too: a session that ended mid-delivery has its delivery recorded
		// (and marked) before the next session's worker looks at the mark
		// for the same ID.
		t.queuedMu.Lock()
		t.mu.Lock()
		seen := t.mark.Epoch == s.epoch && d.ID <= t.mark.ID
		t.mu.Unlock()
		s.mu.Lock()
		refused := s.refused
		s.mu.Unlock()
		if seen || refused {
			// seen: recorded on an earlier connection whose answer was lost.
			t.queuedMu.Unlock()
			t.answer(s, &wire.Response{ID: d.ID, Queued: true, Taken: seen, Status: http.StatusOK})
			continue
		}
		key := ""
		begun := make(chan struct{})
		if s.epoch != "" {
			key = s.epoch + "/" + strconv.FormatUint(d.ID, 10)
			t.begunMu.Lock()
			t.begun[key] = begun
			t.begunMu.Unlock()
		}
		sem <- struct{}{}
		done := make(chan struct{})
		inflight.Go(func() {
			defer func() { <-sem }()
			res := t.exchange(d, key)
			if key != "" {
				t.begunMu.Lock()
				delete(t.begun, key)
				t.begunMu.Unlock()
			}
			if res.Taken {
				t.setMark(relayMark{Epoch: s.epoch, ID: d.ID})
			} else {
				s.mu.Lock()
				s.refused = true
				s.mu.Unlock()
			}
			close(done)
			t.answer(s, res)
		})
		select {
		case <-begun:
		case <-done:
		}
		t.queuedMu.Unlock()
	}
}

// Begun tells the tunnel that the receiver recorded a queued delivery: v
// is its QueuedAtHeader. The next queued delivery can go.
func (t *relayTunnel) Begun(v string) {
	_, key, ok := strings.Cut(v, "; id=")
	if !ok {
		return
	}
	t.begunMu.Lock()
	ch := t.begun[key]
	delete(t.begun, key)
	t.begunMu.Unlock()
	if ch == nil {
		return
	}
	close(ch)
	// Recorded: a redelivery of it (its answer lost with the connection)
	// is recognised from now on.
	epoch, n, _ := strings.Cut(key, "/")
	if id, err := strconv.ParseUint(n, 10, 64); err == nil {
		t.setMark(relayMark{Epoch: epoch, ID: id})
	}
}

func (t *relayTunnel) deliver(s *session, d *wire.Deliver) {
	t.answer(s, t.exchange(d, ""))
}

func (t *relayTunnel) answer(s *session, res *wire.Response) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = s.c.Send(ctx, wire.EncodeResponse(nil, res))
}

func (t *relayTunnel) setMark(m relayMark) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m.Epoch == t.mark.Epoch && m.ID <= t.mark.ID {
		return // queued deliveries are recorded in order but answered in any
	}
	t.mark = m
	if t.markPath == "" {
		return
	}
	// Overwritten in place at a fixed width (truncating costs a flush on
	// ext4), and not synced: it must survive this process, which the page
	// cache does; after a power cut the relay redelivers at worst.
	var err error
	if t.markF == nil {
		if t.markF, err = os.OpenFile(t.markPath, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
			t.log.Warn("relay mark", "err", err)
			t.markPath = ""
			return
		}
	}
	line := m.Epoch + " " + strconv.FormatUint(m.ID, 10)
	if len(line) < markWidth {
		line += strings.Repeat(" ", markWidth-len(line))
	}
	if _, err := t.markF.WriteAt([]byte(line+"\n"), 0); err != nil {
		t.log.Warn("relay mark", "err", err)
	}
}

const markWidth = 63

func readMark(p string) relayMark {
	b, err := os.ReadFile(p)
	if err != nil {
		return relayMark{}
	}
	e, n, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	id, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil {
		return relayMark{}
	}
	return relayMark{Epoch: e, ID: id}
}

// exchange hands d to the receiver as one HTTP/1.1 connection carrying its
// raw request, and returns the receiver's answer. Taken is false when the
// receiver never answered.
func (t *relayTunnel) exchange(d *wire.Deliver, key string) *wire.Response {
	res := &wire.Response{ID: d.ID, Queued: d.Queued}
	raw, err := rawRequest(d, key)
	if err != nil {
		t.log.Warn("relay delivery refused", "err", err)
		res.Taken, res.Status = true, http.StatusBadRequest
		res.Body = []byte("omega-listen: " + err.Error() + "\n")
		return res
	}
	ours, theirs := net.Pipe()
	defer ours.Close()
	select {
	case t.conns <- &relayConn{Conn: theirs, remote: relayAddr(d.RemoteAddr)}:
	case <-t.done:
		_ = theirs.Close()
		return res
	}
	// Handed over: Close waits for the answer (it means recorded) before
	// it cuts the exchange.
	t.exchanges.Add(1)
	defer t.exchanges.Add(-1)
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case <-t.kill:
			_ = ours.Close()
		case <-stopWatch:
		}
	}()
	_ = ours.SetDeadline(time.Now().Add(t.o.AnswerTimeout))
	go func() { _, _ = ours.Write(raw) }()
	resp, err := http.ReadResponse(bufio.NewReader(ours), &http.Request{Method: d.Method})
	if err != nil {
		t.log.Warn("relay delivery: no answer from the receiver", "err", err)
		return res
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.log.Warn("relay delivery: reading the receiver's answer", "err", err)
		return res
	}
	res.Taken, res.Status, res.Body = true, resp.StatusCode, body
	for k, vs := range resp.Header {
		for _, v := range vs {
			res.Header = append(res.Header, wire.Header{Name: k, Value: v})
		}
	}
	return res
}

// rawRequest writes d as an HTTP/1.1 request, as the sender sent it to the
// relay (net/http framing aside: it carries a Content-Length).
func rawRequest(d *wire.Deliver, key string) ([]byte, error) {
	if !validToken(d.Method) || d.Target == "" || d.Target[0] != '/' || strings.ContainsAny(d.Target, " \r\n\x00") {
		return nil, fmt.Errorf("the relay sent a malformed request line")
	}
	var b bytes.Buffer
	b.Grow(len(d.Body) + 512)
	b.WriteString(d.Method + " " + d.Target + " HTTP/1.1\r\n")
	if d.Host != "" && !strings.ContainsAny(d.Host, "\r\n\x00") {
		b.WriteString("Host: " + d.Host + "\r\n")
	}
	for _, h := range d.Header {
		switch http.CanonicalHeaderKey(h.Name) {
		case "Host", "Content-Length", "Transfer-Encoding", QueuedAtHeader:
			continue
		}
		if !validToken(h.Name) || strings.ContainsAny(h.Value, "\r\n\x00") {
			return nil, fmt.Errorf("the relay sent a malformed header %q", h.Name)
		}
		b.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	if d.Queued && !d.AcceptedAt.IsZero() {
		b.WriteString(QueuedAtHeader + ": " + d.AcceptedAt.UTC().Format(time.RFC3339Nano))
		if key != "" && !strings.ContainsAny(key, "\r\n;") {
			b.WriteString("; id=" + key) // for Begun
		}
		b.WriteString("\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(d.Body)) + "\r\n\r\n")
	b.Write(d.Body)
	return b.Bytes(), nil
}

// validToken: an RFC 9110 token (a method or a header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// relayConn is one relayed request's connection; its remote address is
// the sender's, as the relay saw it.
type relayConn struct {
	net.Conn
	remote net.Addr
}

func (c *relayConn) RemoteAddr() net.Addr { return c.remote }

type relayAddr string

func (a relayAddr) Network() string { return "relay" }
func (a relayAddr) String() string  { return string(a) }

// Replaced reports whether another listener took this one's name.
func (t *relayTunnel) Replaced() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	var rej *RelayRejectedError
	return errors.As(t.stopErr, &rej) && rej.Replaced
}

// Release lets queued deliveries through (see HoldQueued).
func (t *relayTunnel) Release() { t.release.Do(func() { close(t.released) }) }

// Accept returns the next relayed request's connection, or a local one.
func (t *relayTunnel) Accept() (net.Conn, error) {
	select {
	case c := <-t.conns:
		return c, nil
	case <-t.done:
		return nil, net.ErrClosed
	case <-t.stopped:
		t.mu.Lock()
		defer t.mu.Unlock()
		return nil, t.stopErr
	}
}

// Close stops accepting and the local listener at once, and disconnects
// from the relay (which queues what arrives from then on) once the
// deliveries the receiver took are answered, within 10s: their answers
// must reach the relay, or it delivers them again. http.Server closes its
// listener before it waits for the requests in flight, so Close must not
// wait for them itself.
func (t *relayTunnel) Close() error {
	t.closeOnce.Do(func() {
		close(t.done)
		_ = t.local.Close()
		go func() {
			for wait := time.Now().Add(10 * time.Second); t.exchanges.Load() > 0 && time.Now().Before(wait); {
				time.Sleep(5 * time.Millisecond)
			}
			close(t.kill)
			t.wg.Wait()
			t.mu.Lock()
			if t.markF != nil {
				_ = t.markF.Close()
			}
			t.mu.Unlock()
			t.mu.Lock()
			u := t.url
			t.mu.Unlock()
			t.feed.close(Status{State: Closed, URL: u, At: time.Now()})
		}()
	})
	return nil
}

func (t *relayTunnel) Addr() net.Addr { return t.local.Addr() }
func (t *relayTunnel) PublicURL() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.url
}
func (t *relayTunnel) Status() <-chan Status { return t.feed.ch }
func (t *relayTunnel) Provider() string      { return ProviderRelay }
func (t *relayTunnel) String() string        { return "relay " + t.PublicURL() }
