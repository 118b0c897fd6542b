package relay

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// MinTokenLen is the shortest client token accepted.
const MinTokenLen = 32

// ErrNoClientTokens is ParseTokens' error for a list that names no
// client at all: the relay would accept no listener.
var ErrNoClientTokens = errors.New("no client tokens (make a token with `omega-listen relay token NAME`)")

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether name can name a client: it is a path segment of
// the public URL and a directory of the queue.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("client name %q: use 1-63 lower-case letters, digits, - or _, starting with a letter or digit", name)
	}
	return nil
}

// NewToken returns a fresh client token: 256 random bits, URL-safe.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ParseTokens reads client tokens as OMEGA_RELAY_TOKENS and tokens files
// hold them: "name:token" entries separated by commas or new lines; blank
// lines and lines starting with # are ignored. It returns name → token.
func ParseTokens(s string) (map[string]string, error) {
	out := map[string]string{}
	seen := map[string]string{}
	for ln, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, e := range strings.Split(line, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			name, tok, ok := strings.Cut(e, ":")
			if !ok {
				return nil, fmt.Errorf("line %d: an entry is not name:token (see `omega-listen relay token NAME`)", ln+1)
			}
			name, tok = strings.TrimSpace(name), strings.TrimSpace(tok)
			if err := ValidName(name); err != nil {
				return nil, fmt.Errorf("line %d: %w", ln+1, err)
			}
			if len(tok) < MinTokenLen {
				return nil, fmt.Errorf("line %d: the token of %q has %d characters; at least %d are needed (make one with `omega-listen relay token %s`)", ln+1, name, len(tok), MinTokenLen, name)
			}
			if strings.ContainsAny(tok, " \t\r:,") {
				return nil, fmt.Errorf("line %d: the token of %q contains a space, tab, colon or comma", ln+1, name)
			}
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("line %d: %q has two tokens; give each name one", ln+1, name)
			}
			if other, dup := seen[tok]; dup {
				return nil, fmt.Errorf("line %d: %q and %q share a token; each name needs its own", ln+1, other, name)
			}
			out[name], seen[tok] = tok, name
		}
	}
	if len(out) == 0 {
		return nil, ErrNoClientTokens
	}
	return out, nil
}
