package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Defaults for NgrokOptions.
const (
	DefaultNgrokStartTimeout = 15 * time.Second
	DefaultNgrokCloseTimeout = 5 * time.Second
)

// NgrokOptions configure the "ngrok" provider.
type NgrokOptions struct {
	// AuthToken is the ngrok authtoken (NGROK_AUTHTOKEN). Required. It is
	// never written to an error, a status or the log.
	AuthToken string
	// Domain is a static ngrok domain such as foo.ngrok.app (an https://
	// prefix is accepted); empty lets ngrok choose.
	Domain string
	// ListenAddr is the local address the receiver is also served on, so
	// that tools on this machine reach it without the trip through ngrok.
	// Same form and default as NoneOptions.ListenAddr.
	ListenAddr string
	// StartTimeout bounds startup: connecting and opening the endpoint.
	// Default DefaultNgrokStartTimeout.
	StartTimeout time.Duration
	// CloseTimeout bounds Close, however dead the network. Default
	// DefaultNgrokCloseTimeout.
	CloseTimeout time.Duration
	// Logger receives the provider's and the SDK's logs. Default: none.
	Logger *slog.Logger
	// Description is shown for the session and endpoint in ngrok's dashboard.
	Description string
	// ClientVersion is omega-listen's version, told to ngrok when it is a
	// semantic version (v1.2.3); other versions (dev builds) are not sent,
	// since ngrok may reject them.
	ClientVersion string
}

// ListenNgrok opens an ngrok endpoint and serves it, together with a local
// listener on ListenAddr, as one Tunnel: the receiver's http.Server serves
// both. The context bounds only the setup; Close ends the tunnel.
//
// Startup never hangs. A missing token fails before any network use with
// ErrNoAuthToken. The first failed connection attempt ends startup at once
// with an *NgrokError carrying ngrok's code and a hint; if ngrok neither
// connects nor refuses within StartTimeout, startup ends with an *NgrokError
// wrapping ErrNgrokStartTimeout that tells what was last seen. Once started,
// the SDK reconnects by itself and Status reports it.
//
// Status sends Connecting at once, Connected (with the URL) when the
// endpoint is open, Disconnected (with the error) and Reconnected as the
// session drops and returns, and a Connected status with Latency set at
// each heartbeat.
func ListenNgrok(ctx context.Context, o NgrokOptions) (Tunnel, error) {
	return listenNgrok(ctx, o, newSDKAgent)
}

func listenNgrok(ctx context.Context, o NgrokOptions, newAgent func(agentConfig) (ngrokAgent, error)) (Tunnel, error) {
	token := strings.TrimSpace(o.AuthToken)
	if token == "" {
		return nil, ErrNoAuthToken
	}
	var domain string
	if strings.TrimSpace(o.Domain) != "" {
		d, err := ValidateNgrokDomain(o.Domain)
		if err != nil {
			return nil, err
		}
		domain = d
	}
	addr, err := normaliseListenAddr(o.ListenAddr)
	if err != nil {
		return nil, err
	}
	startTimeout := o.StartTimeout
	if startTimeout <= 0 {
		startTimeout = DefaultNgrokStartTimeout
	}
	closeTimeout := o.CloseTimeout
	if closeTimeout <= 0 {
		closeTimeout = DefaultNgrokCloseTimeout
	}
	var inner slog.Handler
	if o.Logger != nil {
		inner = o.Logger.Handler()
	}
	log := slog.New(newRedactHandler(inner, token))

	var lc net.ListenConfig
	local, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, listenError(addr, err)
	}

	// The session lives as long as the tunnel: not bounded by ctx, which
	// only bounds startup, but keeping its values.
	sessCtx, cancelSess := context.WithCancel(context.WithoutCancel(ctx))
	t := &ngrokTunnel{
		secret:       token,
		log:          log.With("tunnel", ProviderNgrok),
		closeTimeout: closeTimeout,
		sessCtx:      sessCtx,
		cancelSess:   cancelSess,
		feed:         newStatusFeed(),
		local:        local,
		firstFail:    make(chan error, 1),
		conns:        make(chan net.Conn),
		done:         make(chan struct{}),
		acceptFailed: make(chan struct{}),
		lastSeen:     "connecting to ngrok",
	}
	t.feed.send(Status{State: Connecting, At: time.Now()})

	cfg := agentConfig{
		authToken:     token,
		domain:        domain,
		description:   o.Description,
		clientVersion: semverOrEmpty(o.ClientVersion),
		logger:        log.With("component", "ngrok-sdk"),
		onEvent:       t.onEvent,
	}
	if t.agent, err = newAgent(cfg); err != nil {
		cancelSess()
		_ = local.Close()
		return nil, redactError(err, token)
	}
	if err := t.start(ctx, startTimeout); err != nil {
		_ = local.Close()
		return nil, err
	}
	go t.acceptLoop(t.ep.Accept)
	go t.acceptLoop(local.Accept)
	return t, nil
}

