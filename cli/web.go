package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/feed"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/replay"
	"github.com/omega-listen/omega-listen/web"
)

// defaultWebAddr is where the web inspector listens unless --web says
// otherwise; taken, the next free port is used.
const defaultWebAddr = "127.0.0.1:4040"

// webPortTries is how many ports after a busy default are tried before
// any free port is taken.
const webPortTries = 20

// listenWeb opens the web inspector's listener. The default address moves
// on to the next free port when taken (another omega-listen has it); an
// address the user chose is used as given or fails.
func listenWeb(s Streams, addr string, chosen bool) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil || chosen || !errors.Is(err, syscall.EADDRINUSE) {
		if err != nil {
			return nil, fmt.Errorf("web inspector on %s: %w (choose another with --web ADDR, or --web off)", addr, err)
		}
		warnNonLoopback(s, ln.Addr())
		return ln, nil
	}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	for i := 1; i <= webPortTries; i++ {
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p+i))); err == nil {
			return ln, nil
		}
	}
	// Many listeners at once (tests, scripts): any free port will do.
	if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
		return nil, fmt.Errorf("web inspector: no free port on %s: %w (choose one with --web ADDR, or --web off)", host, err)
	}
	return ln, nil
}

func warnNonLoopback(s Streams, a net.Addr) {
	if tcp, ok := a.(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintf(s.Err, "Warning: the web inspector listens on %s, not only this machine: anyone who can reach it can read your captures. (Replaying needs the page's per-run token.)\n", a)
	}
}

