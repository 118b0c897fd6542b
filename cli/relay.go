package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/relay"
	"github.com/omega-listen/omega-listen/tunnel"
)

// relayFlags are the listen flags that only --tunnel relay reads.
type relayFlags struct {
	URL   string
	Token string
}

func addRelayFlags(f *pflag.FlagSet, o *relayFlags) {
	f.StringVar(&o.URL, "relay-url", "", "with --tunnel relay: the relay's URL, e.g. wss://hooks.example.com")
	f.StringVar(&o.Token, "relay-token", "", "with --tunnel relay: this listener's token on the relay; never printed (prefer the env var: ps shows flags)")
	bindEnv(f, "relay-url", "OMEGA_RELAY_URL")
	bindEnv(f, "relay-token", "OMEGA_RELAY_TOKEN")
}

// checkRelayFlags checks the relay flags of listen.
func checkRelayFlags(o *listenOptions) error {
	if o.Tunnel != tunnel.ProviderRelay {
		return nil
	}
	if strings.TrimSpace(o.Relay.URL) == "" {
		return usagef("--tunnel relay needs --relay-url (OMEGA_RELAY_URL): the URL of `omega-listen relay serve`")
	}
	if _, err := tunnel.RelayWebsocketURL(o.Relay.URL); err != nil {
		return usagef("--relay-url: %w", err)
	}
	if strings.TrimSpace(o.Relay.Token) == "" {
		return usagef("--tunnel relay needs --relay-token (OMEGA_RELAY_TOKEN); the relay's operator makes one with `omega-listen relay token NAME`")
	}
	return nil
}

// relayOpener opens the relay tunnel; tests replace nothing here (a relay
// runs in-process), but keep the seam like ngrok's.
var relayOpener = func(ctx context.Context, s Streams, o *listenOptions, dataDir string, log *slog.Logger) (tunnel.Tunnel, error) {
	fmt.Fprintf(s.Err, "Connecting to the relay at %s…\n", o.Relay.URL)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return tunnel.DialRelay(ctx, tunnel.RelayOptions{
		URL: o.Relay.URL, Token: o.Relay.Token, ListenAddr: o.Listen, StateDir: dataDir,
		MaxBody: o.MaxBody + 1<<20, AnswerTimeout: o.Timeout + time.Minute, Logger: log, HoldQueued: true,
	})
}

type relayServeOptions struct {
	Addr          string
	PublicURL     string
	TLSCert       string
	TLSKey        string
	Offline       string
	TokensFile    string
	Dir           string
	MaxBody       int64
	MaxInFlight   int
	QueueMaxCount int
	QueueMaxBytes int64
	QueueMaxAge   time.Duration
}

func newRelayCmd(s Streams, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run your own relay: a public URL that holds deliveries while your listener is away",
		Long: `A relay is a small server with a public address. Listeners connect to it over a websocket
(omega-listen --tunnel relay) and each gets a stable public URL, <public-url>/c/<name>. While a
listener is away, the relay keeps the deliveries for it in a durable queue and answers 202; when
it comes back they arrive in order, each recorded like any other and marked as queued.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newRelayServeCmd(s, g), newRelayTokenCmd(s))
	return cmd
}

func newRelayTokenCmd(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "token NAME",
		Short: "Print a fresh client token for NAME, as OMEGA_RELAY_TOKENS takes it",
		Example: `  omega-listen relay token alice          # alice:3q2+…
  export OMEGA_RELAY_TOKENS="$(omega-listen relay token alice),$(omega-listen relay token bob)"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := relay.ValidName(args[0]); err != nil {
				return &usageError{err}
			}
			fmt.Fprintf(s.Out, "%s:%s\n", args[0], relay.NewToken())
			return nil
		},
	}
}

