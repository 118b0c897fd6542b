package cmdutil

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/relay"
	"github.com/omega-listen/omega-listen/replay"
	"github.com/omega-listen/omega-listen/tunnel"
)

// The packages below the commands return typed errors that say what went
// wrong in their own terms; none of them knows the flags. withHint is the
// one place that turns those errors into advice about this command line:
// which flag or environment variable to use.

// hinter recognises one typed error somewhere in err's chain and says how
// the command line words it: target is the error found, text its words
// with the flag-level advice. ok is false when err holds no such error.
type hinter func(err error) (target error, text string, ok bool)

// hinters are tried in order; each rewrites the words of the error it
// recognises, wherever it sits in the message.
var hinters = []hinter{
	storeHint,
	selectorHint,
	targetHint,
	sentinelHint(omega.ErrNoAPIKey, ": set OMEGA_API_KEY or pass --api-key (or use --emulate)"),
	sentinelHint(omega.ErrBadAPIKey, ": check OMEGA_API_KEY (or --api-key)"),
	baseURLHint,
	authHint,
	apiHint,
	decodeHint,
	sentinelText(tunnel.ErrNoAuthToken, "ngrok needs an authtoken: set NGROK_AUTHTOKEN or pass --ngrok-authtoken.\n"+
		"  Get one at "+tunnel.NgrokAuthtokenPage+"\n"+
		"  Or go without ngrok: --tunnel none --public-url https://your-tunnel.example (a tunnel you run yourself),\n"+
		"  or --emulate (everything local, no accounts)"),
	ngrokHint,
	listenHint,
	sentinelText(tunnel.ErrNoRelayToken, "no relay token: pass --relay-token or set OMEGA_RELAY_TOKEN (the relay's operator makes one with `omega-listen relay token NAME`)"),
	sentinelText(tunnel.ErrRelayURLCredentials, "must not carry a user, query or fragment (the token goes in --relay-token)"),
	relayUnreachableHint,
	relayRejectedHint,
	tokenHint,
	sentinelText(relay.ErrNoClientTokens, "no client tokens: set OMEGA_RELAY_TOKENS=name:token,… or pass --tokens-file (make a token with `omega-listen relay token NAME`)"),
}

// sentinelHint is the hinter for a sentinel error: its words, then advice.
func sentinelHint(sentinel error, advice string) hinter {
	return sentinelText(sentinel, sentinel.Error()+advice)
}

// sentinelText is the hinter for a sentinel error the command line words
// differently as a whole.
func sentinelText(sentinel error, text string) hinter {
	return func(err error) (error, string, bool) {
		if !errors.Is(err, sentinel) {
			return nil, "", false
		}
		return sentinel, text, true
	}
}

// WithHint returns err with the command line's advice added to the typed
// errors of the lower packages it wraps. It keeps err's chain (errors.Is
// and errors.As see through it) and returns err itself when there is
// nothing to add.
func WithHint(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, h := range hinters {
		target, text, ok := h(err)
		if !ok {
			continue
		}
		old := target.Error()
		if old == text {
			continue
		}
		if i := strings.Index(msg, old); i >= 0 {
			msg = msg[:i] + text + msg[i+len(old):]
		} else {
			// The words were reshaped on the way up: say it in full.
			msg += "\n  " + text
		}
		changed = true
	}
	if !changed {
		return err
	}
	return &hintedError{err: err, msg: msg}
}

// hintedError is an error with its message reworded by withHint.
type hintedError struct {
	err error
	msg string
}

func (e *hintedError) Error() string { return e.msg }
func (e *hintedError) Unwrap() error { return e.err }

func storeHint(err error) (error, string, bool) {
	var e *capture.StoreError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	text := e.Error()
	switch e.Problem {
	case capture.NotADirectory:
		text += ": choose another --data-dir"
	case capture.NewerSchema:
		text += " or choose another --data-dir"
	case capture.UnknownSchema:
		text += " (or choose another --data-dir)"
	case capture.DamagedIndex:
		text += ", or choose another --data-dir"
	}
	return e, text, true
}

func selectorHint(err error) (error, string, bool) {
	var e *replay.SelectorError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	var text string
	switch e.Problem {
	case replay.NegativeLast:
		text = "--last must be a positive number"
	case replay.FutureSince:
		text = "--since must not be in the future"
	case replay.IDsAndFilters:
		text = "give capture IDs or filters (--last, --type, --since, --failed, --all), not both"
	case replay.AllAndFilters:
		text = "--all selects every capture: drop it, or drop the other filters"
	case replay.NoSelection:
		text = "say what to replay: capture IDs, or --last N, --type T, --since WHEN, --failed, or --all"
	case replay.EmptyType:
		text = "--type: empty event type"
	default:
		text = e.Error()
	}
	return e, text, true
}

func targetHint(err error) (error, string, bool) {
	var e *replay.TargetError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	if e.Err == nil {
		return e, e.Error() + ": give one (--to)", true
	}
	return e, e.Error() + "; give another target (--to)", true
}

func baseURLHint(err error) (error, string, bool) {
	var e *omega.BaseURLError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	return e, e.Error() + " with --base-url or OMEGA_BASE_URL", true
}

