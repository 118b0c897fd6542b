// Package listen is the listen command, `omega-listen` itself: one run that opens the tunnel,
// registers the endpoint, receives, records and forwards every delivery, and
// presents them (lines, screen, web page) until it takes everything down again.
package listen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	webcmd "github.com/omega-listen/omega-listen/cli/web"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/endpoints"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/lines"
	"github.com/omega-listen/omega-listen/cli/internal/session"
	"github.com/omega-listen/omega-listen/feed"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
	"github.com/omega-listen/omega-listen/replay"
	"github.com/omega-listen/omega-listen/text"
	"github.com/omega-listen/omega-listen/tunnel"
	"github.com/omega-listen/omega-listen/web"
)

// Options are the listen command's flags.
type Options struct {
	Forward   string
	Events    string
	Tunnel    string
	Domain    string
	Listen    string
	PublicURL string
	Emulate   bool
	Print     bool
	Format    string
	Headers   []string
	Timeout   time.Duration
	MaxBody   int64
	Token     string
	Retain    int
	Keep      bool
	// DeleteOnExit deletes a reused --domain endpoint at exit instead of
	// deactivating it.
	DeleteOnExit bool
	// Endpoint borrows an existing endpoint: pointed at us while we run,
	// given back as it was at exit.
	Endpoint string
	Backfill time.Duration
	Ngrok    ngrokFlags
	// ForwardCACert and ForwardInsecure: an https app's certificate.
	ForwardCACert   string
	ForwardInsecure bool
	Relay           relayFlags
	Web             string // the web inspector's address, or "off"
}

