// Package relay is `omega-listen relay serve`: a public HTTP server that
// relays deliveries POSTed to /c/<name>/… over a websocket to the listener
// connected as <name>, and holds them in a durable per-name queue while
// that listener is away.
//
// A delivery goes live when the name's listener is connected and its queue
// is empty: the sender waits and gets the listener's (the app's) answer,
// or 502 if the listener goes away mid-delivery. Otherwise (with Offline
// "queue") it is appended to the queue, fsynced, and answered 202; queued
// deliveries drain to the listener in order when it connects, and each
// leaves the queue only once the listener answered it, that is recorded it.
package relay

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omega-listen/omega-listen/relay/wire"
)

// Offline modes: what happens to a delivery for a name whose listener is
// not connected.
const (
	OfflineQueue  = "queue"
	OfflineReject = "reject"
)

// Options configure a Server. PublicURL, Tokens and (with OfflineQueue)
// Dir are required.
type Options struct {
	PublicURL string            // base URL the world reaches the relay at, no trailing slash
	Tokens    map[string]string // client name → token
	Dir       string            // where queues live: Dir/<name>/
	Offline   string            // OfflineQueue (default) or OfflineReject

	MaxBody     int64         // largest delivery body; default 10 MiB
	MaxInFlight int           // live deliveries per name at once; default 64
	LiveTimeout time.Duration // how long a live delivery waits for the listener; default 90s

	QueueMaxCount int           // default 100 000
	QueueMaxBytes int64         // body bytes; default 1 GiB
	QueueMaxAge   time.Duration // default 7 days
	DrainWindow   int           // queued deliveries sent ahead of their answers; default 32

	PingPeriod time.Duration // default 20s
	PongWait   time.Duration // default 3×PingPeriod
	WriteWait  time.Duration // default 10s

	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default time.Now
}

// Server is the relay. It is an http.Handler.
type Server struct {
	o     Options
	log   *slog.Logger
	slots map[string]*slot
	up    websocket.Upgrader
	lim   limits

	mu     sync.Mutex
	closed bool
}

// slot is one client name: its queue and its one live connection.
type slot struct {
	name, token string
	tokenHash   [32]byte
	q           *queue // nil with OfflineReject
	kick        chan struct{}
	inflight    atomic.Int64

	mu   sync.Mutex
	conn *clientConn
}

// New opens every name's queue and returns the relay.
func New(o Options) (*Server, error) {
	if o.PublicURL == "" {
		return nil, errors.New("relay: a public URL is required")
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if len(o.Tokens) == 0 {
		return nil, errors.New("relay: no client tokens")
	}
	if o.Offline == "" {
		o.Offline = OfflineQueue
	}
	if o.Offline != OfflineQueue && o.Offline != OfflineReject {
		return nil, fmt.Errorf("relay: offline mode %q: want %s or %s", o.Offline, OfflineQueue, OfflineReject)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 10 << 20
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.LiveTimeout <= 0 {
		o.LiveTimeout = 90 * time.Second
	}
	if o.QueueMaxCount <= 0 {
		o.QueueMaxCount = 100_000
	}
	if o.QueueMaxBytes <= 0 {
		o.QueueMaxBytes = 1 << 30
	}
	if o.QueueMaxAge <= 0 {
		o.QueueMaxAge = 7 * 24 * time.Hour
	}
	if o.DrainWindow <= 0 {
		o.DrainWindow = 32
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o, log: o.Logger, slots: map[string]*slot{},
		lim: limits{count: o.QueueMaxCount, bytes: o.QueueMaxBytes, age: o.QueueMaxAge}}
	s.up = websocket.Upgrader{
		ReadBufferSize:  64 << 10,
		WriteBufferSize: 64 << 10,
		// Clients are command-line programs: a browser's page has no
		// business opening this socket, and a missing token already stops
		// anyone else.
		CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "" },
	}
	for name, tok := range o.Tokens {
		if err := ValidName(name); err != nil {
			s.Close()
			return nil, err
		}
		if len(tok) < MinTokenLen {
			s.Close()
			return nil, fmt.Errorf("relay: the token of %q is shorter than %d characters", name, MinTokenLen)
		}
		sl := &slot{name: name, token: tok, tokenHash: sha256.Sum256([]byte(tok)), kick: make(chan struct{}, 1)}
		if o.Offline == OfflineQueue {
			if o.Dir == "" {
				s.Close()
				return nil, errors.New("relay: a queue directory is required to queue deliveries")
			}
			q, err := openQueue(filepath.Join(o.Dir, name))
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("relay: the queue of %q: %w", name, err)
			}
			sl.q = q
			if n := q.len(); n > 0 {
				s.log.Info("queue opened", "name", name, "queued", n)
			}
		}
		s.slots[name] = sl
	}
	return s, nil
}

