// Package relay is `omega-listen relay`: serve a relay (a self-hosted public URL) and make its tokens.
package relay

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

	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/relay"
	"github.com/omega-listen/omega-listen/tunnel"
)

// ServeOptions are the flags and arguments of its command.
type ServeOptions struct {
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

// NewCmdRelay is `omega-listen relay`.
func NewCmdRelay(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run your own relay: a public URL that holds deliveries while your listener is away",
		Long: `A relay is a small server with a public address. Listeners connect to it over a websocket
(omega-listen --tunnel relay) and each gets a stable public URL, <public-url>/c/<name>. While a
listener is away, the relay keeps the deliveries for it in a durable queue and answers 202; when
it comes back they arrive in order, each recorded like any other and marked as queued.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(NewCmdServe(f, nil), NewCmdToken(f))
	return cmd
}

// NewCmdToken is `omega-listen relay token`.
func NewCmdToken(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "token NAME",
		Short: "Print a fresh client token for NAME, as OMEGA_RELAY_TOKENS takes it",
		Example: `  omega-listen relay token alice          # alice:3q2+…
  export OMEGA_RELAY_TOKENS="$(omega-listen relay token alice),$(omega-listen relay token bob)"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := relay.ValidName(args[0]); err != nil {
				return cmdutil.Usage(err)
			}
			fmt.Fprintf(f.IO.Out, "%s:%s\n", args[0], relay.NewToken())
			return nil
		},
	}
}

// NewCmdServe is `omega-listen relay serve`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdServe(f *cmdutil.Factory, runF func(*ServeOptions) error) *cobra.Command {
	o := &ServeOptions{MaxBody: 10 << 20, QueueMaxBytes: 1 << 30}
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
			if runF != nil {
				return runF(o)
			}
			return runRelayServe(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Addr, "addr", ":8080", "address to serve on")
	fl.StringVar(&o.PublicURL, "public-url", "", "the URL the world reaches this relay at, e.g. https://hooks.example.com (required)")
	fl.StringVar(&o.TLSCert, "tls-cert", "", "serve TLS with this certificate (PEM); with --tls-key")
	fl.StringVar(&o.TLSKey, "tls-key", "", "the certificate's key (PEM)")
	fl.StringVar(&o.Offline, "offline", relay.OfflineQueue, "while a listener is away: queue (store, answer 202) or reject (answer 503 with Retry-After)")
	fl.StringVar(&o.TokensFile, "tokens-file", "", "file of name:token lines (instead of OMEGA_RELAY_TOKENS)")
	fl.StringVar(&o.Dir, "dir", "", "where queues are kept (default: <data-dir>/relay)")
	fl.Var(cmdutil.SizeValue{N: &o.MaxBody}, "max-body", "largest delivery body, e.g. 10MiB")
	fl.IntVar(&o.MaxInFlight, "max-in-flight", 64, "live deliveries per name at once; more get 503")
	fl.IntVar(&o.QueueMaxCount, "queue-max-count", 100_000, "deliveries a name's queue holds; more get 503")
	fl.Var(cmdutil.SizeValue{N: &o.QueueMaxBytes}, "queue-max-bytes", "body bytes a name's queue holds, e.g. 1GiB; more get 503")
	fl.DurationVar(&o.QueueMaxAge, "queue-max-age", 7*24*time.Hour, "once a name's oldest queued delivery is this old, new ones get 503")
	_ = cmd.RegisterFlagCompletionFunc("offline", cobra.FixedCompletions([]string{"queue", "reject"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runRelayServe(ctx context.Context, f *cmdutil.Factory, o *ServeOptions) error {
	pub, err := tunnel.ValidatePublicURL(o.PublicURL)
	if err != nil {
		if strings.TrimSpace(o.PublicURL) == "" {
			return cmdutil.Usagef("--public-url is required: the URL senders and listeners reach this relay at")
		}
		return cmdutil.Usagef("--public-url: %v", err)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return cmdutil.Usagef("--tls-cert and --tls-key go together")
	}
	if o.Offline != relay.OfflineQueue && o.Offline != relay.OfflineReject {
		return cmdutil.Usagef("--offline %q: want queue or reject", o.Offline)
	}
	var src string
	if o.TokensFile != "" {
		b, err := os.ReadFile(o.TokensFile)
		if err != nil {
			return fmt.Errorf("reading --tokens-file: %w", err)
		}
		src = string(b)
	} else {
		src = f.IO.Env("OMEGA_RELAY_TOKENS")
	}
	tokens, err := relay.ParseTokens(src)
	if err != nil {
		return cmdutil.Usagef("client tokens: %w", err)
	}
	dir := o.Dir
	if dir == "" && o.Offline == relay.OfflineQueue {
		dd, err := f.DataDir()
		if err != nil {
			return err
		}
		dir = filepath.Join(dd, "relay")
	}
	log := slog.New(slog.NewJSONHandler(f.IO.Err, nil))
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
	sig, stop := f.IO.Interrupts()
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
