// Package web is the local web inspector: an HTTP API over the captures, a
// websocket live feed of the capture bus, and an embedded page that shows
// both. It is a presenter: it reads captures through the funcs it is
// handed (Actions), follows the bus, and is told the listener's state
// (SetInfo, Notice); it never calls the engine.
//
// # Security
//
// The page can replay requests into the user's app, so:
//
//   - every request's Host must be the address it serves, by IP or as
//     localhost (a DNS-rebinding page has another name);
//   - a websocket upgrade or a state-changing request whose Origin is not
//     the page's own is refused;
//   - a state-changing request must carry the per-run token (header
//     X-Omega-Listen-Token) that only the page served here holds;
//   - the page has a strict Content-Security-Policy, no inline script, and
//     renders every value of a capture as text.
//
// # Live feed
//
// GET /api/live is a websocket. The server sends one JSON message per
// event; see liveMsg. A client that falls behind the bus gets one
// {"type":"resync","from_seq":N} and should re-read every capture with
// Seq >= N (GET /api/captures?after=N-1); it never sees a silent gap.
package web

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/feed"
)

// Info is what the page shows about the run: the tunnel, the endpoint,
// where deliveries go. cli fills it; nothing secret belongs in it (the
// webhook URL's token must be redacted by the caller).
type Info struct {
	// Mode is "listen" (a listener is running) or "store" (the page over
	// the store, no listener).
	Mode        string   `json:"mode"`
	Forward     string   `json:"forward,omitempty"`
	WebhookURL  string   `json:"webhook_url,omitempty"`
	PublicURL   string   `json:"public_url,omitempty"`
	EndpointID  string   `json:"endpoint_id,omitempty"`
	Events      []string `json:"events,omitempty"`
	Tunnel      string   `json:"tunnel,omitempty"`
	TunnelState string   `json:"tunnel_state,omitempty"`
	TunnelError string   `json:"tunnel_error,omitempty"`
	Emulated    bool     `json:"emulated,omitempty"`
	SessionID   string   `json:"session_id,omitempty"`
	// ReplayTo is where replays go when not to each capture's own target.
	ReplayTo string `json:"replay_to,omitempty"`
	// KnownTypes are the event types a bare word of a filter may start.
	KnownTypes []string `json:"-"`
}

// Actions are what the page can ask for. List and Get are required.
type Actions struct {
	// List returns summaries (the query's Newest and Limit are set).
	List func(ctx context.Context, q capture.Query) ([]capture.Summary, error)
	// Get returns one whole capture by ID (or unique prefix).
	Get func(ctx context.Context, id string) (*capture.Capture, error)
	// ListFull returns whole captures, for HAR export. Nil: no export.
	ListFull func(ctx context.Context, q capture.Query) ([]*capture.Capture, error)
	// Count counts captures, for the counters. Nil: no counters.
	Count func(ctx context.Context, q capture.Query) (int, error)
	// Replay sends the capture again and returns the new capture. body nil
	// sends the recorded body; header nil the recorded headers. Nil: the
	// page cannot replay.
	Replay func(ctx context.Context, id string, body []byte, header http.Header) (*capture.Capture, error)
	// Curl renders a capture as a curl command. Nil: no curl.
	Curl func(c *capture.Capture) string
}

// Options configure a Server.
type Options struct {
	Actions Actions
	// Subscribe opens a subscription of the listener's stream (captures,
	// tunnel state, notices) with room for buffer capture events. Nil: no
	// live updates (the page still loads).
	Subscribe func(buffer int) *feed.Sub
	// Counted selects the captures the counters count (e.g. this
	// session's); the zero Query counts the whole store.
	Counted capture.Query
	Info    Info
	// Creator names the program in HAR files ("omega-listen/1.2").
	Creator string
	Logger  *slog.Logger

	// pongWait, pingPeriod and liveBuffer replace the defaults, in tests.
	pongWait, pingPeriod time.Duration
	liveBuffer           int
}

// Websocket timing: a write that takes longer than writeWait drops the
// connection; a peer silent (no pong) for pongWait too.
const (
	writeWait  = 10 * time.Second
	pongWait   = 60 * time.Second
	pingPeriod = pongWait * 9 / 10
)

// liveBuffer is how many bus events a connection may have queued before
// it is told to resync.
const liveBuffer = 1024

const (
	// readLimit bounds what a browser may send on the websocket.
	readLimit = 4096
	// maxAPIBody bounds a replay request (an edited body and headers).
	maxAPIBody = 16 << 20
	// TokenHeader carries the per-run token on state-changing requests.
	TokenHeader = "X-Omega-Listen-Token"
)

// Server serves the inspector. Create it with New; serve it with Start
// (or Handler).
type Server struct {
	o                    Options
	token                string
	log                  *slog.Logger
	pongWait, pingPeriod time.Duration
	liveBuffer           int

	mu      sync.Mutex
	info    Info
	conns   map[*liveConn]struct{}
	closed  bool
	counter *counter
	srv     *http.Server
}

