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
var ErrNoAPIKey = errors.New("no Omega API key")

// ErrBadAPIKey is returned by NewClient for a key with spaces or control
// characters in it, which no Omega key has.
var ErrBadAPIKey = errors.New("the Omega API key contains spaces or control characters")

// BaseURLError is a base URL NewClient cannot use.
type BaseURLError struct {
	URL string // as given
	Why string // what is wrong with it
}

func (e *BaseURLError) Error() string {
	return fmt.Sprintf("invalid Omega base URL %q: %s; pass an absolute http(s) URL such as %s", e.URL, e.Why, DefaultBaseURL)
}

// AuthError means Omega refused the API key (401 or 403). Its text never
// contains the key.
type AuthError struct {
	Status  int
	Message string // Omega's message, if it sent one
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("Omega rejected the API key (%s): it must be a valid Omega API key for this account", e.Reason())
}

// Reason is Omega's status line and its message, if it sent one.
func (e *AuthError) Reason() string {
	what := statusLine(e.Status)
	if e.Message != "" {
		what += `: "` + e.Message + `"`
	}
	return what
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
	s := e.Summary()
	switch {
	case e.Status == http.StatusNotFound:
		s += " (not found: check the id, or the base URL)"
	case e.Status >= 300 && e.Status < 400:
		s += " (a redirect: check the base URL, it should be Omega's API base, e.g. " + DefaultBaseURL + ")"
	case e.Status >= 500:
		s += " (a problem on Omega's side: try again later)"
	}
	return s
}

// Summary is what Omega answered, without the advice Error adds.
func (e *APIError) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Omega answered %s to %s %s", statusLine(e.Status), e.Method, e.Path)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// IsNotFound reports whether err is, or wraps, Omega's 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// DecodeError means Omega's answer was not the JSON expected, which most
// often means the base URL points at something that is not Omega's API.
type DecodeError struct {
	Method      string
	Path        string
	Status      int
	ContentType string
	Snippet     string // the start of the body, control characters escaped
	Err         error
}

func (e *DecodeError) Error() string {
	return e.Summary() + ". Is the base URL right? It should be Omega's API base, e.g. " + DefaultBaseURL
}

// Summary is what was wrong with the answer, without the advice Error adds.
func (e *DecodeError) Summary() string {
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
	return msg
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