type ngrokPhase int

const (
	phaseStarting ngrokPhase = iota
	phaseRunning
	phaseClosing
)

// ngrokTunnel is the ngrok provider's Tunnel. Session events arrive on the
// SDK's goroutines, under the SDK's lock: they only update fields under mu
// and hand statuses to the feed, which never blocks. mu is never held while
// calling the agent.
type ngrokTunnel struct {
	agent        ngrokAgent
	secret       string
	log          *slog.Logger
	closeTimeout time.Duration
	sessCtx      context.Context
	cancelSess   context.CancelFunc
	feed         *statusFeed
	local        net.Listener
	ep           ngrokEndpoint // set once startup succeeds
	firstFail    chan error    // the first disconnect before any connect

	mu            sync.Mutex
	phase         ngrokPhase
	url           string
	connected     bool
	everConnected bool
	lastErr       error
	lastSeen      string // for a startup that times out

	conns        chan net.Conn
	done         chan struct{} // closed by Close
	acceptOnce   sync.Once
	acceptErr    error
	acceptFailed chan struct{} // closed when a listener fails for good

	closeOnce sync.Once
	closeErr  error
}

// start connects and opens the endpoint, within bound, and leaves the
// tunnel running or everything undone.
func (t *ngrokTunnel) start(ctx context.Context, bound time.Duration) error {
	timer := time.NewTimer(bound)
	defer timer.Stop()

	connected := make(chan error, 1)
	go func() { connected <- t.agent.Connect(t.sessCtx) }()
	select {
	case err := <-connected:
		if err != nil {
			t.abort()
			return classifyStartError(err, opConnection, t.secret)
		}
	case err := <-t.firstFail:
		t.abort()
		return classifyStartError(err, opConnection, t.secret)
	case <-timer.C:
		t.abort()
		return t.timeoutError("ngrok did not answer within %s", bound)
	case <-ctx.Done():
		t.abort()
		return fmt.Errorf("starting the ngrok tunnel: %w", ctx.Err())
	}
	t.mu.Lock()
	if !t.everConnected {
		// Connected without telling (the SDK tells first; a fake may not).
		t.connected, t.everConnected = true, true
	}
	t.lastSeen = "connected; opening the endpoint"
	t.mu.Unlock()

	type listened struct {
		ep  ngrokEndpoint
		err error
	}
	opened := make(chan listened, 1)
	go func() {
		ep, err := t.agent.Listen(t.sessCtx)
		opened <- listened{ep, err}
	}()
	// An endpoint that opens after startup gave up is closed.
	closeLate := func() {
		go func() {
			if r := <-opened; r.ep != nil {
				_ = r.ep.Close()
			}
		}()
	}
	select {
	case r := <-opened:
		if r.err != nil {
			t.abort()
			return classifyStartError(r.err, opEndpoint, t.secret)
		}
		t.ep = r.ep
	case <-timer.C:
		closeLate()
		t.abort()
		return t.timeoutError("ngrok did not open the endpoint within %s", bound)
	case <-ctx.Done():
		closeLate()
		t.abort()
		return fmt.Errorf("starting the ngrok tunnel: %w", ctx.Err())
	}

	url := strings.TrimRight(t.ep.URL(), "/")
	t.mu.Lock()
	t.url = url
	t.phase = phaseRunning
	t.feed.send(Status{State: Connected, URL: url, At: time.Now()})
	if !t.connected {
		// Lost between connecting and opening: the SDK is on it.
		t.feed.send(Status{State: Disconnected, URL: url, Err: classifySessionError(t.lastErr, t.secret), At: time.Now()})
	}
	t.mu.Unlock()
	t.log.Info("ngrok tunnel open", "url", url)
	return nil
}

