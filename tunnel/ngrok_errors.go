package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ErrNoAuthToken is returned by ListenNgrok, before any network use, when
// no ngrok authtoken was given.
var ErrNoAuthToken = errors.New("ngrok needs an authtoken: get one at " + NgrokAuthtokenPage)

// NgrokAuthtokenPage is where an ngrok account's authtoken is.
const NgrokAuthtokenPage = "https://dashboard.ngrok.com/get-started/your-authtoken"

// ErrNgrokStartTimeout is what a startup that ran out of time wraps: ngrok
// neither connected nor refused within NgrokOptions.StartTimeout.
var ErrNgrokStartTimeout = errors.New("ngrok start timed out")

// NgrokError is a failure to start the ngrok tunnel, told to the user.
// ngrok's own message is cut to its first sentence and never contains the
// authtoken, even where ngrok's server echoes it.
type NgrokError struct {
	// Code is ngrok's error code such as ERR_NGROK_105, or "" when ngrok
	// did not answer (unreachable, timed out).
	Code string
	// Msg is ngrok's message when there is a Code; otherwise it is the
	// whole first line of the error.
	Msg string
	// Hint says what to do next, in ngrok's terms (the command layer
	// knows which of its flags to name).
	Hint string
	// Unreachable: ngrok did not answer at startup (no Code), as opposed
	// to a session that was lost after it started.
	Unreachable bool

	op  string // what ngrok refused: "connection" or "endpoint"
	err error  // ErrNgrokStartTimeout or nil: never an error that may hold the token
}