// New returns a Server. It panics without Actions.List and Actions.Get:
// that is a mistake in the program.
func New(o Options) *Server {
	if o.Actions.List == nil || o.Actions.Get == nil {
		panic("web.New: Actions.List and Actions.Get are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Creator == "" {
		o.Creator = "omega-listen"
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	s := &Server{o: o, token: base64.RawURLEncoding.EncodeToString(b), log: o.Logger, info: o.Info, conns: map[*liveConn]struct{}{},
		pongWait: cmp.Or(o.pongWait, pongWait), pingPeriod: cmp.Or(o.pingPeriod, pingPeriod), liveBuffer: cmp.Or(o.liveBuffer, liveBuffer)}
	if s.info.Mode == "" {
		s.info.Mode = "listen"
	}
	return s
}

// Token is the per-run token the page sends on state-changing requests.
func (s *Server) Token() string { return s.token }

// SetInfo replaces what the page shows about the run, and tells every
// open page.
func (s *Server) SetInfo(update func(*Info)) {
	s.mu.Lock()
	update(&s.info)
	conns := s.connList()
	s.mu.Unlock()
	for _, c := range conns {
		c.poke()
	}
}

// setTunnel keeps Info's tunnel fields to the stream's latest state.
func (s *Server) setTunnel(t feed.TunnelState) {
	state := t.Shown()
	s.SetInfo(func(i *Info) {
		i.TunnelState, i.TunnelError = state, t.Err
		if t.Text != "" {
			i.TunnelError = t.Text
		}
		if t.URL != "" && t.URL != i.PublicURL {
			// The webhook URL (its token already redacted) moves with
			// the public URL it starts with.
			if rest, ok := strings.CutPrefix(i.WebhookURL, i.PublicURL); ok && i.PublicURL != "" {
				i.WebhookURL = t.URL + rest
			}
			i.PublicURL = t.URL
		}
	})
}

// Notice shows a message on every open page.
func (s *Server) Notice(text string, warn bool) {
	s.mu.Lock()
	conns := s.connList()
	s.mu.Unlock()
	for _, c := range conns {
		c.notice(notice{Text: text, Warn: warn})
	}
}

func (s *Server) connList() []*liveConn {
	out := make([]*liveConn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

func (s *Server) currentInfo() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// Start begins counting captures (for the counters) and serves on ln
// until Close. It returns at once.
func (s *Server) Start(ln net.Listener) {
	s.startCounter()
	s.mu.Lock()
	s.srv = &http.Server{
		Handler:           s.Handler(ln.Addr()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	srv := s.srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("web inspector stopped", "err", err)
		}
	}()
}

// Close stops serving, closes every live connection (with a close
// frame) and stops the counter.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	srv := s.srv
	conns := s.connList()
	ctr := s.counter
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown()
	}
	if ctr != nil {
		ctr.stop()
	}
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// Handler returns the inspector's handler for requests that arrive at
// addr (the listener's address: Host must name it).
func (s *Server) Handler(addr net.Addr) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.Handle("GET /assets/", assetHandler())
	mux.HandleFunc("GET /api/session", s.session)
	mux.HandleFunc("GET /api/captures", s.list)
	mux.HandleFunc("GET /api/captures/{id}", s.get)
	mux.HandleFunc("POST /api/captures/{id}/replay", s.replay)
	mux.HandleFunc("GET /api/export.har", s.har)
	mux.HandleFunc("GET /api/live", s.live)
	_, port, _ := net.SplitHostPort(addr.String())
	var bound net.IP
	if tcp, ok := addr.(*net.TCPAddr); ok {
		bound = tcp.IP
	}
	return &guard{next: mux, port: port, bound: bound, token: s.token}
}

// guard refuses what a hostile page could send: another Host (DNS
// rebinding), another Origin, a state-changing request without the token.
type guard struct {
	next  http.Handler
	port  string
	bound net.IP
	token string
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.hostOK(r.Host) {
		http.Error(w, "omega-listen web: this Host is not the inspector's address; open it as http://localhost:"+g.port, http.StatusMisdirectedRequest)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		http.Error(w, "omega-listen web: cross-origin request refused", http.StatusForbidden)
		return
	}
	// A link from another site may open the page (a top-level GET of /);
	// nothing else may be asked from another site.
	navigate := r.Method == http.MethodGet && r.URL.Path == "/" && r.Header.Get("Sec-Fetch-Mode") == "navigate"
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" && !navigate {
		http.Error(w, "omega-listen web: cross-site request refused", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(TokenHeader)), []byte(g.token)) != 1 {
			http.Error(w, "omega-listen web: missing or wrong "+TokenHeader+" (it is in the page's meta tag)", http.StatusForbidden)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	g.next.ServeHTTP(w, r)
}

// hostOK: the Host header names our port, on localhost or an IP address
// (an IP literal cannot be rebound). Bound to one IP that is not
// loopback, only that IP and loopback are ours.
func (g *guard) hostOK(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port != g.port {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return false
	case ip.IsLoopback():
		return true
	case g.bound == nil || g.bound.IsUnspecified():
		return true
	default:
		return ip.Equal(g.bound)
	}
}

func atoi64(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}