// Close tells every client the relay is going away and closes the queues.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, sl := range s.slots {
		sl.mu.Lock()
		c := sl.conn
		sl.mu.Unlock()
		if c != nil {
			wg.Go(func() { c.c.Close(websocket.CloseGoingAway, "the relay is shutting down") })
		}
	}
	wg.Wait()
	for _, sl := range s.slots {
		if sl.q != nil {
			sl.q.close()
		}
	}
}

// PublicURL is the base URL of name's deliveries.
func (s *Server) PublicURL(name string) string { return s.o.PublicURL + "/c/" + name }

// Queued is how many deliveries wait for name.
func (s *Server) Queued(name string) int {
	sl := s.slots[name]
	if sl == nil || sl.q == nil {
		return 0
	}
	return sl.q.len()
}

// Connected reports whether name's listener is connected.
func (s *Server) Connected(name string) bool {
	sl := s.slots[name]
	if sl == nil {
		return false
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.conn != nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/healthz":
		s.health(w, r)
	case p == wire.ConnectPath:
		s.connect(w, r)
	case strings.HasPrefix(p, "/c/"):
		s.deliver(w, r)
	default:
		text(w, http.StatusNotFound, "not found: deliveries go to /c/<name>/…\n")
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	connected, queued := 0, 0
	for _, sl := range s.slots {
		sl.mu.Lock()
		if sl.conn != nil {
			connected++
		}
		sl.mu.Unlock()
		if sl.q != nil {
			queued += sl.q.len()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "names": len(s.slots), "connected": connected, "queued": queued})
}

// Headers the client adds for the listener: a sender must not forge them.
const clientHeaderPrefix = "Omega-Listen-Relay-"

func (s *Server) deliver(w http.ResponseWriter, r *http.Request) {
	start := s.o.Now()
	raw := r.RequestURI
	if !strings.HasPrefix(raw, "/") {
		raw = r.URL.RequestURI() // absolute-form
	}
	rest := strings.TrimPrefix(raw, "/c/")
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	name, target := rest[:end], rest[end:]
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	sl := s.slots[name]
	if sl == nil {
		text(w, http.StatusNotFound, "not found: no client is called "+strconv.Quote(name)+" on this relay\n")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		text(w, http.StatusMethodNotAllowed, "method not allowed; deliveries are POSTed\n")
		return
	}
	if r.ContentLength > s.o.MaxBody {
		w.Header().Set("Connection", "close")
		text(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large (limit %d bytes)\n", s.o.MaxBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			text(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large (limit %d bytes)\n", s.o.MaxBody))
			return
		}
		text(w, http.StatusBadRequest, "could not read the request body\n")
		return
	}
	d := &wire.Deliver{AcceptedAt: start, Method: r.Method, Target: target, Host: r.Host, RemoteAddr: r.RemoteAddr, Body: body}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		if !strings.HasPrefix(k, clientHeaderPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			d.Header = append(d.Header, wire.Header{Name: k, Value: v})
		}
	}

	sl.mu.Lock()
	conn := sl.conn
	sl.mu.Unlock()
	if conn != nil && (sl.q == nil || sl.q.len() == 0) {
		if s.live(w, r, sl, conn, d) {
			return
		}
		// The listener never saw it (it was going away): queue it.
	}
	if sl.q == nil {
		w.Header().Set("Retry-After", "30")
		text(w, http.StatusServiceUnavailable, "the listener for "+name+" is not connected; try again later\n")
		s.log.Info("delivery", "name", name, "mode", "rejected", "status", 503, "reason", "offline")
		return
	}
	id, ahead, err := sl.q.append(d, s.lim, start)
	if err != nil {
		w.Header().Set("Retry-After", "60")
		var fe *fullError
		if errors.As(err, &fe) {
			text(w, http.StatusServiceUnavailable, "not queued: the listener for "+name+" is away and "+fe.reason+"\n")
		} else {
			text(w, http.StatusServiceUnavailable, "not queued: the relay could not store the delivery\n")
		}
		s.log.Warn("delivery", "name", name, "mode", "refused", "status", 503, "err", err)
		return
	}
	select {
	case sl.kick <- struct{}{}:
	default:
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"queued":  true,
		"name":    name,
		"id":      id,
		"ahead":   ahead,
		"message": "the listener for " + name + " is away: the relay stored this delivery and delivers it when the listener is back",
	})
	s.log.Info("delivery", "name", name, "mode", "queued", "id", id, "status", 202, "bytes", len(body))
}

