package cli

import (
	"context"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/omega-listen/omega-listen/tunnel"
)

// ngrokFlags are the listen flags that only the ngrok tunnel reads.
type ngrokFlags struct {
	AuthToken string
}

func addNgrokFlags(f *pflag.FlagSet, o *ngrokFlags) {
	f.StringVar(&o.AuthToken, "ngrok-authtoken", "", "ngrok authtoken for --tunnel ngrok; never printed (prefer the env var: ps shows flags)")
	bindEnv(f, "ngrok-authtoken", "NGROK_AUTHTOKEN")
}

// openNgrok opens the ngrok tunnel with the listen flags.
func openNgrok(ctx context.Context, _ Streams, o *listenOptions, log *slog.Logger) (tunnel.Tunnel, error) {
	return startNgrok(ctx, o, o.Ngrok, log)
}

// startNgrok opens the ngrok tunnel. The receiver is served on --listen as
// well, so that `omega-listen trigger` reaches it without the round trip
// through ngrok. Startup is bounded (see tunnel.ListenNgrok), and its errors
// already say what to do next.
func startNgrok(ctx context.Context, o *listenOptions, nf ngrokFlags, log *slog.Logger) (tunnel.Tunnel, error) {
	return tunnel.ListenNgrok(ctx, tunnel.NgrokOptions{
		AuthToken:     nf.AuthToken,
		Domain:        o.Domain,
		ListenAddr:    o.Listen,
		Logger:        log,
		Description:   endpointTag,
		ClientVersion: versionString(),
	})
}
