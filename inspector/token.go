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

// TokenError is a user-chosen token ValidToken refuses.
type TokenError struct {
	// Pos is the 1-based position of the first character that is not
	// allowed, or 0 when the token is only too short.
	Pos  int
	Char byte // the character at Pos
	Len  int  // the token's length
}

// tokenAdvice is what a token must be.
const tokenAdvice = "use at least 22 characters of A-Z a-z 0-9 _ -"

func (e *TokenError) Error() string {
	if e.Pos > 0 {
		return fmt.Sprintf("token has a character %q at position %d that is not allowed; %s", e.Char, e.Pos, tokenAdvice)
	}
	return fmt.Sprintf("token is %d characters long, too short to be secret; %s", e.Len, tokenAdvice)
}

// ValidToken checks a user-chosen token: at least MinTokenLen characters,
// each one of A-Z a-z 0-9 _ -, so it is a single URL path segment that
// needs no escaping and is too long to guess. Its error is a *TokenError.
func ValidToken(s string) error {
	for i := 0; i < len(s); i++ {
		if !tokenChar(s[i]) {
			return &TokenError{Pos: i + 1, Char: s[i], Len: len(s)}
		}
	}
	if len(s) < MinTokenLen {
		return &TokenError{Len: len(s)}
	}
	return nil
}

func tokenChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}
