package text

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ShellQuote quotes s as one POSIX shell word. A plain word stays as it is;
// other display-safe text goes in single quotes, where nothing is special
// but the quote itself; anything else (control characters, invalid UTF-8,
// invisible characters) becomes "$(printf '…')" with every unprintable
// byte as an octal escape, so the command shows on a terminal as exactly
// what it runs. (Command substitution drops trailing newlines; callers
// pass none.)
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:,+@") == "" {
		return s
	}
	if DisplaySafe(s, false) {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return `"$(printf ` + PrintfFormat([]byte(s)) + `)"`
}

// PrintfFormat renders b as a single-quoted printf format that prints
// exactly b: only printable ASCII in the result, %, \ and ' escaped, a
// leading '-' escaped (printf would take it for an option), every other
// byte as a three-digit octal escape (three digits, so a digit that follows
// is not taken into the escape).
func PrintfFormat(b []byte) string {
	var s strings.Builder
	s.Grow(len(b) + 2)
	s.WriteByte('\'')
	for i, c := range b {
		switch {
		case i == 0 && c == '-':
			s.WriteString(`\055`)
		case c == '\'':
			s.WriteString(`'\''`)
		case c == '%':
			s.WriteString("%%")
		case c == '\\':
			s.WriteString(`\\`)
		case c == '\n':
			s.WriteString(`\n`)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			fmt.Fprintf(&s, `\%03o`, c)
		}
	}
	s.WriteByte('\'')
	return s.String()
}

// DisplaySafe reports whether s can be printed on a terminal as is: valid
// UTF-8 without control characters (allowNL lets newlines and tabs
// through) and without the invisible characters that reorder or hide text.
func DisplaySafe(s string, allowNL bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if allowNL && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || unsafeRune(r) || r == '\u200b' || r == '\ufeff' {
			return false
		}
	}
	return true
}

// IsToken reports whether s is an HTTP token (RFC 9110 5.6.2): what a
// header name or a method must be.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenByte[s[i]] {
			return false
		}
	}
	return true
}

var tokenByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// IsTokenByte reports whether c may appear in an HTTP token.
func IsTokenByte(c byte) bool { return tokenByte[c] }

// Bytes writes a byte count the one way omega-listen shows sizes, which
// ParseBytes reads back: "512 bytes", "4 KiB", "1.5 KiB", "10 MiB", "2 GiB".
func Bytes(n int64) string {
	const kib, mib, gib = 1 << 10, 1 << 20, 1 << 30
	unit := func(div int64, name string) string {
		if n%div == 0 {
			return strconv.FormatInt(n/div, 10) + " " + name
		}
		return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + name
	}
	switch {
	case n >= gib:
		return unit(gib, "GiB")
	case n >= mib:
		return unit(mib, "MiB")
	case n >= kib:
		return unit(kib, "KiB")
	case n == 1:
		return "1 byte"
	default:
		return strconv.FormatInt(n, 10) + " bytes"
	}
}

// ParseBytes reads a size as users write it: "10MiB", "10 MiB", "512k",
// "1.5mb", "4096" (bytes). Units are powers of 1024. It accepts 1 byte to
// 1 TiB.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		return 0, fmt.Errorf("size %q: no number", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1, "byte": 1, "bytes": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KiB, MiB or GiB)", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %v", s, err)
	}
	v := f * mult
	if v < 1 || v > 1<<40 {
		return 0, fmt.Errorf("size %q: must be between 1 byte and 1 TiB", s)
	}
	return int64(v), nil
}

// Duration writes a latency the one way omega-listen shows them: 850µs,
// 3.1ms, 1.25s.
func Duration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return d.Round(10 * time.Millisecond).String()
}