func (e *NgrokError) Error() string {
	var b strings.Builder
	if e.Code != "" {
		op := e.op
		if op == "" {
			op = opConnection
		}
		fmt.Fprintf(&b, "ngrok refused the %s (%s): %s", op, e.Code, e.Msg)
	} else {
		b.WriteString(e.Msg)
	}
	if e.Hint != "" {
		b.WriteString("\n  Hint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap gives ErrNgrokStartTimeout for a timeout, so errors.Is can tell.
func (e *NgrokError) Unwrap() error { return e.err }

const (
	opConnection = "connection"
	opEndpoint   = "endpoint"

	ngrokDefaultServer = "connect.ngrok-agent.com:443"

	hintToken       = "copy your authtoken from " + NgrokAuthtokenPage
	hintUnreachable = "check this machine's internet connection, proxy and firewall (ngrok's agent connects to " + ngrokDefaultServer + ")"
)

// ngrokHints are one-line hints for the codes people meet most. Codes and
// meanings are from https://ngrok.com/docs/errors.
var ngrokHints = map[string]string{
	"ERR_NGROK_105":   "the authtoken is malformed; " + hintToken,
	"ERR_NGROK_106":   "that is an old ngrok v1 authtoken; " + hintToken,
	"ERR_NGROK_107":   "the authtoken is not valid (reset or revoked?); " + hintToken,
	"ERR_NGROK_4018":  "ngrok needs a verified account and its authtoken; " + hintToken,
	"ERR_NGROK_108":   "your ngrok plan allows no more simultaneous agent sessions: stop the other ngrok agent or omega-listen (see https://dashboard.ngrok.com/agents)",
	"ERR_NGROK_120":   "this build's ngrok library is no longer supported: update omega-listen",
	"ERR_NGROK_121":   "this build's ngrok library is too old for your account: update omega-listen",
	"ERR_NGROK_15002": "your ngrok plan needs a domain: pass yours (listed at https://dashboard.ngrok.com/domains)",
	"ERR_NGROK_15000": "your ngrok plan does not allow that domain: pass one listed at https://dashboard.ngrok.com/domains",
	"ERR_NGROK_314":   "custom hostnames need a paid ngrok plan: pass a domain listed at https://dashboard.ngrok.com/domains",
	"ERR_NGROK_320":   "the domain is reserved by another ngrok account: check that the authtoken belongs to the account that owns it (https://dashboard.ngrok.com/domains)",
	"ERR_NGROK_334":   "the domain is already online in another agent (another omega-listen or ngrok?): stop that one first, or choose another domain",
	"ERR_NGROK_354":   "the domain must be reserved first: reserve it at https://dashboard.ngrok.com/domains, or pass one listed there",
	"ERR_NGROK_7117":  "the domain is not reserved: reserve it at https://dashboard.ngrok.com/domains, or pass one listed there",
	"ERR_NGROK_7118":  "the domain is not reserved by your account: pass one listed at https://dashboard.ngrok.com/domains",
}

var ngrokCodeRE = regexp.MustCompile(`ERR_NGROK_[0-9]+`)

// ngrokCodeOf finds ngrok's error code and message in an SDK error. The
// SDK's errors carry them through ErrorCode/Msg (its internal errors) or
// Code (ngrok.Error); the text itself is the last resort.
func ngrokCodeOf(err error) (code, msg string) {
	var internal interface{ ErrorCode() string }
	if errors.As(err, &internal) && internal.ErrorCode() != "" {
		code = internal.ErrorCode()
		if m, ok := internal.(interface{ Msg() string }); ok {
			return code, m.Msg()
		}
		return code, internal.(error).Error()
	}
	var public interface{ Code() string }
	if errors.As(err, &public) && public.Code() != "" {
		return public.Code(), public.(error).Error()
	}
	if c := ngrokCodeRE.FindString(err.Error()); c != "" {
		return c, err.Error()
	}
	return "", err.Error()
}

// classifyStartError turns the error that ended startup into what the user
// reads. secret is redacted from anything taken from ngrok.
func classifyStartError(err error, op, secret string) *NgrokError {
	code, msg := ngrokCodeOf(err)
	if code == "" {
		what := "could not reach ngrok"
		if op == opEndpoint {
			what = "ngrok did not open the endpoint"
		}
		return &NgrokError{Msg: what + ": " + cleanLine(msg, secret), Hint: hintUnreachable, Unreachable: true, op: op}
	}
	return &NgrokError{Code: code, Msg: cleanSentence(msg, secret), Hint: hintFor(code), op: op}
}

// classifySessionError describes a lost session for Status.Err. The SDK
// reconnects by itself, so there is a hint only when ngrok gave a code.
func classifySessionError(err error, secret string) error {
	if err == nil {
		return nil
	}
	code, msg := ngrokCodeOf(err)
	if code == "" {
		return &NgrokError{Msg: "lost the connection to ngrok: " + cleanLine(msg, secret)}
	}
	return &NgrokError{Code: code, Msg: cleanSentence(msg, secret), Hint: hintFor(code), op: opConnection}
}

// cleanLine and cleanSentence redact before and after reshaping the text,
// since dropping codes and folding lines could join a split secret.
func cleanLine(s, secret string) string {
	return redact(oneLine(redact(s, secret)), secret)
}

func cleanSentence(s, secret string) string {
	return redact(firstSentence(redact(s, secret)), secret)
}

func hintFor(code string) string {
	if h, ok := ngrokHints[code]; ok {
		return h
	}
	return "see https://ngrok.com/docs/errors/" + strings.ToLower(code)
}

const redacted = "<redacted>"

// redact removes the secret from s. ngrok's server echoes a rejected
// authtoken in its message ("Your authtoken: ..."), and SDK errors and logs
// pass such messages on.
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, redacted)
}

// redactError is err's text without the secret. It does not wrap err, so
// the secret cannot be reached through errors.Unwrap either.
func redactError(err error, secret string) error {
	if err == nil {
		return nil
	}
	return errors.New(redact(err.Error(), secret))
}

const maxMsgLen = 300

// oneLine folds whitespace runs (newlines too) into single spaces and caps
// the length, for messages that end up in one line of output.
func oneLine(s string) string {
	return truncate(strings.Join(strings.Fields(s), " "))
}

// firstSentence is the first sentence of one of ngrok's messages, without
// the code lines and documentation links ngrok appends.
func firstSentence(s string) string {
	var kept []string
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(ngrokCodeRE.ReplaceAllString(line, ""))
		if line == "" || strings.HasPrefix(line, "https://ngrok.com/docs/errors") {
			continue
		}
		kept = append(kept, line)
	}
	joined := strings.Join(strings.Fields(strings.Join(kept, " ")), " ")
	if i := strings.Index(joined, ". "); i >= 0 {
		joined = joined[:i+1]
	}
	return truncate(joined)
}

func truncate(s string) string {
	if len(s) <= maxMsgLen {
		return s
	}
	cut := maxMsgLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// redactHandler keeps the secret out of every log record passed through it,
// the SDK's included: message, attributes, groups and errors.
type redactHandler struct {
	inner  slog.Handler
	secret string
}

func newRedactHandler(inner slog.Handler, secret string) slog.Handler {
	if inner == nil {
		inner = slog.DiscardHandler
	}
	return &redactHandler{inner: inner, secret: secret}
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redact(r.Message, h.secret), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &redactHandler{inner: h.inner.WithAttrs(clean), secret: h.secret}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{inner: h.inner.WithGroup(name), secret: h.secret}
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	a.Key = redact(a.Key, h.secret)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redact(v.String(), h.secret))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = h.attr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		// Errors, structs and maps are printed by the inner handler in its
		// own way; if any rendering shows the secret, log the text instead.
		x := v.Any()
		if h.secret != "" {
			renderings := []string{fmt.Sprint(x), fmt.Sprintf("%+v", x), fmt.Sprintf("%#v", x)}
			if b, err := json.Marshal(x); err == nil {
				renderings = append(renderings, string(b))
			}
			for _, s := range renderings {
				if strings.Contains(s, h.secret) {
					return slog.String(a.Key, redact(fmt.Sprintf("%+v", x), h.secret))
				}
			}
		}
		return slog.Attr{Key: a.Key, Value: v}
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}
