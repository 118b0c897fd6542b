// Package web is `omega-listen web`: the web inspector over the store, without a listener; and the
// web inspector's address, listener and actions, which listen shares.
package web

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
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/feed"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/replay"
	"github.com/omega-listen/omega-listen/web"
)

// DefaultAddr is where the web inspector listens unless --web says
// otherwise; taken, the next free port is used.
const DefaultAddr = "127.0.0.1:4040"

// webPortTries is how many ports after a busy default are tried before
// any free port is taken.
const webPortTries = 20

// Listen opens the web inspector's listener. The default address moves
// on to the next free port when taken (another omega-listen has it); an
// address the user chose is used as given or fails.
func Listen(f *cmdutil.Factory, addr string, chosen bool) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil || chosen || !errors.Is(err, syscall.EADDRINUSE) {
		if err != nil {
			return nil, fmt.Errorf("web inspector on %s: %w (choose another with --web ADDR, or --web off)", addr, err)
		}
		warnNonLoopback(f, ln.Addr())
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

func warnNonLoopback(f *cmdutil.Factory, a net.Addr) {
	if tcp, ok := a.(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintf(f.IO.Err, "Warning: the web inspector listens on %s, not only this machine: anyone who can reach it can read your captures. (Replaying needs the page's per-run token.)\n", a)
	}
}

// URL is the address a browser on this machine opens.
func URL(a net.Addr) string {
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

// ValidAddr checks --web: off, or host:port.
func ValidAddr(v string) error {
	if v == "off" {
		return nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return fmt.Errorf("--web %q: want HOST:PORT (e.g. 127.0.0.1:4040) or off", v)
	}
	return nil
}

// Options are the flags and arguments of its command.
type Options struct {
	Addr    string
	To      string
	Timeout time.Duration
	Headers []string
}

// NewCmdWeb is `omega-listen web`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdWeb(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{}
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
			if runF != nil {
				return runF(o)
			}
			return runWeb(cmd, f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Addr, "addr", DefaultAddr, "address to serve the page on (the next free port if the default is taken)")
	fl.StringVar(&o.To, "to", "", "send replays here instead of each capture's own target")
	fl.DurationVar(&o.Timeout, "timeout", 30*time.Second, "how long your app may take to answer a replay")
	fl.StringArrayVarP(&o.Headers, "header", "H", nil, "extra header on every replay, \"Key: Value\" (repeatable)")
	return cmd
}

func runWeb(cmd *cobra.Command, f *cmdutil.Factory, o *Options) error {
	if err := ValidAddr(o.Addr); err != nil || o.Addr == "off" {
		return cmdutil.Usagef("--addr %q: want HOST:PORT", o.Addr)
	}
	fo := inspector.ForwarderOptions{Timeout: o.Timeout}
	if o.To != "" {
		u, err := replay.ParseTarget(o.To)
		if err != nil {
			return cmdutil.Usagef("--to: %v", err)
		}
		fo.Target = u
	}
	headers, err := cmdutil.ParseHeaders(o.Headers)
	if err != nil {
		return cmdutil.Usage(err)
	}
	if o.Timeout <= 0 {
		return cmdutil.Usagef("--timeout must be positive")
	}
	dir, err := f.DataDir()
	if err != nil {
		return err
	}
	// Our replays and what a listener beside us records reach the page
	// the way a listener's do: the store publishes, the stream carries.
	bus := capture.NewBus()
	defer bus.Close()
	store, err := capture.Open(dir, capture.Options{Retain: -1, Logger: f.Logger(), Bus: bus})
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

	ln, err := Listen(f, o.Addr, cmd.Flags().Changed("addr"))
	if err != nil {
		return err
	}
	srv := web.New(web.Options{
		Actions:   Actions(store, rp, target),
		Subscribe: stream.Subscribe,
		Info:      web.Info{Mode: "store", ReplayTo: target, SessionID: sessionID, KnownTypes: omega.AllTypes()},
		Creator:   cmdutil.UserAgent(),
		Logger:    f.Logger(),
	})
	srv.Start(ln)
	defer srv.Close()
	// What a listener (or `replay`) beside us records shows up live.
	go func() { _ = store.Follow(ctx, sessionID, time.Now(), 250*time.Millisecond, bus.Publish) }()

	fmt.Fprintf(f.IO.Out, "Web inspector: %s  (the capture store at %s; Ctrl-C to stop)\n", URL(ln.Addr()), dir)
	sig, stop := f.IO.Interrupts()
	defer stop()
	select {
	case <-sig:
	case <-ctx.Done():
	}
	fmt.Fprintln(f.IO.Err, "Stopping the web inspector.")
	return nil
}

// Actions is what the page may ask of the store and the replayer; to
// is where replays go ("": each capture's own target).
func Actions(store *capture.Store, rp *replay.Replayer, to string) web.Actions {
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
