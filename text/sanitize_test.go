package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ name, in, want, wantLines string }{
		{"plain", "plain text", "plain text", "plain text"},
		{"non-ASCII letters", "héllo wörld ✓", "héllo wörld ✓", "héllo wörld ✓"},
		{"CSI clear screen", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`, `\x1b[2J\x1b[H`},
		{"OSC 52 set clipboard", "\x1b]52;c;ZXZpbA==\x07", `\x1b]52;c;ZXZpbA==\x07`, `\x1b]52;c;ZXZpbA==\x07`},
		{"OSC ended by ST", "\x1b]0;title\x1b\\", `\x1b]0;title\x1b\`, `\x1b]0;title\x1b\`},
		{"8-bit CSI", "\u009b31m", `\u009b31m`, `\u009b31m`},
		{"line breaks kept only by SanitizeLines", "a\nb\r\nc\td", `a\nb\r\nc\td`, "a\nb\\r\nc\\td"},
		{"invalid UTF-8", "\xff\xfeok", `\xff\xfeok`, `\xff\xfeok`},
		{"bidi override", "evil\u202egnp.exe", `evil\u202egnp.exe`, `evil\u202egnp.exe`},
		{"line separator", "a\u2028b", `a\u2028b`, `a\u2028b`},
		{"NUL and DEL", "\x00\x7f", `\x00\x7f`, `\x00\x7f`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := SanitizeLines(tt.in); got != tt.wantLines {
				t.Errorf("SanitizeLines(%q) = %q, want %q", tt.in, got, tt.wantLines)
			}
		})
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "ok", "\x1b[2J", "\x1b]52;c;AA\x07", "a\nb\r\n", "\xff", "\u202e", "\u009b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, got := range []string{Sanitize(s), SanitizeLines(s)} {
			if !utf8.ValidString(got) {
				t.Fatalf("invalid UTF-8 out: %q", got)
			}
			for _, r := range got {
				if unsafeRune(r) && r != '\n' {
					t.Fatalf("unsafe rune %U in %q (from %q)", r, got, s)
				}
			}
		}
		if strings.ContainsRune(Sanitize(s), '\n') {
			t.Fatalf("sanitize kept a newline: %q", s)
		}
		if isSafe(s, false) && Sanitize(s) != s {
			t.Fatalf("changed safe text %q", s)
		}
	})
}
