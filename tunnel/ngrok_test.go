package tunnel

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.ngrok.com/ngrok/v2"
)

// ngHangGuard bounds every wait in these tests. It is not a timing
// assertion: reaching it means the code under test hung.
const ngHangGuard = 10 * time.Second

const ngTestToken = "2fakeTok3nNeverPrinted_7Hq9xZ"

// fakeAgent is a scripted ngrokAgent. Each hook may be nil: Connect then
// reports a connection and returns, Listen returns an endpoint on a
// loopback listener, Disconnect returns at once.
type fakeAgent struct {
	t   *testing.T
	cfg agentConfig

	connect    func(ctx context.Context, f *fakeAgent) error
	listen     func(ctx context.Context, f *fakeAgent) (ngrokEndpoint, error)
	disconnect func(f *fakeAgent) error

	mu          sync.Mutex
	connectCtx  context.Context
	connecting  chan struct{} // closed when Connect is called
	disconnects int
	endpoint    *fakeEndpoint
}

func (f *fakeAgent) Connect(ctx context.Context) error {
	f.mu.Lock()
	f.connectCtx = ctx
	f.mu.Unlock()
	close(f.connecting)
	if f.connect != nil {
		return f.connect(ctx, f)
	}
	f.emit(agentEvent{kind: agentConnected, at: time.Now()})
	return nil
}

func (f *fakeAgent) Listen(ctx context.Context) (ngrokEndpoint, error) {
	if f.listen != nil {
		return f.listen(ctx, f)
	}
	return f.newEndpoint(), nil
}

func (f *fakeAgent) Disconnect() error {
	f.mu.Lock()
	f.disconnects++
	f.mu.Unlock()
	if f.disconnect != nil {
		return f.disconnect(f)
	}
	return nil
}

func (f *fakeAgent) emit(ev agentEvent) { f.cfg.onEvent(ev) }

func (f *fakeAgent) sessionCtx() context.Context {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connectCtx
}

func (f *fakeAgent) disconnectCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.disconnects
}

// newEndpoint stands in for ngrok's edge with a loopback listener: a
// connection to it is a connection ngrok forwarded.
func (f *fakeAgent) newEndpoint() *fakeEndpoint {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { ln.Close() })
	ep := &fakeEndpoint{Listener: ln, url: "https://abc123.ngrok-free.app/", closed: make(chan struct{})}
	f.mu.Lock()
	f.endpoint = ep
	f.mu.Unlock()
	return ep
}

type fakeEndpoint struct {
	net.Listener
	url       string
	block     chan struct{} // if set, Close waits on it (a dead network)
	closeOnce sync.Once
	closed    chan struct{}
}

func (e *fakeEndpoint) URL() string { return e.url }
func (e *fakeEndpoint) Close() error {
	if e.block != nil {
		<-e.block
	}
	e.closeOnce.Do(func() { close(e.closed) })
	return e.Listener.Close()
}

// ngStart runs listenNgrok on a fresh fake agent configured by setup.
func ngStart(t *testing.T, o NgrokOptions, setup func(*fakeAgent)) (*fakeAgent, Tunnel, error) {
	t.Helper()
	f := &fakeAgent{t: t, connecting: make(chan struct{})}
	if setup != nil {
		setup(f)
	}
	if o.AuthToken == "" {
		o.AuthToken = ngTestToken
	}
	type result struct {
		tun Tunnel
		err error
	}
	done := make(chan result, 1)
	go func() {
		tun, err := listenNgrok(context.Background(), o, func(c agentConfig) (ngrokAgent, error) {
			f.cfg = c
			return f, nil
		})
		done <- result{tun, err}
	}()
	select {
	case r := <-done:
		if r.tun != nil {
			t.Cleanup(func() { r.tun.Close() })
		}
		return f, r.tun, r.err
	case <-time.After(ngHangGuard):
		t.Fatal("listenNgrok hung")
		return nil, nil, nil
	}
}

func ngNextStatus(t *testing.T, tun Tunnel) Status {
	t.Helper()
	select {
	case s, ok := <-tun.Status():
		if !ok {
			t.Fatal("status channel closed")
		}
		return s
	case <-time.After(ngHangGuard):
		t.Fatal("no status")
	}
	return Status{}
}

func ngWaitDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(ngHangGuard):
		t.Fatalf("%s: the session context was never cancelled", what)
	}
}

// sdkStyleError behaves like the SDK's errors that carry ngrok's answer:
// the server's text, with the code on a line of its own.
type sdkStyleError struct{ text string }

func (e sdkStyleError) Error() string { return e.text }
func (e sdkStyleError) ErrorCode() string {
	return regexp.MustCompile(`ERR_NGROK_[0-9]+`).FindString(e.text)
}
func (e sdkStyleError) Msg() string {
	var out []string
	for l := range strings.SplitSeq(e.text, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "ERR_NGROK_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// publicStyleError is like ngrok.Error, which the SDK returns from Connect
// and Listen: a Code method and no Unwrap.
type publicStyleError struct{ code, text string }

func (e publicStyleError) Error() string { return e.text }
func (e publicStyleError) Code() string  { return e.code }

// Server messages as ngrok sends them (https://ngrok.com/docs/errors).
// ngrok echoes a rejected token.
var (
	msg105 = "The authtoken you specified does not look like a proper ngrok authtoken.\nYour authtoken: " + ngTestToken +
		"\nInstructions to install your authtoken are on your ngrok dashboard:\nhttps://dashboard.ngrok.com/get-started/your-authtoken\n\nERR_NGROK_105\n"
	msg107 = "The authtoken you specified is properly formed, but it is invalid.\nYour authtoken: " + ngTestToken +
		"\nThis usually happens when:\n    - You reset your authtoken\n\nERR_NGROK_107\n"
	msg108   = "Your account is limited to 1 simultaneous ngrok agent sessions.\nYou can run multiple simultaneous tunnels from a single agent session by defining the tunnels in your agent configuration file and starting them with the command `ngrok start --all`.\n\nERR_NGROK_108\n"
	msg334   = "The endpoint 'https://foo.ngrok.app' is already online. Either\n1. stop your existing endpoint first, or\n2. start both endpoints with `--pooling-enabled` to load balance between them.\n\nERR_NGROK_334\n"
	msg15002 = "Your account is on the 'free' plan, which requires you to register a Domain or TCP Address through the ngrok Dashboard before starting an Endpoint. Visit https://dashboard.ngrok.com/domains to register a domain.\n\nERR_NGROK_15002\n"
)

func TestNgrokMissingToken(t *testing.T) {
	for _, tc := range []struct{ name, tok string }{{"empty", ""}, {"blank", "  \t"}} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			tun, err := listenNgrok(context.Background(), NgrokOptions{AuthToken: tc.tok}, func(agentConfig) (ngrokAgent, error) {
				called = true
				return nil, errors.New("unreachable")
			})
			if tun != nil || !errors.Is(err, ErrNoAuthToken) {
				t.Fatalf("token %q: got %v, %v; want ErrNoAuthToken", tc.tok, tun, err)
			}
			if called {
				t.Errorf("token %q: an agent was created: the network would have been used", tc.tok)
			}
		})
	}
	// The command layer names the flags (cli/hints.go).
	want := "ngrok needs an authtoken: get one at https://dashboard.ngrok.com/get-started/your-authtoken"
	if ErrNoAuthToken.Error() != want {
		t.Errorf("message:\n%s\nwant:\n%s", ErrNoAuthToken, want)
	}
}