// live sends d to the connected listener and answers with its answer. It
// returns false, having answered nothing, when the listener certainly did
// not see d and the relay can queue it instead.
func (s *Server) live(w http.ResponseWriter, r *http.Request, sl *slot, conn *clientConn, d *wire.Deliver) bool {
	if n := sl.inflight.Add(1); n > int64(s.o.MaxInFlight) {
		sl.inflight.Add(-1)
		w.Header().Set("Retry-After", "1")
		text(w, http.StatusServiceUnavailable, fmt.Sprintf("too many deliveries in flight for %s (limit %d); try again\n", sl.name, s.o.MaxInFlight))
		s.log.Warn("delivery", "name", sl.name, "mode", "refused", "status", 503, "reason", "in flight")
		return true
	}
	defer sl.inflight.Add(-1)
	ctx, cancel := context.WithTimeout(r.Context(), s.o.LiveTimeout)
	defer cancel()
	res, err := conn.deliverLive(ctx, d)
	switch {
	case err == nil && res.Taken:
		writeResponse(w, res)
		s.log.Info("delivery", "name", sl.name, "mode", "live", "status", res.Status, "bytes", len(d.Body), "duration", s.o.Now().Sub(d.AcceptedAt))
		return true
	case (err == nil || errors.Is(err, errNotSent)) && sl.q != nil:
		return false
	case errors.Is(err, context.DeadlineExceeded):
		text(w, http.StatusGatewayTimeout, "omega-relay: the listener did not answer in time\n")
	case err == nil:
		text(w, http.StatusBadGateway, "omega-relay: the listener did not take the delivery\n")
	default:
		text(w, http.StatusBadGateway, "omega-relay: the listener went away before answering\n")
	}
	s.log.Warn("delivery", "name", sl.name, "mode", "live", "status", "failed", "err", err)
	return true
}

// writeResponse passes the listener's answer on as it came.
func writeResponse(w http.ResponseWriter, res *wire.Response) {
	h := w.Header()
	for _, kv := range res.Header {
		switch http.CanonicalHeaderKey(kv.Name) {
		case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Trailer", "Upgrade":
			continue
		}
		h[http.CanonicalHeaderKey(kv.Name)] = append(h[http.CanonicalHeaderKey(kv.Name)], kv.Value)
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = nil
	}
	status := res.Status
	if status < 100 || status > 999 {
		status = http.StatusBadGateway
	}
	if status >= 200 && status != 204 && status != 304 {
		h["Content-Length"] = []string{strconv.Itoa(len(res.Body))}
	}
	w.WriteHeader(status)
	if len(res.Body) > 0 {
		_, _ = w.Write(res.Body)
	}
}

func text(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}
