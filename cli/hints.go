package cli

import (
	"errors"
	"net/http"
	"strings"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/replay"
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
}

// sentinelHint is the hinter for a sentinel error: its words, then advice.
func sentinelHint(sentinel error, advice string) hinter {
	return func(err error) (error, string, bool) {
		if !errors.Is(err, sentinel) {
			return nil, "", false
		}
		return sentinel, sentinel.Error() + advice, true
	}
}

// withHint returns err with the command line's advice added to the typed
// errors of the lower packages it wraps. It keeps err's chain (errors.Is
// and errors.As see through it) and returns err itself when there is
// nothing to add.
func withHint(err error) error {
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