func addListenFlags(cmd *cobra.Command, o *Options) {
	o.MaxBody = 10 << 20
	fl := cmd.Flags()
	fl.StringVarP(&o.Forward, "forward", "f", "", "where to forward deliveries: 8888, 8888/webhook, :8888/webhook, localhost:8888/webhook or a full URL (required; with --emulate, leaving it out uses a built-in sample app that answers 200)")
	fl.StringVarP(&o.Events, "events", "e", "", "comma-separated event types, or all (default: the five live types)")
	fl.StringVar(&o.Tunnel, "tunnel", "ngrok", "how Omega reaches you: ngrok, relay (your own `omega-listen relay serve`), or none (listen locally only)")
	fl.StringVar(&o.Domain, "domain", "", "static ngrok domain to use (keeps the URL stable between runs)")
	fl.StringVar(&o.Listen, "listen", "127.0.0.1:0", "local address of the receiver")
	fl.StringVar(&o.PublicURL, "public-url", "", "with --tunnel none: the base URL to register (your own tunnel); default the receiver's own URL")
	fl.BoolVar(&o.Emulate, "emulate", false, "run against the built-in Omega emulator: no account, no network (implies --tunnel none)")
	fl.BoolVar(&o.Print, "print", false, "print lines even on a terminal")
	fl.StringVar(&o.Format, "format", "text", "line format: text or json (NDJSON)")
	fl.StringArrayVarP(&o.Headers, "header", "H", nil, "extra header on every forwarded request, \"Key: Value\" (repeatable)")
	fl.DurationVar(&o.Timeout, "timeout", 30*time.Second, "how long your app may take to answer")
	fl.Var(cmdutil.SizeValue{N: &o.MaxBody}, "max-body", "largest body accepted, e.g. 10MiB")
	fl.StringVar(&o.Token, "token", "", "secret path segment of the public URL, at least 22 characters (default: fresh random per run)")
	fl.IntVar(&o.Retain, "retain", 10000, "captures kept in the store, oldest pruned first")
	fl.BoolVar(&o.Keep, "keep", false, "leave the endpoint registered at exit")
	fl.BoolVar(&o.DeleteOnExit, "delete-on-exit", false, "with --domain: delete the endpoint at exit instead of deactivating it for the next run")
	fl.StringVar(&o.Endpoint, "endpoint", "", "borrow this existing endpoint: point it at the tunnel while running, restore its URL, events and state at exit")
	cmdutil.AgoVar(fl, &o.Backfill, "backfill", false, "with --domain or --endpoint: at start and after each tunnel reconnect, deliver the endpoint's events of this window (e.g. 1h, 2d) that Omega could not deliver (missing or non-2xx response)")
	fl.StringVar(&o.ForwardCACert, "forward-cacert", "", "with an https --forward: trust the CA (PEM) in this file, e.g. your local app's self-signed certificate")
	fl.BoolVar(&o.ForwardInsecure, "forward-insecure", false, "with an https --forward: do not check the app's certificate (warned on every start)")
	fl.StringVar(&o.Web, "web", webcmd.DefaultAddr, "address of the web inspector, or off (the next free port if the default is taken)")
	cmdutil.BindEnv(fl, "token", "OMEGA_LISTEN_TOKEN")
	addNgrokFlags(fl, &o.Ngrok)
	addRelayFlags(fl, &o.Relay)
	_ = cmd.RegisterFlagCompletionFunc("events", cmdutil.CompleteEventTypes)
	_ = cmd.RegisterFlagCompletionFunc("tunnel", cobra.FixedCompletions([]string{"ngrok\tpublic tunnel through ngrok", "relay\tyour own relay (relay serve)", "none\tlocal only"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// config is Options checked and resolved.
type config struct {
	opts    *Options
	target  *url.URL
	events  []string
	headers http.Header
	tls     *tls.Config // for an https target; nil for the system's roots
	dataDir string
	json    bool
	// eventsGiven: -e was on the command line (a borrowed endpoint keeps
	// its own events otherwise).
	eventsGiven bool
	// sampleApp: forward to the built-in sample app (--emulate without
	// --forward); target is set once it listens.
	sampleApp bool
	webChosen bool // --web was given: no moving to the next free port
}

// NewCmdListen is the listen command: `omega-listen` with no subcommand.
// The root command is this command with the others added to it. runF,
// when not nil, is called with the options once they are checked, instead
// of listening (so tests can see what the flags parse to).
func NewCmdListen(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:  "omega-listen",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := checkListen(cmd, f, o)
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runListen(cmd.Context(), f, cfg)
		},
	}
	addListenFlags(cmd, o)
	return cmd
}

func checkListen(cmd *cobra.Command, f *cmdutil.Factory, o *Options) (*config, error) {
	cfg := &config{opts: o}
	var err error
	// --emulate with no --forward: the built-in sample app (started in
	// runListen, on a free port) is the target, so a first try succeeds.
	cfg.sampleApp = o.Emulate && strings.TrimSpace(o.Forward) == ""
	if !cfg.sampleApp {
		if cfg.target, err = cmdutil.ParseForward(o.Forward); err != nil {
			return nil, cmdutil.Usage(err)
		}
	}
	if cfg.events, err = omega.ParseTypes(o.Events); err != nil {
		return nil, cmdutil.Usage(err)
	}
	cfg.eventsGiven = cmd.Flags().Changed("events")
	if cfg.headers, err = cmdutil.ParseHeaders(o.Headers); err != nil {
		return nil, cmdutil.Usage(err)
	}
	if cfg.tls, err = forwardTLS(cfg.target, o); err != nil {
		return nil, err
	}
	if cfg.json, err = cmdutil.ParseFormat(o.Format); err != nil {
		return nil, err
	}
	if o.Emulate {
		if cmd.Flags().Changed("tunnel") && o.Tunnel != "none" {
			return nil, cmdutil.Usagef("--emulate runs locally: it cannot be combined with --tunnel %s", o.Tunnel)
		}
		o.Tunnel = "none"
	}
	switch o.Tunnel {
	case "ngrok", "none", "relay":
	default:
		return nil, cmdutil.Usagef("--tunnel %q: want ngrok, relay or none", o.Tunnel)
	}
	if err := checkRelayFlags(o); err != nil {
		return nil, err
	}
	if o.PublicURL != "" {
		if o.Tunnel != "none" {
			return nil, cmdutil.Usagef("--public-url is for --tunnel none (your own tunnel); ngrok chooses its own URL")
		}
		if _, err := tunnel.ValidatePublicURL(o.PublicURL); err != nil {
			return nil, cmdutil.Usagef("--public-url: %v", err)
		}
	}
	if o.Domain != "" {
		if o.Tunnel != "ngrok" {
			return nil, cmdutil.Usagef("--domain is an ngrok domain; it needs --tunnel ngrok")
		}
		d, err := tunnel.ValidateNgrokDomain(o.Domain)
		if err != nil {
			return nil, cmdutil.Usagef("--domain: %v", err)
		}
		o.Domain = d
	}
	if o.Endpoint != "" {
		if o.Domain != "" {
			return nil, cmdutil.Usagef("--endpoint and --domain both choose the endpoint: use one")
		}
		if strings.TrimSpace(o.Endpoint) == "" || strings.ContainsAny(o.Endpoint, "/?#") {
			return nil, cmdutil.Usagef("--endpoint %q is not an endpoint id (see `omega-listen endpoints list`)", o.Endpoint)
		}
	}
	if o.Backfill < 0 {
		return nil, cmdutil.Usagef("--backfill must not be negative")
	}
	if o.Backfill > 0 && o.Domain == "" && o.Endpoint == "" && o.Tunnel != "relay" {
		return nil, cmdutil.Usagef("--backfill needs an endpoint with a history: pass --domain or --tunnel relay (the endpoint a stable URL keeps) or --endpoint ID")
	}
	if o.DeleteOnExit && o.Domain == "" && o.Tunnel != "relay" {
		return nil, cmdutil.Usagef("--delete-on-exit is for a stable URL (--domain, --tunnel relay); without one the endpoint is always deleted at exit")
	}
	if err := validListenAddr(o.Listen); err != nil {
		return nil, cmdutil.Usage(err)
	}
	if err := webcmd.ValidAddr(o.Web); err != nil {
		return nil, cmdutil.Usage(err)
	}
	cfg.webChosen = cmd.Flags().Changed("web")
	if o.Timeout <= 0 {
		return nil, cmdutil.Usagef("--timeout must be positive")
	}
	if o.Retain == 0 || o.Retain < -1 {
		return nil, cmdutil.Usagef("--retain must be at least 1 (or -1 for no limit)")
	}
	if o.Token != "" {
		if err := inspector.ValidToken(o.Token); err != nil {
			return nil, cmdutil.Usagef("--token: %w", err)
		}
	}
	if err := missingCredentials(o, f.Global.APIKey); err != nil {
		return nil, err
	}
	if cfg.dataDir, err = f.DataDir(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// listener is one run of `omega-listen` (listen): everything it started,
// so shutdown can take it down in order.
type listener struct {
	f      *cmdutil.Factory
	cfg    *config
	log    *slog.Logger
	out    *lines.Printer
	store  *capture.Store
	bus    *capture.Bus
	emu    *emulator.Server
	client *omega.Client
	tun    tunnel.Tunnel
	fwd    *inspector.Forwarder
	rp     *replay.Replayer // sends what the screen replays and what backfill delivers, through fwd
	h      *inspector.Handler
	srv    *http.Server
	served chan error

	sessionID   string
	started     time.Time
	endpoint    *omega.Endpoint
	lease       *endpointLease // the endpoint's life: acquired by register, released by teardown
	backfill    *backfiller    // --backfill
	sample      *sampleApp     // --emulate without --forward
	scr         *screen        // the TUI, when it runs
	sessionPath string

	// feed is what every presenter (the lines, the screen) shows: the
	// store's captures and the listener's own news. presenting is set once
	// a presenter reads it; before that (a failed start), news goes to
	// stderr.
	feed       *feed.Stream
	presenting atomic.Bool
	web        *web.Server // the web inspector, unless --web off
	webURL     string
}

func runListen(ctx context.Context, f *cmdutil.Factory, cfg *config) (err error) {
	o := cfg.opts
	// One listener per data dir: the lock is held until we return.
	lock, err := session.LockDataDir(cfg.dataDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	l := &listener{f: f, cfg: cfg, log: f.Logger(), started: time.Now(), sessionID: capture.NewID()}
	l.out = lines.New(f.IO.Out, cfg.json)
	l.out.ErrW = f.IO.Err
	sig, stopSignals := f.IO.Interrupts()
	defer stopSignals()
	defer func() {
		if err != nil {
			l.teardown(context.Background())
		}
	}()

	if cfg.events != nil && omega.AllNoEffect(cfg.events) {
		fmt.Fprintf(f.IO.Err, "Warning: Omega's docs say none of %s has any effect now, so no delivery may ever arrive. Add a live type (see `omega-listen events types`).\n", strings.Join(cfg.events, ", "))
	}

	// Omega's client first: a missing key fails before anything is opened.
	if o.Emulate {
		l.emu, err = emulator.Start("127.0.0.1:0", emulator.Options{Logger: l.log})
		if err != nil {
			return fmt.Errorf("starting the built-in emulator: %w", err)
		}
		l.client, err = omega.NewClient(omega.Options{BaseURL: l.emu.BaseURL, APIKey: l.emu.APIKey(), UserAgent: cmdutil.UserAgent(), Logger: l.log})
	} else {
		l.client, err = f.Client()
	}
	if err != nil {
		return err
	}
	if cfg.sampleApp {
		if err := l.startSample(); err != nil {
			return err
		}
	}

	// The store publishes every capture it writes (deliveries, rejects,
	// replays) on the bus the presenters read.
	l.bus = capture.NewBus()
	l.feed = feed.New(l.bus)
	l.store, err = capture.Open(cfg.dataDir, capture.Options{Retain: o.Retain, Logger: l.log, Bus: l.bus})
	if err != nil {
		return fmt.Errorf("opening the capture store: %w", err)
	}
	l.markInterrupted(ctx)

	if err := l.openTunnel(ctx); err != nil {
		return err
	}
	if err := pointsAtReceiver(cfg.target, l.tun.Addr(), l.tun.PublicURL()); err != nil {
		return err
	}
	if err := l.serve(); err != nil {
		return err
	}
	if o.ForwardInsecure {
		fmt.Fprintln(f.IO.Err, insecureWarning(cfg.target))
	}
	// Once, before any delivery: said after the ready line or on the screen.
	forwardErr := l.fwd.Check(ctx)
	if err := l.register(ctx); err != nil {
		return err
	}
	if err := l.writeSession(); err != nil {
		fmt.Fprintf(f.IO.Err, "Warning: %v; `omega-listen trigger` will not find this listener.\n", err)
	}
	if err := l.startWeb(); err != nil {
		return err
	}

	// The tunnel's state as the presenters start: later ones are changes.
	l.feed.SetTunnel(feedTunnel(l.tun.Provider(), tunnel.Status{State: tunnel.Connected, URL: l.tun.PublicURL()}))
	sub := l.feed.Subscribe(4096)
	l.presenting.Store(true)
	printDone := make(chan struct{})
	var quit, screenGone <-chan struct{} // the screen's; nil (never ready) with lines
	if l.useScreen() {
		l.scr = l.startScreen(ctx, sub)
		close(printDone)
		quit, screenGone = l.scr.quit, l.scr.done
	} else {
		go func() {
			defer close(printDone)
			l.out.Follow(sub, l.store)
		}()
		l.out.Ready(l.readyInfo())
		if l.sample != nil {
			l.sample.lines.Store(l.out)
		}
	}
	l.warnForward(forwardErr, o.ForwardInsecure)
	go l.reportLeftovers(ctx)
	stopQueued := l.followQueued()
	defer stopQueued()
	if r, ok := l.tun.(tunnel.Releaser); ok {
		r.Release() // the relay's queue drains now that it is shown
	}

	// Work that runs beside the receiver, and stops before teardown closes
	// what it uses (the store, the forwarder).
	bgCtx, stopBg := context.WithCancel(ctx)
	var bg sync.WaitGroup
	if l.cfg.opts.Backfill > 0 {
		l.backfill = newBackfiller(l)
		bg.Go(func() { l.backfill.run(bgCtx, "start") })
	}
	bg.Go(func() { l.followTunnel(bgCtx, &bg) })
	// Replays sent by `omega-listen replay` beside us show up here too.
	bg.Go(func() { _ = l.store.Follow(bgCtx, l.sessionID, l.started, 250*time.Millisecond, l.publishOthers) })

	select {
	case <-sig:
		l.step("Shutting down: finishing in-flight deliveries… (Ctrl-C again to quit at once)")
	case <-quit:
		l.step("Shutting down: finishing in-flight deliveries… (Ctrl-C again to quit at once)")
	case <-screenGone:
		if l.scr.err != nil {
			fmt.Fprintf(f.IO.Err, "The screen stopped: %v\n", l.scr.err)
		}
	case err := <-l.served:
		l.step(fmt.Sprintf("The receiver stopped: %v", err))
	case <-ctx.Done():
	}
	// A second Ctrl-C (a signal, or the key on the screen, which then
	// exits at once) skips the rest of teardown.
	tornDown := make(chan struct{})
	if l.scr != nil && !l.scr.alive() {
		screenGone = nil // gone before teardown: not a second Ctrl-C
	}
	go func() {
		select {
		case <-sig:
		case <-screenGone:
		case <-tornDown:
			return
		}
		select {
		case <-tornDown:
			return // the screen ended because teardown did
		default:
		}
		if l.scr != nil {
			l.scr.p.Kill()
			<-l.scr.done
		}
		fmt.Fprintln(f.IO.Err, "Quitting at once.")
		if msg := l.lease.leftBehind(); msg != "" {
			fmt.Fprintln(f.IO.Err, msg)
		}
		f.IO.ExitNow(130)
	}()
	stopBg()
	bg.Wait()
	l.teardown(context.Background())
	close(tornDown)
	// Every delivery is answered and published by now: let the screen or
	// the printer take what is still queued before they end.
	sub.Finish()
	if l.scr != nil {
		// The screen is gone with its alternate screen: say again where it
		// stays in the scrollback.
		for _, line := range l.scr.finish() {
			fmt.Fprintln(f.IO.Err, line)
		}
	}
	<-printDone
	sub.Close()
	return nil
}

func (l *listener) openTunnel(ctx context.Context) error {
	o := l.cfg.opts
	var err error
	switch o.Tunnel {
	case "none":
		l.tun, err = tunnel.ListenNone(ctx, tunnel.NoneOptions{ListenAddr: o.Listen, PublicURL: o.PublicURL})
	case "ngrok":
		// Startup can take seconds on a slow network (it is bounded at
		// 15 s): say what we are waiting for.
		fmt.Fprintln(l.f.IO.Err, "Connecting to ngrok…")
		l.tun, err = l.f.Ngrok(ctx, ngrokOptions(o, l.log))
	case "relay":
		l.tun, err = openRelay(ctx, l.f, o, l.cfg.dataDir, l.log)
	}
	return err
}

// stableURL names the public URL that stays the same from run to run (an
// ngrok --domain, or the relay's URL for this listener), whose endpoint is
// reused; "" when each run has its own URL.
func (l *listener) stableURL() string {
	switch {
	case l.cfg.opts.Domain != "":
		return l.cfg.opts.Domain
	case l.cfg.opts.Tunnel == "relay" && l.tun != nil:
		return l.tun.PublicURL()
	}
	return ""
}

func (l *listener) serve() error {
	o := l.cfg.opts
	token := o.Token
	if stable := l.stableURL(); token == "" && stable != "" {
		// A stable URL keeps its token, so the endpoint reused next run
		// still points at our secret path.
		t, err := stableToken(l.cfg.dataDir, stable)
		if err != nil {
			return err
		}
		token = t
	}
	if token == "" {
		token = inspector.NewToken()
	}
	l.fwd = inspector.NewForwarder(inspector.ForwarderOptions{Target: l.cfg.target, Timeout: o.Timeout, Headers: l.cfg.headers,
		TLS: l.cfg.tls, TLSHint: forwardTLSHint})
	l.rp = replay.New(replay.Options{Store: l.store, Forwarder: l.fwd, SessionID: l.sessionID})
	var storeErrOnce sync.Once
	l.h = inspector.NewHandler(inspector.HandlerOptions{
		Token:     token,
		MaxBody:   o.MaxBody,
		Forwarder: l.fwd,
		Recorder:  l.store,
		SessionID: l.sessionID,
		Logger:    l.log,
		OnStoreError: func(err error) {
			// Deliveries still flow; say so loudly once, then in the counters.
			storeErrOnce.Do(func() {
				l.warn(fmt.Sprintf("WARNING: captures are NOT being recorded: %v. Deliveries are still forwarded and answered. Check that %s is writable and has free space.", err, l.cfg.dataDir))
			})
			l.log.Error("capture store", "err", err)
		},
	})
	l.srv = &http.Server{
		Handler:           l.h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      o.Timeout + time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ConnContext:       inspector.FramingContext,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
	}
	l.served = make(chan error, 1)
	go func() {
		err := l.srv.Serve(inspector.GuardFraming(l.tun))
		if !errors.Is(err, http.ErrServerClosed) {
			l.served <- err
		}
	}()
	return nil
}

func (l *listener) webhookURL() string { return l.tun.PublicURL() + l.h.Path() }

// localURL is the receiver's own loopback URL of the secret path.
func (l *listener) localURL() string {
	addr := l.tun.Addr().String()
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
	}
	return "http://" + addr + l.h.Path()
}

func (l *listener) description() string {
	host, _ := os.Hostname()
	return endpoints.Describe(host, os.Getpid(), l.started)
}

// register takes the endpoint for this run: created, reused for a stable
// URL, or borrowed (--endpoint); teardown releases it.
func (l *listener) register(ctx context.Context) error {
	o := l.cfg.opts
	l.lease = &endpointLease{
		client: l.client, errW: l.f.IO.Err,
		borrow: o.Endpoint, domain: o.Domain, keep: o.Keep, deleteOnExit: o.DeleteOnExit,
		eventsGiven: l.cfg.eventsGiven, emulated: l.emu != nil,
		stable:   l.stableURL,
		replaced: func() bool { return tunnelReplaced(l.tun) },
	}
	if l.f.Global.DataDir != "" {
		l.lease.dataDirFlag = " --data-dir " + text.ShellQuote(l.cfg.dataDir)
	}
	ep, err := l.lease.acquire(ctx, omega.EndpointInput{URL: l.webhookURL(), Description: l.description(), Events: l.cfg.events})
	l.endpoint = ep
	l.cfg.events = l.lease.events // a borrowed endpoint's own, unless -e
	return err
}

// registerError adds the next step to a failed registration.
func registerError(err error, base string) error {
	var ae *omega.AuthError
	var apiErr *omega.APIError
	var de *omega.DecodeError
	if errors.As(err, &ae) || errors.As(err, &apiErr) || errors.As(err, &de) {
		return fmt.Errorf("registering the webhook endpoint with Omega: %w", err)
	}
	return fmt.Errorf("registering the webhook endpoint with Omega: %w\n  Omega at %s could not be reached: check the network, or --base-url (OMEGA_BASE_URL); or try `omega-listen --emulate`", err, base)
}

// stableToken returns the token kept for a domain in the data dir, making
// one the first time.
func stableToken(dir, domain string) (string, error) {
	td := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(td, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", td, err)
	}
	p := filepath.Join(td, strings.NewReplacer("/", "_", ":", "_").Replace(domain))
	if b, err := os.ReadFile(p); err == nil {
		t := strings.TrimSpace(string(b))
		if inspector.ValidToken(t) == nil {
			return t, nil
		}
		return "", fmt.Errorf("%s holds no valid token; delete it to get a new one (the endpoint for %s will then be updated)", p, domain)
	}
	t := inspector.NewToken()
	if err := os.WriteFile(p, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("saving the token for %s: %w", domain, err)
	}
	return t, nil
}

func (l *listener) writeSession() error {
	host, _ := os.Hostname()
	si := &session.Info{
		PID: os.Getpid(), ID: l.sessionID, Started: l.started, Host: host,
		ReceiverURL: l.localURL(), PublicURL: l.webhookURL(), EndpointID: l.endpoint.ID,
		Events: l.cfg.events, Forward: l.cfg.target.String(), Tunnel: l.tun.Provider(),
	}
	if l.emu != nil {
		si.Emulator = &session.EmulatorRef{BaseURL: l.emu.BaseURL, APIKey: l.emu.APIKey()}
	}
	p, err := session.Write(l.cfg.dataDir, si)
	l.sessionPath = p
	return err
}

func (l *listener) readyInfo() lines.ReadyInfo {
	return lines.ReadyInfo{
		Forward:    l.cfg.target.String(),
		EndpointID: l.endpoint.ID,
		WebhookURL: l.webhookURL(),
		PublicURL:  l.tun.PublicURL(),
		Events:     l.cfg.events,
		Tunnel:     l.tun.Provider(),
		Emulated:   l.emu != nil,
		SampleApp:  l.sample != nil,
		DataDir:    l.cfg.dataDir,
		CustomDir:  l.f.Global.DataDir != "",
		Web:        l.webURL,
	}
}

// step reports a shutdown step to the presenters (the screen's shutdown
// view, or stderr beside the lines); before any presenter runs, on stderr.
func (l *listener) step(msg string) {
	if l.presenting.Load() {
		l.feed.Step(msg)
		return
	}
	fmt.Fprintln(l.f.IO.Err, msg)
}

// progress tells the presenters of a step being taken; the screen shows it
// while it waits, the lines only say what was done.
func (l *listener) progress(msg string) {
	if l.presenting.Load() {
		l.feed.Note(feed.Note{Kind: feed.Step, Text: msg, Pending: true})
	}
}

// notef tells the user something while the listener runs.
func (l *listener) notef(format string, a ...any) {
	l.feed.Notice(fmt.Sprintf(format, a...), false)
}

// warn tells the user of a problem that needs them; the screen keeps it in
// view and prints it again when it ends.
func (l *listener) warn(msg string) {
	if l.presenting.Load() {
		l.feed.Notice(msg, true)
		return
	}
	fmt.Fprintln(l.f.IO.Err, msg)
}

// teardown undoes what was started, in reverse, each step bounded.
func (l *listener) teardown(ctx context.Context) {
	if l.srv != nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := l.srv.Shutdown(sctx); err != nil {
			l.step(fmt.Sprintf("Some deliveries did not finish in time: %v", err))
		}
		_ = l.h.Wait(sctx)
		cancel()
	}
	l.lease.release(ctx, l.step, l.progress)
	if l.tun != nil {
		_ = l.tun.Close()
	}
	if l.fwd != nil {
		l.fwd.Close()
	}
	if l.sessionPath != "" {
		_ = os.Remove(l.sessionPath)
	}
	l.closeWeb()
	if l.store != nil {
		if err := l.store.Close(); err != nil {
			l.step(fmt.Sprintf("Closing the capture store: %v", err))
		}
	}
	if l.emu != nil {
		_ = l.emu.Close()
	}
	if l.sample != nil {
		_ = l.sample.Close()
	}
}

// followTunnel reports the tunnel's state changes: text on stderr (they
// are diagnostics), or NDJSON lines on stdout with the deliveries. After a
// reconnect it backfills (--backfill) what Omega could not deliver.
func (l *listener) followTunnel(ctx context.Context, bg *sync.WaitGroup) {
	last := tunnel.Connected
	status := l.tun.Status()
	for {
		var st tunnel.Status
		select {
		case <-ctx.Done():
			return
		case s, ok := <-status:
			if !ok {
				return
			}
			st = s
		}
		if (st.State == last && !relayRetry(l.tun, st)) || st.State == tunnel.Closed {
			continue // heartbeats repeat the state; Closed is our own doing
		}
		last = st.State
		l.reportTunnel(st)
		if st.State == tunnel.Reconnected && l.backfill != nil {
			bg.Go(func() { l.backfill.run(ctx, "reconnect") })
		}
	}
}

func (l *listener) reportTunnel(st tunnel.Status) {
	l.feed.SetTunnel(feedTunnel(l.tun.Provider(), st))
}

// feedTunnel is a tunnel status as the presenters get it.
func feedTunnel(provider string, st tunnel.Status) feed.TunnelState {
	t := feed.TunnelState{Provider: provider, State: st.State.String(), URL: st.URL, Latency: st.Latency}
	if st.Err != nil {
		err := cmdutil.WithHint(st.Err)
		t.Err = err.Error()
		if provider == tunnel.ProviderRelay && st.State == tunnel.Disconnected {
			t.Text = relayDisconnectedText(err)
		}
	}
	return t
}
