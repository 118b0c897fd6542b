package listen

import (
	"errors"
	"strings"

	"github.com/omega-listen/omega-listen/tunnel"
)

// missingCredentials reports every credential a listen run lacks in one
// message, each with where to get it, so that a first run is not a round
// of fix one, run again, fix the next. Nil when nothing is missing.
func missingCredentials(o *Options, apiKey string) error {
	if o.Emulate {
		return nil
	}
	noKey := strings.TrimSpace(apiKey) == ""
	noToken := o.Tunnel == "ngrok" && strings.TrimSpace(o.Ngrok.AuthToken) == ""
	switch {
	case noToken && !noKey:
		return tunnel.ErrNoAuthToken // names the ways round ngrok too
	case !noKey:
		return nil
	}
	msg := "omega-listen needs an Omega API key: set OMEGA_API_KEY or pass --api-key (from your Omega account's API settings; it is never printed or stored)"
	if noToken {
		msg += ",\n  and an ngrok authtoken: set NGROK_AUTHTOKEN or pass --ngrok-authtoken (get one at https://dashboard.ngrok.com/get-started/your-authtoken)"
	}
	msg += ".\n  Or try it with no account at all: omega-listen --emulate"
	if noToken {
		msg += "\n  Or go without ngrok: --tunnel none --public-url https://your-tunnel.example (a tunnel you run yourself)"
	}
	return errors.New(msg)
}