func newRelayServeCmd(s Streams, g *globalOptions) *cobra.Command {
	o := &relayServeOptions{MaxBody: 10 << 20, QueueMaxBytes: 1 << 30}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the relay",
		Long: `Run the relay. Client tokens come from OMEGA_RELAY_TOKENS (name:token,…) or --tokens-file
(one name:token per line); make them with ` + "`omega-listen relay token NAME`" + `. Serve TLS with
--tls-cert/--tls-key, or run behind a proxy that terminates TLS. Logs are JSON lines on stderr;
GET /healthz answers while it runs.`,
		Example: `  export OMEGA_RELAY_TOKENS="$(omega-listen relay token alice)"
  omega-listen relay serve --addr :8080 --public-url https://hooks.example.com
  # on alice's laptop:
  omega-listen -f 8888 --tunnel relay --relay-url wss://hooks.example.com --relay-token …`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRelayServe(cmd.Context(), s, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", ":8080", "address to serve on")
	f.StringVar(&o.PublicURL, "public-url", "", "the URL the world reaches this relay at, e.g. https://hooks.example.com (required)")
	f.StringVar(&o.TLSCert, "tls-cert", "", "serve TLS with this certificate (PEM); with --tls-key")
	f.StringVar(&o.TLSKey, "tls-key", "", "the certificate's key (PEM)")
	f.StringVar(&o.Offline, "offline", relay.OfflineQueue, "while a listener is away: queue (store, answer 202) or reject (answer 503 with Retry-After)")
	f.StringVar(&o.TokensFile, "tokens-file", "", "file of name:token lines (instead of OMEGA_RELAY_TOKENS)")
	f.StringVar(&o.Dir, "dir", "", "where queues are kept (default: <data-dir>/relay)")
	f.Var(sizeValue{&o.MaxBody}, "max-body", "largest delivery body, e.g. 10MiB")
	f.IntVar(&o.MaxInFlight, "max-in-flight", 64, "live deliveries per name at once; more get 503")
	f.IntVar(&o.QueueMaxCount, "queue-max-count", 100_000, "deliveries a name's queue holds; more get 503")
	f.Var(sizeValue{&o.QueueMaxBytes}, "queue-max-bytes", "body bytes a name's queue holds, e.g. 1GiB; more get 503")
	f.DurationVar(&o.QueueMaxAge, "queue-max-age", 7*24*time.Hour, "once a name's oldest queued delivery is this old, new ones get 503")
	_ = cmd.RegisterFlagCompletionFunc("offline", cobra.FixedCompletions([]string{"queue", "reject"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runRelayServe(ctx context.Context, s Streams, g *globalOptions, o *relayServeOptions) error {
	pub, err := tunnel.ValidatePublicURL(o.PublicURL)
	if err != nil {
		if strings.TrimSpace(o.PublicURL) == "" {
			return usagef("--public-url is required: the URL senders and listeners reach this relay at")
		}
		return usagef("--public-url: %v", err)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if o.Offline != relay.OfflineQueue && o.Offline != relay.OfflineReject {
		return usagef("--offline %q: want queue or reject", o.Offline)
	}
	var src string
	if o.TokensFile != "" {
		b, err := os.ReadFile(o.TokensFile)
		if err != nil {
			return fmt.Errorf("reading --tokens-file: %w", err)
		}
		src = string(b)
	} else {
		src = s.getenv("OMEGA_RELAY_TOKENS")
	}
	tokens, err := relay.ParseTokens(src)
	if err != nil {
		return usagef("client tokens: %w", err)
	}
	dir := o.Dir
	if dir == "" && o.Offline == relay.OfflineQueue {
		dd, err := dataDir(s, g)
		if err != nil {
			return err
		}
		dir = filepath.Join(dd, "relay")
	}
	log := slog.New(slog.NewJSONHandler(s.Err, nil))
	srv, err := relay.New(relay.Options{
		PublicURL: pub, Tokens: tokens, Dir: dir, Offline: o.Offline,
		MaxBody: o.MaxBody, MaxInFlight: o.MaxInFlight,
		QueueMaxCount: o.QueueMaxCount, QueueMaxBytes: o.QueueMaxBytes, QueueMaxAge: o.QueueMaxAge,
		Logger: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		srv.Close()
		return fmt.Errorf("cannot listen on %s: %w; choose another address with --addr", o.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() {
		if o.TLSCert != "" {
			served <- hs.ServeTLS(ln, o.TLSCert, o.TLSKey)
		} else {
			served <- hs.Serve(ln)
		}
	}()
	names := make([]string, 0, len(tokens))
	for n := range tokens {
		names = append(names, n)
	}
	slices.Sort(names)
	log.Info("relay serving", "addr", ln.Addr().String(), "public_url", pub, "offline", o.Offline, "names", strings.Join(names, ","), "queue_dir", dir)
	sig, stop := s.signals()
	defer stop()
	select {
	case <-sig:
	case <-ctx.Done():
	case err := <-served:
		srv.Close()
		return fmt.Errorf("the relay stopped: %w", err)
	}
	log.Info("relay shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Close() // tells listeners first: their websockets are hijacked, Shutdown does not see them
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("shutdown", "err", err)
	}
	return nil
}

// relayDisconnectedText says what a lost relay connection means: the
// relay holds deliveries meanwhile, unless it refused us for good.
func relayDisconnectedText(err error) string {
	var rej *tunnel.RelayRejectedError
	if errors.As(err, &rej) {
		return fmt.Sprintf("Relay connection ended: %v. Stopping: no more deliveries can reach this listener.", err)
	}
	if err != nil {
		return fmt.Sprintf("Relay connection lost (%v). The relay queues deliveries meanwhile.", err)
	}
	return "Relay connection lost; reconnecting. The relay queues deliveries meanwhile."
}

// tunnelReplaced reports whether the relay handed the tunnel's name to a
// newer listener.
func tunnelReplaced(t tunnel.Tunnel) bool {
	r, ok := t.(interface{ Replaced() bool })
	return ok && r.Replaced()
}

// relayRetry: a relay's repeated Disconnected statuses each say when it
// retries next, so each is shown.
func relayRetry(t tunnel.Tunnel, st tunnel.Status) bool {
	return t.Provider() == tunnel.ProviderRelay && st.State == tunnel.Disconnected
}

// followQueued tells the relay tunnel when the store has recorded a
// queued delivery, so the next one can go while this one is still at the
// app. Events the bus drops only slow the drain down: the tunnel then
// waits for the answer instead.
func (l *listener) followQueued() (stop func()) {
	b, ok := l.tun.(interface{ Begun(string) })
	if !ok {
		return func() {}
	}
	sub := l.bus.Subscribe(4096)
	go func() {
		for ev := range sub.C() {
			if c := ev.Capture; c != nil && ev.Kind == capture.Received && c.Flags.Has(capture.FlagQueued) {
				b.Begun(c.Headers.Get(capture.HeaderRelayQueuedAt))
			}
		}
	}()
	return sub.Close
}
