package text

import (
	"cmp"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{1, "1 byte"}, {512, "512 bytes"}, {1024, "1 KiB"}, {1536, "1.5 KiB"},
		{10 << 20, "10 MiB"}, {10<<20 + 1<<19, "10.5 MiB"}, {2 << 30, "2 GiB"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			got := Bytes(tc.n)
			if got != tc.want {
				t.Fatalf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
			}
			// What Bytes writes, ParseBytes reads back (exactly, for whole units).
			back, err := ParseBytes(got)
			if err != nil || (!strings.Contains(got, ".") && back != tc.n) {
				t.Errorf("ParseBytes(%q) = %d, %v; want %d", got, back, err, tc.n)
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"10MiB", 10 << 20, false},
		{"10 MiB", 10 << 20, false},
		{"10mb", 10 << 20, false},
		{"512KB", 512 << 10, false},
		{"1g", 1 << 30, false},
		{"1048576", 1 << 20, false},
		{"512 bytes", 512, false},
		{"1.5k", 1536, false},
		{"0", 0, true},
		{"", 0, true},
		{"MiB", 0, true},
		{"10 furlongs", 0, true},
		{"1.2.3k", 0, true},
		{"99999999T", 0, true},
	}
	for _, tt := range tests {
		t.Run(cmp.Or(tt.in, "empty"), func(t *testing.T) {
			got, err := ParseBytes(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ParseBytes(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"10MiB", "1.5k", "0", "1e9", "-1", "NaN", "Inf", "3 bytes"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseBytes(s)
		if err == nil && (n < 1 || n > 1<<40) {
			t.Fatalf("ParseBytes(%q) = %d, out of range", s, n)
		}
	})
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Microsecond:  "850µs",
		3100 * time.Microsecond: "3.1ms",
		1254 * time.Millisecond: "1.25s",
	} {
		t.Run(want, func(t *testing.T) {
			if got := Duration(d); got != want {
				t.Errorf("Duration(%v) = %q, want %q", d, got, want)
			}
		})
	}
}

func TestIsToken(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     bool
	}{
		{"header name", "Content-Type", true},
		{"symbols allowed in a token", "X-Omega_1!", true},
		{"method", "POST", true},
		{"empty", "", false},
		{"space", "Bad Name", false},
		{"colon", "a:b", false},
		{"line break", "a\r\nb", false},
		{"non-ASCII", "é", false},
		{"parentheses", "(x)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsToken(tc.in); got != tc.want {
				t.Errorf("IsToken(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// TestShellQuote runs what ShellQuote writes through a real shell: the
// word it prints must come back byte for byte.
func TestShellQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("these tests need sh: %v", err)
	}
	for _, tc := range []struct{ name, s string }{
		{"plain", "plain"},
		{"path with a space", "/tmp/data dir"},
		{"single quote", "it's"},
		{"URL with a query", "http://localhost:8888/webhook?a=1&b=2"},
		{"command substitution", "$(rm -rf /)"},
		{"backquotes", "`x`"},
		{"tab", "tab\there"},
		{"escape sequence", "\x1b[2Jesc"},
		{"leading dash", "-n"},
		{"printf format", "%s\\n"},
		{"invalid UTF-8", "\xff\xfe"},
		{"bidi override", "evil\u202egnp"},
	} {
		s := tc.s
		t.Run(tc.name, func(t *testing.T) {
			q := ShellQuote(s)
			if !DisplaySafe(q, false) {
				t.Errorf("ShellQuote(%q) = %q is not safe to show", s, q)
			}
			out, err := exec.Command(sh, "-c", "printf '%s' "+q).Output()
			if err != nil {
				t.Fatalf("sh -c printf %s: %v", q, err)
			}
			if string(out) != s {
				t.Errorf("ShellQuote(%q) = %s, which the shell reads as %q", s, q, out)
			}
		})
	}
	if ShellQuote("plain-word_1.2/x") != "plain-word_1.2/x" {
		t.Errorf("a plain word is quoted: %s", ShellQuote("plain-word_1.2/x"))
	}
}