// webURL is the address a browser on this machine opens.
func webURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() || tcp.IP.IsLoopback() && tcp.IP.To4() != nil {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// validWebAddr checks --web: off, or host:port.
func validWebAddr(v string) error {
	if v == "off" {
		return nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return fmt.Errorf("--web %q: want HOST:PORT (e.g. 127.0.0.1:4040) or off", v)
	}
	return nil
}

// redactedWebhookURL is the webhook URL with its secret token hidden: the
// page shows it, and the page must never hold the token.
func (l *listener) redactedWebhookURL() string { return l.tun.PublicURL() + inspector.RedactedPath }

// startWeb serves the web inspector for a listener (not with --web off).
func (l *listener) startWeb() error {
	addr := l.cfg.opts.Web
	if addr == "off" {
		return nil
	}
	ln, err := listenWeb(l.s, addr, l.cfg.webChosen)
	if err != nil {
		return err
	}
	state := "connected"
	if l.tun.Provider() == "none" {
		state = "local"
	}
	l.web = web.New(web.Options{
		Actions:   webActions(l.store, l.rp, ""),
		Subscribe: l.feed.Subscribe,
		Counted:   capture.Query{SessionID: l.sessionID},
		Info: web.Info{
			Mode: "listen", Forward: l.cfg.target.String(), WebhookURL: l.redactedWebhookURL(),
			PublicURL: l.tun.PublicURL(), EndpointID: l.endpoint.ID, Events: l.cfg.events,
			Tunnel: l.tun.Provider(), TunnelState: state, Emulated: l.emu != nil, SessionID: l.sessionID,
			KnownTypes: omega.AllTypes(),
		},
		Creator: userAgent(),
		Logger:  l.log,
	})
	l.web.Start(ln)
	l.webURL = webURL(ln.Addr())
	return nil
}

func (l *listener) closeWeb() {
	if l.web != nil {
		_ = l.web.Close()
	}
}

type webOptions struct {
	Addr    string
	To      string
	Timeout time.Duration
	Headers []string
}

func newWebCmd(s Streams, g *globalOptions) *cobra.Command {
	o := &webOptions{}
	cmd := &cobra.Command{
		Use:   "web",
		Short: "Open the web inspector over the capture store, with no listener",
		Long: `Serve the web inspector (the page a listener serves at --web) over the capture store,
with no listener running: browse, filter, replay, edit and replay, and export what was recorded.
Captures a listener beside it records appear live. Replays go to --to, or else to the target
each capture was forwarded to.

The page and its API listen on loopback; see the README for the API.`,
		Example: `  omega-listen web
  omega-listen web --to http://localhost:9999/webhook --addr 127.0.0.1:4141`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWeb(cmd, s, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", defaultWebAddr, "address to serve the page on (the next free port if the default is taken)")
	f.StringVar(&o.To, "to", "", "send replays here instead of each capture's own target")
	f.DurationVar(&o.Timeout, "timeout", 30*time.Second, "how long your app may take to answer a replay")
	f.StringArrayVarP(&o.Headers, "header", "H", nil, "extra header on every replay, \"Key: Value\" (repeatable)")
	return cmd
}

func runWeb(cmd *cobra.Command, s Streams, g *globalOptions, o *webOptions) error {
	if err := validWebAddr(o.Addr); err != nil || o.Addr == "off" {
		return usagef("--addr %q: want HOST:PORT", o.Addr)
	}
	fo := inspector.ForwarderOptions{Timeout: o.Timeout}
	if o.To != "" {
		u, err := replay.ParseTarget(o.To)
		if err != nil {
			return usagef("--to: %v", err)
		}
		fo.Target = u
	}
	headers, err := parseHeaders(o.Headers)
	if err != nil {
		return &usageError{err}
	}
	if o.Timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	dir, err := dataDir(s, g)
	if err != nil {
		return err
	}
	// Our replays and what a listener beside us records reach the page
	// the way a listener's do: the store publishes, the stream carries.
	bus := capture.NewBus()
	defer bus.Close()
	store, err := capture.Open(dir, capture.Options{Retain: -1, Logger: newLogger(s, g), Bus: bus})
	if err != nil {
		return fmt.Errorf("opening the capture store in %s: %w", dir, err)
	}
	defer store.Close()
	stream := feed.New(bus)
	defer stream.Close()
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()

	target := o.To
	fo.Headers = headers
	fwd := inspector.NewForwarder(fo)
	defer fwd.Close()
	sessionID := capture.NewID()
	rp := replay.New(replay.Options{Store: store, Forwarder: fwd, SessionID: sessionID})

	ln, err := listenWeb(s, o.Addr, cmd.Flags().Changed("addr"))
	if err != nil {
		return err
	}
	srv := web.New(web.Options{
		Actions:   webActions(store, rp, target),
		Subscribe: stream.Subscribe,
		Info:      web.Info{Mode: "store", ReplayTo: target, SessionID: sessionID, KnownTypes: omega.AllTypes()},
		Creator:   userAgent(),
		Logger:    newLogger(s, g),
	})
	srv.Start(ln)
	defer srv.Close()
	// What a listener (or `replay`) beside us records shows up live.
	go func() { _ = store.Follow(ctx, sessionID, time.Now(), 250*time.Millisecond, bus.Publish) }()

	fmt.Fprintf(s.Out, "Web inspector: %s  (the capture store at %s; Ctrl-C to stop)\n", webURL(ln.Addr()), dir)
	sig, stop := s.signals()
	defer stop()
	select {
	case <-sig:
	case <-ctx.Done():
	}
	fmt.Fprintln(s.Err, "Stopping the web inspector.")
	return nil
}

// webActions is what the page may ask of the store and the replayer; to
// is where replays go ("": each capture's own target).
func webActions(store *capture.Store, rp *replay.Replayer, to string) web.Actions {
	return web.Actions{
		List: store.List, Get: store.Get, ListFull: store.ListFull, Count: store.Count,
		Replay: func(ctx context.Context, id string, body []byte, header http.Header) (*capture.Capture, error) {
			orig, err := store.Get(ctx, id)
			if err != nil {
				return nil, err
			}
			if header != nil {
				// Edited headers: a copy, so the stored capture stays.
				cp := *orig
				cp.Headers = header
				orig = &cp
			}
			return rp.One(ctx, orig, to, body)
		},
		Curl: func(c *capture.Capture) string { return capture.Curl(c, to) },
	}
}