func authHint(err error) (error, string, bool) {
	var e *omega.AuthError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	return e, "Omega rejected the API key (" + e.Reason() + "). Check OMEGA_API_KEY (or --api-key): it must be a valid Omega API key for this account.", true
}

func apiHint(err error) (error, string, bool) {
	var e *omega.APIError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	switch {
	case e.Status == http.StatusNotFound:
		return e, e.Summary() + " (not found: check the id, or --base-url)", true
	case e.Status >= 300 && e.Status < 400:
		return e, e.Summary() + " (a redirect: check --base-url, it should be Omega's API base, e.g. " + omega.DefaultBaseURL + ")", true
	}
	return nil, "", false
}

func decodeHint(err error) (error, string, bool) {
	var e *omega.DecodeError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	return e, e.Summary() + ". Is --base-url right? It should be Omega's API base, e.g. " + omega.DefaultBaseURL, true
}

// ngrokFlagHints are the hints, for ngrok's codes whose remedy is one of
// this command line's flags, that replace the tunnel package's own.
var ngrokFlagHints = map[string]string{
	"ERR_NGROK_105":   "the authtoken is malformed; " + ngrokTokenHint,
	"ERR_NGROK_106":   "that is an old ngrok v1 authtoken; " + ngrokTokenHint,
	"ERR_NGROK_107":   "the authtoken is not valid (reset or revoked?); " + ngrokTokenHint,
	"ERR_NGROK_4018":  "ngrok needs a verified account and its authtoken; " + ngrokTokenHint,
	"ERR_NGROK_108":   "your ngrok plan allows no more simultaneous agent sessions: stop the other ngrok agent or omega-listen (see https://dashboard.ngrok.com/agents), or use --tunnel none --public-url",
	"ERR_NGROK_15002": "your ngrok plan needs a domain: pass yours (listed at https://dashboard.ngrok.com/domains) with --domain",
	"ERR_NGROK_15000": "your ngrok plan does not allow that domain: pass one listed at https://dashboard.ngrok.com/domains with --domain",
	"ERR_NGROK_314":   "custom hostnames need a paid ngrok plan: pass a domain listed at https://dashboard.ngrok.com/domains with --domain",
	"ERR_NGROK_320":   "--domain is reserved by another ngrok account: check that the authtoken belongs to the account that owns it (https://dashboard.ngrok.com/domains)",
	"ERR_NGROK_334":   "--domain is already online in another agent (another omega-listen or ngrok?): stop that one first, or choose another --domain",
	"ERR_NGROK_354":   "--domain must be reserved first: reserve it at https://dashboard.ngrok.com/domains, or pass one listed there",
	"ERR_NGROK_7117":  "--domain is not reserved: reserve it at https://dashboard.ngrok.com/domains, or pass one listed there",
	"ERR_NGROK_7118":  "--domain is not reserved by your account: pass one listed at https://dashboard.ngrok.com/domains",
}

const (
	ngrokTokenHint   = "check NGROK_AUTHTOKEN (or --ngrok-authtoken): copy your authtoken from " + tunnel.NgrokAuthtokenPage
	ngrokWithoutHint = "or go without ngrok: --tunnel none --public-url URL, or --emulate"
)

func ngrokHint(err error) (error, string, bool) {
	var e *tunnel.NgrokError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	c := *e
	switch h, ok := ngrokFlagHints[e.Code]; {
	case ok:
		c.Hint = h
	case e.Unreachable:
		c.Hint = e.Hint + "; " + ngrokWithoutHint
	default:
		return nil, "", false
	}
	return e, c.Error(), true
}

func listenHint(err error) (error, string, bool) {
	var e *tunnel.ListenError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	var text string
	switch e.Problem {
	case tunnel.AddressInUse:
		text = fmt.Sprintf("address %s is already in use; choose another with --listen or stop the other process: %v", e.Addr, e.Err)
	case tunnel.NotPermitted:
		text = fmt.Sprintf("not allowed to listen on %s; choose a port above 1023 with --listen: %v", e.Addr, e.Err)
	case tunnel.NotLocalAddress:
		text = fmt.Sprintf("address %s is not an address of this machine; use 127.0.0.1:PORT with --listen: %v", e.Addr, e.Err)
	default:
		text = fmt.Sprintf("cannot listen on %s: %v; choose another address with --listen", e.Addr, e.Err)
	}
	return e, text, true
}

func relayUnreachableHint(err error) (error, string, bool) {
	var e *tunnel.RelayUnreachableError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	return e, e.Error() + "; check --relay-url (OMEGA_RELAY_URL) and that `omega-listen relay serve` runs there", true
}

// relayRejectedHint: a relay that does not know the token (not one whose
// name another listener took over). A relay of an older version already
// names the flag itself.
func relayRejectedHint(err error) (error, string, bool) {
	var e *tunnel.RelayRejectedError
	if !errors.As(err, &e) || e.Replaced || !strings.Contains(e.Reason, "does not accept this token") || strings.Contains(e.Reason, "--relay-token") {
		return nil, "", false
	}
	return e, e.Error() + "; check --relay-token (OMEGA_RELAY_TOKEN) against the relay's tokens", true
}

func tokenHint(err error) (error, string, bool) {
	var e *inspector.TokenError
	if !errors.As(err, &e) {
		return nil, "", false
	}
	return e, e.Error() + ", or leave --token unset for a random one", true
}
