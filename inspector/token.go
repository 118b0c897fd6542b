package inspector

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// MinTokenLen is the shortest token accepted: 22 base64url characters hold
// the 128 bits NewToken draws.
const MinTokenLen = 22

// NewToken returns a fresh secret path segment: 128 random bits, base64url
// without padding (22 characters).
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidToken checks a user-chosen token: at least MinTokenLen characters,
// each one of A-Z a-z 0-9 _ -, so it is a single URL path segment that
// needs no escaping and is too long to guess.
func ValidToken(s string) error {
	const advice = "use at least 22 characters of A-Z a-z 0-9 _ -, or leave --token unset for a random one"
	for i := 0; i < len(s); i++ {
		if !tokenChar(s[i]) {
			return fmt.Errorf("token has a character %q at position %d that is not allowed; %s", s[i], i+1, advice)
		}
	}
	if len(s) < MinTokenLen {
		return fmt.Errorf("token is %d characters long, too short to be secret; %s", len(s), advice)
	}
	return nil
}

func tokenChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}
