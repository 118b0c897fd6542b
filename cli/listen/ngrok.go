package listen

import (
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/omega-listen/omega-listen/cli/endpoints"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/tunnel"
)

// ngrokFlags are the listen flags that only the ngrok tunnel reads.
type ngrokFlags struct {
	AuthToken string
}

func addNgrokFlags(f *pflag.FlagSet, o *ngrokFlags) {
	f.StringVar(&o.AuthToken, "ngrok-authtoken", "", "ngrok authtoken for --tunnel ngrok; never printed (prefer the env var: ps shows flags)")
	cmdutil.BindEnv(f, "ngrok-authtoken", "NGROK_AUTHTOKEN")
}

// ngrokOptions are the ngrok tunnel's options from the listen flags. The
// receiver is served on --listen as well, so that `omega-listen trigger`
// reaches it without the round trip through ngrok. Startup is bounded (see
// tunnel.ListenNgrok), and its errors already say what to do next.
func ngrokOptions(o *Options, log *slog.Logger) tunnel.NgrokOptions {
	return tunnel.NgrokOptions{
		AuthToken:     o.Ngrok.AuthToken,
		Domain:        o.Domain,
		ListenAddr:    o.Listen,
		Logger:        log,
		Description:   endpoints.Tag,
		ClientVersion: cmdutil.Version(),
	}
}
