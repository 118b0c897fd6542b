package h1

import "strings"

// The checks net/http applies to an outgoing request, from
// golang.org/x/net/http/httpguts (whose import would pull x/text into
// go.sum). They are what keeps a header value from splitting a request.

// tokenChars are RFC 9110's tchar, the bytes of header names and methods.
const tokenChars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// hostChars are the bytes net/http allows in a Host header: those of
// uri-host and port, leniently.
const hostChars = "!$%&'()*+,-.:;=[]_~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var isToken, isHostByte = byteSet(tokenChars), byteSet(hostChars)

func byteSet(s string) (set [256]bool) {
	for i := 0; i < len(s); i++ {
		set[s[i]] = true
	}
	return set
}

// validToken reports whether v is a non-empty token: a valid header name
// or method.
func validToken(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isToken[v[i]] {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v has no control byte but space and
// tab: no CR, LF or NUL that would end the header early.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

func validHostHeader(h string) bool {
	for i := 0; i < len(h); i++ {
		if !isHostByte[h[i]] {
			return false
		}
	}
	return true
}

// hasToken reports whether a comma-separated header value in values
// holds token, without regard to case.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}
