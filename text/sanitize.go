// Package text holds the small pieces of text handling that every part of
// omega-listen shares, each in one place: making outside text safe for a
// terminal, quoting for a shell, HTTP tokens, byte sizes and latencies.
// It imports nothing of the project.
package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes text from outside (a request, the app's answer, an error)
// safe to put on the terminal as one line: control characters, invalid
// UTF-8 and the characters that reorder or break lines are shown escaped,
// so a hostile value cannot move the cursor, recolour the screen, set the
// clipboard or title (ESC, CSI, OSC) or make the line lie about its content.
func Sanitize(s string) string {
	if isSafe(s, false) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	writeEscaped(&b, s, false)
	return b.String()
}

// SanitizeLines is Sanitize for multi-line text (bodies): newlines are
// kept as line breaks, everything else (a CR too: the raw view shows the
// bytes as they are) is escaped as Sanitize does.
func SanitizeLines(s string) string {
	if isSafe(s, true) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	writeEscaped(&b, s, true)
	return b.String()
}

func isSafe(s string, newlines bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			if newlines && c == '\n' {
				continue
			}
			return false
		}
		if c >= 0x80 {
			// Slow path only for non-ASCII text.
			for _, r := range s[i:] {
				if unsafeRune(r) {
					return false
				}
			}
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

// UnsafeRune reports whether r must not reach a terminal raw: C0/C1 controls, DEL, the Unicode line and paragraph
// separators, and the bidirectional overrides and isolates (which can make
// a line display in an order other than its bytes').
func UnsafeRune(r rune) bool { return unsafeRune(r) }

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == utf8.RuneError ||
		r == '\u2028' || r == '\u2029' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') ||
		r == '\u200e' || r == '\u200f' || r == '\u061c'
}

func writeEscaped(b *strings.Builder, s string, newlines bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			writeHex(b, `\x`, uint32(s[i]), 2)
		case newlines && r == '\n':
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unsafeRune(r):
			writeHex(b, `\x`, uint32(r), 2)
		case unsafeRune(r):
			writeHex(b, `\u`, uint32(r), 4)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

func writeHex(b *strings.Builder, prefix string, v uint32, digits int) {
	const hex = "0123456789abcdef"
	b.WriteString(prefix)
	for shift := (digits - 1) * 4; shift >= 0; shift -= 4 {
		b.WriteByte(hex[v>>uint(shift)&0xf])
	}
}
