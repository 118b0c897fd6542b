package listen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/tunnel"
	"github.com/spf13/pflag"
)

// relayFlags are the listen flags that only --tunnel relay reads.
type relayFlags struct {
	URL   string
	Token string
}

func addRelayFlags(f *pflag.FlagSet, o *relayFlags) {
	f.StringVar(&o.URL, "relay-url", "", "with --tunnel relay: the relay's URL, e.g. wss://hooks.example.com")
	f.StringVar(&o.Token, "relay-token", "", "with --tunnel relay: this listener's token on the relay; never printed (prefer the env var: ps shows flags)")
	cmdutil.BindEnv(f, "relay-url", "OMEGA_RELAY_URL")
	cmdutil.BindEnv(f, "relay-token", "OMEGA_RELAY_TOKEN")
}

// checkRelayFlags checks the relay flags of listen.
func checkRelayFlags(o *Options) error {
	if o.Tunnel != tunnel.ProviderRelay {
		return nil
	}
	if strings.TrimSpace(o.Relay.URL) == "" {
		return cmdutil.Usagef("--tunnel relay needs --relay-url (OMEGA_RELAY_URL): the URL of `omega-listen relay serve`")
	}
	if _, err := tunnel.RelayWebsocketURL(o.Relay.URL); err != nil {
		return cmdutil.Usagef("--relay-url: %w", err)
	}
	if strings.TrimSpace(o.Relay.Token) == "" {
		return cmdutil.Usagef("--tunnel relay needs --relay-token (OMEGA_RELAY_TOKEN); the relay's operator makes one with `omega-listen relay token NAME`")
	}
	return nil
}

// openRelay opens the relay tunnel.
func openRelay(ctx context.Context, f *cmdutil.Factory, o *Options, dataDir string, log *slog.Logger) (tunnel.Tunnel, error) {
	fmt.Fprintf(f.IO.Err, "Connecting to the relay at %s…\n", o.Relay.URL)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return tunnel.DialRelay(ctx, tunnel.RelayOptions{
		URL: o.Relay.URL, Token: o.Relay.Token, ListenAddr: o.Listen, StateDir: dataDir,
		MaxBody: o.MaxBody + 1<<20, AnswerTimeout: o.Timeout + time.Minute, Logger: log, HoldQueued: true,
	})
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
