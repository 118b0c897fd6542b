package omega

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/omega-listen/omega-listen/text"
)

// ErrNoAPIKey is returned by NewClient when no API key was given.
var ErrNoAPIKey = errors.New("no Omega API key: set OMEGA_API_KEY or pass --api-key (or use --emulate)")

// AuthError means Omega refused the API key (401 or 403). Its text never
// contains the key.
type AuthError struct {
	Status  int
	Message string // Omega's message, if it sent one
}

func (e *AuthError) Error() string {
	what := statusLine(e.Status)
	if e.Message != "" {
		what += `: "` + e.Message + `"`
	}
	return fmt.Sprintf("Omega rejected the API key (%s). Check OMEGA_API_KEY (or --api-key): it must be a valid Omega API key for this account.", what)
}

// APIError is any other non-2xx answer from Omega.
type APIError struct {
	Method string
	Path   string // the request's URL path
	Status int
	// Message is Omega's own message ("message" or "error" of a JSON body)
	// or, for a body that is not JSON, a short escaped snippet of it.
	Message string
	// Body is the start of the answer's body, for debugging.
	Body string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Omega answered %s to %s %s", statusLine(e.Status), e.Method, e.Path)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	switch {
	case e.Status == http.StatusNotFound:
		b.WriteString(" (not found: check the id, or --base-url)")
	case e.Status >= 300 && e.Status < 400:
		b.WriteString(" (a redirect: check --base-url, it should be Omega's API base, e.g. " + DefaultBaseURL + ")")
	case e.Status >= 500:
		b.WriteString(" (a problem on Omega's side: try again later)")
	}
	return b.String()
}

// IsNotFound reports whether err is, or wraps, Omega's 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// DecodeError means Omega's answer was not the JSON expected, which most
// often means --base-url points at something that is not Omega's API.
type DecodeError struct {
	Method      string
	Path        string
	Status      int
	ContentType string
	Snippet     string // the start of the body, control characters escaped
	Err         error
}

func (e *DecodeError) Error() string {
	ct := e.ContentType
	if ct == "" {
		ct = "no Content-Type"
	} else {
		ct = "Content-Type " + ct
	}
	body := "an empty body"
	if e.Snippet != "" {
		body = "body starting " + `"` + e.Snippet + `"`
	}
	msg := fmt.Sprintf("the answer to %s %s was not the JSON Omega sends (%s, %s, %s)", e.Method, e.Path, statusLine(e.Status), ct, body)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + ". Is --base-url right? It should be Omega's API base, e.g. " + DefaultBaseURL
}

func (e *DecodeError) Unwrap() error { return e.Err }

func statusLine(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprintf("%d", code)
}

// snippetLen is how much of a body an error shows.
const snippetLen = 120

// snippet returns the first ~n bytes of b as text safe to print to a
// terminal: control characters and invalid UTF-8 are escaped, so a hostile
// or broken server cannot drive the user's terminal through an error message.
func snippet(b []byte, n int) string {
	cut := false
	if len(b) > n {
		// Back off to a rune start so the cut does not split a character.
		for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(b[n]); i++ {
			n--
		}
		b, cut = b[:n], true
	}
	s := text.Sanitize(string(b))
	if cut {
		s += "…"
	}
	return s
}