func (t *ngrokTunnel) timeoutError(format string, bound time.Duration) error {
	t.mu.Lock()
	seen := t.lastSeen
	t.mu.Unlock()
	return &NgrokError{
		Msg:         fmt.Sprintf(format, bound) + " (last seen: " + seen + ")",
		Hint:        hintUnreachable,
		Unreachable: true,
		err:         ErrNgrokStartTimeout,
	}
}

// abort undoes a failed startup: the session context goes first, since the
// SDK holds its lock for as long as Connect retries.
func (t *ngrokTunnel) abort() {
	t.mu.Lock()
	t.phase = phaseClosing
	t.mu.Unlock()
	t.cancelSess()
	if err := t.disconnect(nil); err != nil {
		t.log.Debug("ngrok startup cleanup", "err", err)
	}
}

// onEvent is the agent's event callback. It must not block: see ngrokTunnel.
func (t *ngrokTunnel) onEvent(ev agentEvent) {
	msg, err := t.applyEvent(ev)
	// Logged outside mu; the SDK's own lock is held all the same, as it is
	// for the SDK's own logging.
	switch {
	case msg == "":
	case err != nil:
		t.log.Warn(msg, "err", err)
	default:
		t.log.Info(msg)
	}
}

// applyEvent updates the session state and sends the status, and says what
// to log.
func (t *ngrokTunnel) applyEvent(ev agentEvent) (logMsg string, logErr error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.phase == phaseClosing {
		return "", nil // the disconnects that closing causes are not news
	}
	switch ev.kind {
	case agentConnected:
		was := t.connected
		t.connected = true
		t.everConnected = true
		t.lastSeen = "connected"
		if t.phase == phaseRunning && !was {
			t.feed.send(Status{State: Reconnected, URL: t.url, At: ev.at})
			return "ngrok reconnected", nil
		}
	case agentDisconnected:
		err := ev.err
		if err == nil {
			err = errors.New("ngrok ended the session and will not reconnect")
		}
		t.connected = false
		t.lastErr = err
		t.lastSeen = "disconnected: " + cleanLine(err.Error(), t.secret)
		if !t.everConnected {
			select {
			case t.firstFail <- err:
			default: // startup already has one to report
			}
			return "", nil
		}
		if t.phase == phaseRunning {
			serr := classifySessionError(err, t.secret)
			t.feed.send(Status{State: Disconnected, URL: t.url, Err: serr, At: ev.at})
			return "ngrok disconnected; reconnecting", serr
		}
	case agentHeartbeat:
		if t.phase == phaseRunning && t.connected {
			t.feed.send(Status{State: Connected, URL: t.url, Latency: ev.latency, At: ev.at})
		}
	}
	return "", nil
}

// disconnect closes the endpoint and the agent's session, then cancels the
// session context, all within closeTimeout: on a dead network the polite
// steps may never return.
func (t *ngrokTunnel) disconnect(ep ngrokEndpoint) error {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		if ep != nil {
			if err := ep.Close(); err != nil {
				t.log.Debug("closing the ngrok endpoint", "err", err)
			}
		}
		if err := t.agent.Disconnect(); err != nil {
			t.log.Debug("disconnecting from ngrok", "err", err)
		}
	}()
	timer := time.NewTimer(t.closeTimeout)
	defer timer.Stop()
	var err error
	select {
	case <-finished:
	case <-timer.C:
		err = fmt.Errorf("closing the ngrok tunnel: ngrok did not confirm within %s; the session was dropped without it", t.closeTimeout)
	}
	t.cancelSess()
	return err
}