func TestNgrokBadDomainFailsBeforeNetwork(t *testing.T) {
	called := false
	_, err := listenNgrok(context.Background(), NgrokOptions{AuthToken: "x", Domain: "foo.ngrok.app/path"}, func(agentConfig) (ngrokAgent, error) {
		called = true
		return nil, errors.New("unreachable")
	})
	want := `ngrok domain "foo.ngrok.app/path" must be a bare domain, without path, query or user; give a domain such as example.ngrok.app (yours are listed at https://dashboard.ngrok.com/domains)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if called {
		t.Error("an agent was created")
	}
}

// The SDK reports each failed attempt to the event handler and retries
// forever inside Connect; the first failure must end startup.
func TestNgrokFirstConnectFailure(t *testing.T) {
	const hintNet = "check this machine's internet connection, proxy and firewall (ngrok's agent connects to connect.ngrok-agent.com:443)"
	tests := []struct {
		name     string
		err      error
		wantCode string
		want     string
	}{
		{
			name:     "malformed token",
			err:      fmt.Errorf("authentication failed: %w", sdkStyleError{msg105}),
			wantCode: "ERR_NGROK_105",
			want: "ngrok refused the connection (ERR_NGROK_105): The authtoken you specified does not look like a proper ngrok authtoken.\n" +
				"  Hint: the authtoken is malformed; copy your authtoken from https://dashboard.ngrok.com/get-started/your-authtoken",
		},
		{
			name:     "invalid token",
			err:      fmt.Errorf("authentication failed: %w", sdkStyleError{msg107}),
			wantCode: "ERR_NGROK_107",
			want: "ngrok refused the connection (ERR_NGROK_107): The authtoken you specified is properly formed, but it is invalid.\n" +
				"  Hint: the authtoken is not valid (reset or revoked?); copy your authtoken from https://dashboard.ngrok.com/get-started/your-authtoken",
		},
		{
			name:     "session limit",
			err:      fmt.Errorf("authentication failed: %w", sdkStyleError{msg108}),
			wantCode: "ERR_NGROK_108",
			want: "ngrok refused the connection (ERR_NGROK_108): Your account is limited to 1 simultaneous ngrok agent sessions.\n" +
				"  Hint: your ngrok plan allows no more simultaneous agent sessions: stop the other ngrok agent or omega-listen (see https://dashboard.ngrok.com/agents)",
		},
		{
			name:     "code without a hint of ours",
			err:      fmt.Errorf("authentication failed: %w", sdkStyleError{"Something new went wrong.\n\nERR_NGROK_99999\n"}),
			wantCode: "ERR_NGROK_99999",
			want: "ngrok refused the connection (ERR_NGROK_99999): Something new went wrong.\n" +
				"  Hint: see https://ngrok.com/docs/errors/err_ngrok_99999",
		},
		{
			name: "unreachable",
			err:  errors.New(`failed to dial ngrok server with address "connect.ngrok-agent.com:443": dial tcp: lookup connect.ngrok-agent.com: no such host`),
			want: `could not reach ngrok: failed to dial ngrok server with address "connect.ngrok-agent.com:443": dial tcp: lookup connect.ngrok-agent.com: no such host` +
				"\n  Hint: " + hintNet,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, tun, err := ngStart(t, NgrokOptions{}, func(f *fakeAgent) {
				f.connect = func(ctx context.Context, f *fakeAgent) error {
					f.emit(agentEvent{kind: agentDisconnected, err: tc.err, at: time.Now()})
					<-ctx.Done() // retrying, as the SDK does, until told to stop
					return ctx.Err()
				}
			})
			if tun != nil {
				t.Fatal("startup succeeded")
			}
			var ne *NgrokError
			if !errors.As(err, &ne) || ne.Code != tc.wantCode {
				t.Fatalf("err = %#v, want an *NgrokError with code %q", err, tc.wantCode)
			}
			if ne.Unreachable != (tc.wantCode == "") {
				t.Errorf("Unreachable = %v for code %q", ne.Unreachable, tc.wantCode)
			}
			if strings.Contains(err.Error(), "--") || strings.Contains(err.Error(), "NGROK_AUTHTOKEN") {
				t.Errorf("message %q names a flag or variable: the command layer does that", err)
			}
			if err.Error() != tc.want {
				t.Errorf("message:\n%s\nwant:\n%s", err, tc.want)
			}
			if strings.Contains(err.Error(), ngTestToken) {
				t.Error("the error shows the token")
			}
			ngWaitDone(t, f.sessionCtx(), tc.name)
		})
	}
}

func TestNgrokConnectReturnsError(t *testing.T) {
	f, _, err := ngStart(t, NgrokOptions{}, func(f *fakeAgent) {
		f.connect = func(context.Context, *fakeAgent) error {
			return publicStyleError{"ERR_NGROK_107", msg107}
		}
	})
	want := "ngrok refused the connection (ERR_NGROK_107): The authtoken you specified is properly formed, but it is invalid.\n" +
		"  Hint: the authtoken is not valid (reset or revoked?); copy your authtoken from https://dashboard.ngrok.com/get-started/your-authtoken"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	ngWaitDone(t, f.sessionCtx(), "connect error")
}

func TestNgrokListenRefused(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "domain online elsewhere",
			err:  fmt.Errorf("failed to start tunnel: %w", publicStyleError{"ERR_NGROK_334", msg334}),
			want: "ngrok refused the endpoint (ERR_NGROK_334): The endpoint 'https://foo.ngrok.app' is already online.\n" +
				"  Hint: the domain is already online in another agent (another omega-listen or ngrok?): stop that one first, or choose another domain",
		},
		{
			name: "plan needs a domain",
			err:  publicStyleError{"ERR_NGROK_15002", msg15002},
			want: "ngrok refused the endpoint (ERR_NGROK_15002): Your account is on the 'free' plan, which requires you to register a Domain or TCP Address through the ngrok Dashboard before starting an Endpoint.\n" +
				"  Hint: your ngrok plan needs a domain: pass yours (listed at https://dashboard.ngrok.com/domains)",
		},
		{
			name: "no answer",
			err:  errors.New("session closed"),
			want: "ngrok did not open the endpoint: session closed\n" +
				"  Hint: check this machine's internet connection, proxy and firewall (ngrok's agent connects to connect.ngrok-agent.com:443)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, tun, err := ngStart(t, NgrokOptions{Domain: "foo.ngrok.app"}, func(f *fakeAgent) {
				f.listen = func(context.Context, *fakeAgent) (ngrokEndpoint, error) { return nil, tc.err }
			})
			if tun != nil || err == nil {
				t.Fatal("startup succeeded")
			}
			if err.Error() != tc.want {
				t.Errorf("message:\n%s\nwant:\n%s", err, tc.want)
			}
			if f.cfg.domain != "foo.ngrok.app" {
				t.Errorf("agent domain = %q", f.cfg.domain)
			}
			if f.disconnectCount() != 1 {
				t.Errorf("Disconnect called %d times, want 1", f.disconnectCount())
			}
			ngWaitDone(t, f.sessionCtx(), tc.name)
		})
	}
}

func TestNgrokStartTimeout(t *testing.T) {
	t.Run("no answer to connect", func(t *testing.T) {
		f, tun, err := ngStart(t, NgrokOptions{StartTimeout: 50 * time.Millisecond}, func(f *fakeAgent) {
			f.connect = func(ctx context.Context, _ *fakeAgent) error {
				<-ctx.Done()
				return ctx.Err()
			}
		})
		if tun != nil {
			t.Fatal("startup succeeded")
		}
		want := "ngrok did not answer within 50ms (last seen: connecting to ngrok)\n" +
			"  Hint: check this machine's internet connection, proxy and firewall (ngrok's agent connects to connect.ngrok-agent.com:443)"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		}
		if !errors.Is(err, ErrNgrokStartTimeout) {
			t.Error("not ErrNgrokStartTimeout")
		}
		ngWaitDone(t, f.sessionCtx(), "timeout")
	})
	t.Run("no answer to listen", func(t *testing.T) {
		release := make(chan struct{})
		late := make(chan *fakeEndpoint, 1)
		// The limit also covers the (instant) connect, so it must not be so
		// short that a slow scheduler makes connecting what timed out.
		f, _, err := ngStart(t, NgrokOptions{StartTimeout: time.Second}, func(f *fakeAgent) {
			f.listen = func(context.Context, *fakeAgent) (ngrokEndpoint, error) {
				<-release // the SDK's Listen ignores its context
				ep := f.newEndpoint()
				late <- ep
				return ep, nil
			}
		})
		want := "ngrok did not open the endpoint within 1s (last seen: connected; opening the endpoint)\n" +
			"  Hint: check this machine's internet connection, proxy and firewall (ngrok's agent connects to connect.ngrok-agent.com:443)"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		}
		ngWaitDone(t, f.sessionCtx(), "listen timeout")
		close(release)
		ep := <-late
		select {
		case <-ep.closed:
		case <-time.After(ngHangGuard):
			t.Fatal("an endpoint that opened after startup gave up was left open")
		}
	})
}

func TestNgrokStartCancelled(t *testing.T) {
	f := &fakeAgent{t: t, connecting: make(chan struct{})}
	f.connect = func(ctx context.Context, _ *fakeAgent) error {
		<-ctx.Done()
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.connecting
		cancel()
	}()
	_, err := listenNgrok(ctx, NgrokOptions{AuthToken: ngTestToken}, func(c agentConfig) (ngrokAgent, error) {
		f.cfg = c
		return f, nil
	})
	if err == nil || err.Error() != "starting the ngrok tunnel: context canceled" || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	ngWaitDone(t, f.sessionCtx(), "cancel")
}

func TestNgrokSessionOutlivesStartup(t *testing.T) {
	f := &fakeAgent{t: t, connecting: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	tun, err := listenNgrok(ctx, NgrokOptions{AuthToken: ngTestToken, StartTimeout: time.Minute}, func(c agentConfig) (ngrokAgent, error) {
		f.cfg = c
		return f, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	sess := f.sessionCtx()
	if _, ok := sess.Deadline(); ok {
		t.Error("the session context has a deadline")
	}
	if sess.Err() != nil {
		t.Error("the session ended with the startup context")
	}
	tun.Close()
	ngWaitDone(t, sess, "close")
}

func TestNgrokLifecycleStatuses(t *testing.T) {
	f, tun, err := ngStart(t, NgrokOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://abc123.ngrok-free.app"
	if tun.PublicURL() != url || tun.Provider() != ProviderNgrok {
		t.Errorf("PublicURL %q Provider %q", tun.PublicURL(), tun.Provider())
	}

	type want struct {
		state   State
		url     string
		err     string
		latency time.Duration
	}
	check := func(w want) {
		t.Helper()
		s := ngNextStatus(t, tun)
		got := want{state: s.State, url: s.URL, latency: s.Latency}
		if s.Err != nil {
			got.err = s.Err.Error()
		}
		if got != w || s.At.IsZero() {
			t.Errorf("status = %+v (at %v)\nwant     %+v", got, s.At, w)
		}
	}
	check(want{state: Connecting})
	check(want{state: Connected, url: url})

	f.emit(agentEvent{kind: agentDisconnected, err: errors.New("read tcp 10.0.0.2:5555->1.2.3.4:443: read: connection reset by peer"), at: time.Now()})
	check(want{state: Disconnected, url: url, err: "lost the connection to ngrok: read tcp 10.0.0.2:5555->1.2.3.4:443: read: connection reset by peer"})
	f.emit(agentEvent{kind: agentHeartbeat, latency: time.Second, at: time.Now()}) // stale: not connected
	f.emit(agentEvent{kind: agentDisconnected, err: fmt.Errorf("authentication failed: %w", sdkStyleError{msg108}), at: time.Now()})
	check(want{state: Disconnected, url: url, err: "ngrok refused the connection (ERR_NGROK_108): Your account is limited to 1 simultaneous ngrok agent sessions.\n" +
		"  Hint: your ngrok plan allows no more simultaneous agent sessions: stop the other ngrok agent or omega-listen (see https://dashboard.ngrok.com/agents)"})
	f.emit(agentEvent{kind: agentConnected, at: time.Now()})
	check(want{state: Reconnected, url: url})
	f.emit(agentEvent{kind: agentHeartbeat, latency: 42 * time.Millisecond, at: time.Now()})
	check(want{state: Connected, url: url, latency: 42 * time.Millisecond})
	f.emit(agentEvent{kind: agentDisconnected, at: time.Now()}) // the SDK gave up
	check(want{state: Disconnected, url: url, err: "lost the connection to ngrok: ngrok ended the session and will not reconnect"})

	if err := tun.Close(); err != nil {
		t.Fatal(err)
	}
	check(want{state: Closed, url: url})
	if _, ok := <-tun.Status(); ok {
		t.Error("status channel open after Closed")
	}
	f.emit(agentEvent{kind: agentDisconnected, err: context.Canceled, at: time.Now()}) // what cancelling causes: ignored
	if f.disconnectCount() != 1 {
		t.Errorf("Disconnect called %d times, want 1", f.disconnectCount())
	}
	select {
	case <-f.endpoint.closed:
	default:
		t.Error("endpoint not closed")
	}
	ngWaitDone(t, f.sessionCtx(), "close")
	if err := tun.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A status reader that never reads must not hold up the SDK's callbacks.
func TestNgrokEventsNeverBlock(t *testing.T) {
	f, _, err := ngStart(t, NgrokOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10 * statusBufSize {
			f.emit(agentEvent{kind: agentHeartbeat, latency: time.Millisecond, at: time.Now()})
			f.emit(agentEvent{kind: agentDisconnected, err: errors.New("x"), at: time.Now()})
			f.emit(agentEvent{kind: agentConnected, at: time.Now()})
		}
	}()
	select {
	case <-done:
	case <-time.After(ngHangGuard):
		t.Fatal("event callback blocked")
	}
}

func TestNgrokCloseWithDeadNetwork(t *testing.T) {
	dead := make(chan struct{})
	t.Cleanup(func() { close(dead) })
	f, tun, err := ngStart(t, NgrokOptions{CloseTimeout: 50 * time.Millisecond}, func(f *fakeAgent) {
		f.listen = func(context.Context, *fakeAgent) (ngrokEndpoint, error) {
			ep := f.newEndpoint()
			ep.block = dead
			return ep, nil
		}
		f.disconnect = func(*fakeAgent) error {
			<-dead
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan error, 1)
	go func() {
		_, err := tun.Accept()
		accepted <- err
	}()

	closed := make(chan error, 1)
	go func() { closed <- tun.Close() }()
	var cerr error
	select {
	case cerr = <-closed:
	case <-time.After(ngHangGuard):
		t.Fatal("Close hung on a dead network")
	}
	want := "closing the ngrok tunnel: ngrok did not confirm within 50ms; the session was dropped without it"
	if cerr == nil || cerr.Error() != want {
		t.Errorf("Close() = %v\nwant %s", cerr, want)
	}
	ngWaitDone(t, f.sessionCtx(), "dead network")
	select {
	case err := <-accepted:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(ngHangGuard):
		t.Fatal("Accept still blocked after Close")
	}
	var last Status
	for s := range tun.Status() {
		last = s
	}
	if last.State != Closed || last.Err == nil || last.Err.Error() != want {
		t.Errorf("last status = %+v", last)
	}
}

// One http.Server serves what ngrok forwards and what arrives locally.
func TestNgrokServesEndpointAndLocal(t *testing.T) {
	f, tun, err := ngStart(t, NgrokOptions{ListenAddr: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %s %s", r.URL.Path, b)
	})}
	go srv.Serve(tun)
	t.Cleanup(func() { srv.Close() })

	client := &http.Client{Timeout: ngHangGuard}
	for name, base := range map[string]string{
		"via ngrok": "http://" + f.endpoint.Addr().String(),
		"local":     "http://" + tun.Addr().String(),
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := client.Post(base+"/omega/x", "application/json", strings.NewReader(`{"a":1}`))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != `got /omega/x {"a":1}` {
				t.Errorf("%s: body %q", name, b)
			}
		})
	}
	if !strings.HasPrefix(tun.Addr().String(), "127.0.0.1:") {
		t.Errorf("Addr = %v, want the local listener", tun.Addr())
	}
}

func TestNgrokAcceptFailure(t *testing.T) {
	f, tun, err := ngStart(t, NgrokOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.endpoint.Listener.Close() // ngrok's listener fails for good
	_, err = tun.Accept()
	if err == nil || !strings.HasPrefix(err.Error(), "the ngrok tunnel stopped accepting connections: ") || errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept = %v", err)
	}
	tun.Close()
	if _, err := tun.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

func TestNgrokLocalAddressBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, _, err = ngStart(t, NgrokOptions{ListenAddr: busy.Addr().String()}, func(f *fakeAgent) {
		f.connect = func(context.Context, *fakeAgent) error { t.Error("connected despite the busy port"); return nil }
	})
	if err == nil || !strings.Contains(err.Error(), "is already in use") {
		t.Errorf("err = %v", err)
	}
}

// The token must not show in errors, statuses or logs, even when ngrok and
// the SDK repeat it.
func TestNgrokNeverShowsToken(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&ngLockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var seen []string

	sdkLogs := func(l *slog.Logger) {
		l.Error("auth failed: Your authtoken: "+ngTestToken, "token", ngTestToken,
			"err", sdkStyleError{msg105}, slog.Group("auth", "authtoken", ngTestToken),
			"cfg", struct{ Authtoken string }{ngTestToken}, "n", 3)
		l.With("authtoken", ngTestToken).WithGroup("g").Info("with attrs", "x", ngTestToken)
	}

	// Startup refused with the token echoed.
	_, _, err := ngStart(t, NgrokOptions{Logger: logger}, func(f *fakeAgent) {
		f.connect = func(ctx context.Context, f *fakeAgent) error {
			sdkLogs(f.cfg.logger)
			f.emit(agentEvent{kind: agentDisconnected, err: fmt.Errorf("authentication failed: %w", sdkStyleError{msg105}), at: time.Now()})
			<-ctx.Done()
			return ctx.Err()
		}
	})
	seen = append(seen, err.Error())

	// Refused after a reconnect, and a listen error without a code.
	f, tun, err := ngStart(t, NgrokOptions{Logger: logger}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sdkLogs(f.cfg.logger)
	f.emit(agentEvent{kind: agentDisconnected, err: fmt.Errorf("authentication failed: %w", sdkStyleError{msg107}), at: time.Now()})
	f.emit(agentEvent{kind: agentDisconnected, err: errors.New("bad token " + ngTestToken), at: time.Now()})
	tun.Close()
	for s := range tun.Status() {
		if s.Err != nil {
			seen = append(seen, s.Err.Error())
		}
		seen = append(seen, s.URL)
	}
	_, _, err = ngStart(t, NgrokOptions{Logger: logger}, func(f *fakeAgent) {
		f.listen = func(context.Context, *fakeAgent) (ngrokEndpoint, error) {
			return nil, errors.New("token " + ngTestToken + " rejected")
		}
	})
	seen = append(seen, err.Error())
	_, err = listenNgrok(context.Background(), NgrokOptions{AuthToken: ngTestToken}, func(agentConfig) (ngrokAgent, error) {
		return nil, errors.New("cannot use " + ngTestToken)
	})
	seen = append(seen, err.Error())

	logMu.Lock()
	seen = append(seen, logs.String())
	logMu.Unlock()
	all := strings.Join(seen, "\n")
	if strings.Contains(all, ngTestToken) {
		t.Errorf("the token shows:\n%s", all)
	}
	if !strings.Contains(all, redacted) || !strings.Contains(all, "auth failed") {
		t.Errorf("the redacted logs and errors are missing:\n%s", all)
	}
}

type ngLockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *ngLockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestFromSDKEvent(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		in   ngrok.Event
		ok   bool
		want agentEvent
	}{
		{&ngrok.EventAgentConnectSucceeded{}, true, agentEvent{kind: agentConnected}},
		{&ngrok.EventAgentDisconnected{Error: boom}, true, agentEvent{kind: agentDisconnected, err: boom}},
		{&ngrok.EventAgentHeartbeatReceived{Latency: 7 * time.Millisecond}, true, agentEvent{kind: agentHeartbeat, latency: 7 * time.Millisecond}},
		{&ngrok.EventConnectionOpened{}, false, agentEvent{}},
		{&ngrok.EventHTTPRequestComplete{}, false, agentEvent{}},
	}
	for _, tc := range tests {
		t.Run(strings.TrimPrefix(fmt.Sprintf("%T", tc.in), "*ngrok."), func(t *testing.T) {
			got, ok := fromSDKEvent(tc.in)
			if ok != tc.ok {
				t.Errorf("%T: ok = %v", tc.in, ok)
				return
			}
			if ok && (got.at.IsZero() || got.kind != tc.want.kind || got.err != tc.want.err || got.latency != tc.want.latency) {
				t.Errorf("%T: got %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidateNgrokDomain(t *testing.T) {
	ok := []struct{ name, in, want string }{
		{"ngrok domain", "foo.ngrok.app", "foo.ngrok.app"},
		{"spaces and capitals", "  Foo.Ngrok-Free.App  ", "foo.ngrok-free.app"},
		{"https before", "https://foo.ngrok.app", "foo.ngrok.app"},
		{"https before and a slash after", "https://foo.ngrok.app/", "foo.ngrok.app"},
		{"own domain", "hooks.example.com", "hooks.example.com"},
		{"hyphens and digits", "a-b.c1.example.dev", "a-b.c1.example.dev"},
		{"punycode", "xn--bcher-kva.example.io", "xn--bcher-kva.example.io"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ValidateNgrokDomain(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ValidateNgrokDomain(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	bad := []struct{ name, in, want string }{
		{"empty", "", "ngrok domain is empty"},
		{"http before", "http://foo.ngrok.app", "only https:// may come before the domain"},
		{"port", "foo.ngrok.app:8443", "must not have a port"},
		{"path", "foo.ngrok.app/x", "must be a bare domain"},
		{"user", "user@foo.ngrok.app", "must be a bare domain"},
		{"not a full name", "localhost", "is not a full domain name"},
		{"leading hyphen", "-foo.ngrok.app", "is not a valid domain name"},
		{"empty label", "foo..ngrok.app", "is not a valid domain name"},
		{"wildcard", "*.ngrok.app", "is not a valid domain name"},
		{"underscore", "foo_bar.ngrok.app", "is not a valid domain name"},
		{"too long", strings.Repeat("a.", 127) + "io", "longer than 253"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ValidateNgrokDomain(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ValidateNgrokDomain(%q) = %v; want an error containing %q", tc.in, err, tc.want)
			}
		})
	}
}

func FuzzValidateNgrokDomain(f *testing.F) {
	for _, s := range []string{"foo.ngrok.app", "https://foo.ngrok.app/", "http://x", "a..b", "x:1", "", "é.ngrok.app"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ValidateNgrokDomain(s)
		if err != nil {
			return
		}
		again, err := ValidateNgrokDomain(d)
		if err != nil || again != d {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, d, again, err)
		}
		if ep := ngrokEndpointURL(d); !strings.HasPrefix(ep, "https://") || strings.ContainsAny(d, "/:?#@ ") {
			t.Fatalf("%q gives endpoint URL %q", s, ep)
		}
	})
}

func TestSemverOrEmpty(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":           "1.2.3",
		"1.2.3":            "1.2.3",
		"v0.4.0-rc.1+abc":  "0.4.0-rc.1+abc",
		"dev":              "",
		"dev+0123456789ab": "",
		"v1.2":             "",
		"":                 "",
		"(devel)":          "",
	} {
		t.Run(cmp.Or(in, "empty"), func(t *testing.T) {
			if got := semverOrEmpty(in); got != want {
				t.Errorf("semverOrEmpty(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestFirstSentence(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"ngrok's 105", msg105, "The authtoken you specified does not look like a proper ngrok authtoken."},
		{"ngrok's 334", msg334, "The endpoint 'https://foo.ngrok.app' is already online."},
		{"no full stop", "one line, no stop\n\nERR_NGROK_1\n", "one line, no stop"},
		{"only the code and a link", "\n\nERR_NGROK_1\nhttps://ngrok.com/docs/errors/err_ngrok_1", ""},
		{"long text is cut", strings.Repeat("é", 400), strings.Repeat("é", 150) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstSentence(tc.in); got != tc.want {
				t.Errorf("firstSentence(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// ngrok's messages are outside input: whatever they hold, the user sees one
// clean line of it and never the token.
func FuzzClassifyNgrokError(f *testing.F) {
	f.Add(msg105, ngTestToken)
	f.Add(msg108, "t")
	f.Add("ERR_NGROK_\nERR_NGROK_12 x. y", "12")
	f.Fuzz(func(t *testing.T, msg, secret string) {
		if secret == "" || strings.ContainsAny(secret, "<>… \t\n\r\v\f\u0085\u00a0") || strings.Contains(redacted, secret) {
			return // not a token ngrok issues
		}
		// Our own prefixes are fixed text; what follows comes from ngrok.
		fromNgrok := func(m string) string {
			for _, p := range []string{"could not reach ngrok: ", "ngrok did not open the endpoint: ", "lost the connection to ngrok: "} {
				m = strings.TrimPrefix(m, p)
			}
			return m
		}
		for _, e := range []*NgrokError{
			classifyStartError(sdkStyleError{msg}, opConnection, secret),
			classifyStartError(errors.New(msg), opEndpoint, secret),
			classifySessionError(errors.New(msg), secret).(*NgrokError),
		} {
			if strings.Contains(fromNgrok(e.Msg), secret) {
				t.Fatalf("Msg %q shows the secret %q", e.Msg, secret)
			}
			if strings.ContainsAny(e.Msg, "\n\r") {
				t.Fatalf("Msg %q is not one line", e.Msg)
			}
		}
	})
}