func (t *ngrokTunnel) acceptLoop(accept func() (net.Conn, error)) {
	for {
		c, err := accept()
		if err != nil {
			select {
			case <-t.done:
			default:
				t.acceptOnce.Do(func() {
					t.acceptErr = fmt.Errorf("the ngrok tunnel stopped accepting connections: %w", redactError(err, t.secret))
					close(t.acceptFailed)
				})
			}
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

// Accept returns the next connection from ngrok or from the local listener.
func (t *ngrokTunnel) Accept() (net.Conn, error) {
	select {
	case c := <-t.conns:
		return c, nil
	case <-t.done:
		return nil, net.ErrClosed
	case <-t.acceptFailed:
		select {
		case <-t.done:
			return nil, net.ErrClosed
		default:
			return nil, t.acceptErr
		}
	}
}

// Close stops accepting, closes the endpoint, disconnects the agent and
// cancels the session, returning within CloseTimeout whatever the network
// does.
func (t *ngrokTunnel) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.phase = phaseClosing
		url := t.url
		t.mu.Unlock()
		close(t.done)
		_ = t.local.Close()
		t.closeErr = t.disconnect(t.ep)
		t.feed.close(Status{State: Closed, URL: url, Err: t.closeErr, At: time.Now()})
		t.log.Info("ngrok tunnel closed")
	})
	return t.closeErr
}

// Addr is the local listener's address: the receiver as seen from this
// machine.
func (t *ngrokTunnel) Addr() net.Addr        { return t.local.Addr() }
func (t *ngrokTunnel) PublicURL() string     { return t.url }
func (t *ngrokTunnel) Status() <-chan Status { return t.feed.ch }
func (t *ngrokTunnel) Provider() string      { return ProviderNgrok }
func (t *ngrokTunnel) String() string        { return "ngrok " + t.url }

// dnsLabel is one label of a host name.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateNgrokDomain checks a static ngrok domain as given to --domain and
// returns it normalised: lower case, without scheme or trailing slash.
// "foo.ngrok.app" and "https://foo.ngrok.app/" are both accepted.
func ValidateNgrokDomain(s string) (string, error) {
	const hint = "give a domain such as example.ngrok.app (yours are listed at https://dashboard.ngrok.com/domains)"
	in := s
	s = strings.ToLower(strings.TrimSpace(s))
	if rest, ok := strings.CutPrefix(s, "https://"); ok {
		s = rest
	} else if strings.Contains(s, "://") {
		return "", fmt.Errorf("ngrok domain %q: only https:// may come before the domain; %s", in, hint)
	}
	s = strings.TrimSuffix(s, "/")
	switch {
	case s == "":
		return "", fmt.Errorf("ngrok domain is empty; %s", hint)
	case strings.ContainsAny(s, "/?#@"):
		return "", fmt.Errorf("ngrok domain %q must be a bare domain, without path, query or user; %s", in, hint)
	case strings.Contains(s, ":"):
		return "", fmt.Errorf("ngrok domain %q must not have a port: ngrok serves https on 443; %s", in, hint)
	case len(s) > 253:
		return "", fmt.Errorf("ngrok domain %q is longer than 253 characters; %s", in, hint)
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("ngrok domain %q is not a full domain name; %s", in, hint)
	}
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return "", fmt.Errorf("ngrok domain %q is not a valid domain name (letters, digits and inner hyphens between dots); %s", in, hint)
		}
	}
	return s, nil
}

var semverRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// semverOrEmpty is v without its leading "v" if it is a semantic version,
// else "".
func semverOrEmpty(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if semverRE.MatchString(v) {
		return v
	}
	return ""
}
