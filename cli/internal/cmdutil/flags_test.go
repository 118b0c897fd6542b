package cmdutil

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/text"
)

// noResolver answers for the host names the tests know, and no other.
func noResolver(t testing.TB) {
	old := forwardHostResolves
	forwardHostResolves = func(host string) bool { return host == "app" }
	t.Cleanup(func() { forwardHostResolves = old })
}

func TestNormalizeForward(t *testing.T) {
	noResolver(t)
	tests := []struct{ name, in, want, err string }{
		{"port and path", "8888/webhook", "http://localhost:8888/webhook", ""},
		{"a word that does not resolve", "webhook", "", "not a host this machine can resolve. Accepted forms: 8888, 8888/webhook"},
		{"a path on a name that does not resolve", "webhook/x", "", "not a host this machine can resolve"},
		{"a name that resolves (a compose service)", "app:3000/hook", "http://app:3000/hook", ""},
		{"a URL says what it means", "http://webhook/", "http://webhook/", ""},
		{"upper-case localhost", "LOCALHOST:1", "http://LOCALHOST:1/", ""},
		{"port", "8888", "http://localhost:8888/", ""},
		{"colon, port and path", ":8888/webhook", "http://localhost:8888/webhook", ""},
		{"localhost, port and path", "localhost:8888/webhook", "http://localhost:8888/webhook", ""},
		{"IP and port", "127.0.0.1:3000", "http://127.0.0.1:3000/", ""},
		{"http URL with a query", "http://app.test/hook?x=1", "http://app.test/hook?x=1", ""},
		{"https URL", "https://app.test", "https://app.test/", ""},
		{"IPv6", "[::1]:8080/h", "http://[::1]:8080/h", ""},
		{"spaces around", "  8888 ", "http://localhost:8888/", ""},
		{"empty", "", "", "--forward is required"},
		{"ftp", "ftp://x/y", "", "only http and https"},
		{"no host", "http://", "", "no host"},
		{"port out of range", "99999", "", "port must be 1-65535"},
		{"credentials", "http://u:p@x/", "", "credentials"},
		{"space in the host", "local host:1", "", "spaces"},
		{"control characters", "localhost:8888/\x1b[2J", "", "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseForward(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("ParseForward(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Errorf("ParseForward(%q): %v", tt.in, err)
				return
			}
			if u.String() != tt.want {
				t.Errorf("ParseForward(%q) = %q, want %q", tt.in, u, tt.want)
			}
		})
	}
}

func FuzzNormalizeForward(f *testing.F) {
	for _, s := range []string{"8888", ":8888/webhook", "localhost:8888/webhook", "https://a.b/c?d#e", "[::1]:1", "%", "http://[::1"} {
		f.Add(s)
	}
	noResolver(f)
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseForward(s)
		if err != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.User != nil {
			t.Fatalf("ParseForward(%q) accepted %q", s, u)
		}
		// What we print must not carry terminal control characters.
		for _, r := range u.String() {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("normalized URL %q holds a control character", u)
			}
		}
	})
}

func TestParseHeaders(t *testing.T) {
	h, err := ParseHeaders([]string{"X-Test: a", "X-Test:b", "Authorization: Bearer x:y"})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Values("X-Test"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("X-Test = %q", got)
	}
	if got := h.Get("Authorization"); got != "Bearer x:y" {
		t.Errorf("Authorization = %q", got)
	}
	for _, tc := range []struct {
		name string
		line string
	}{
		{"no colon", "novalue"},
		{"no name", ": v"},
		{"space in the name", "Bad Name: v"},
		{"line break in the value", "X: a\r\nInjected: 1"},
		{"NUL in the value", "X: \x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseHeaders([]string{tc.line}); err == nil {
				t.Errorf("ParseHeaders(%q) accepted", tc.line)
			}
		})
	}
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("X-A: b")
	f.Add("K:\r\nv")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHeaders([]string{s})
		if err != nil {
			return
		}
		for k, vs := range h {
			if !text.IsToken(k) {
				t.Fatalf("accepted header name %q", k)
			}
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("accepted header value %q", v)
				}
			}
		}
	})
}

func TestClean(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "plain text", "plain text"},
		{"escape sequence", "evil\x1b[2Jscreen", `evil\x1b[2Jscreen`},
		{"tab", "tab\there", `tab\there`},
		{"bidi override", "bidi\u202eoops", `bidi\u202eoops`},
		{"non-ASCII letters", "ünïcode ok", "ünïcode ok"},
		{"invalid UTF-8", "bad\xffutf8", `bad\xffutf8`},
		{"right-to-left mark", "mark\u200fflip", `mark\u200fflip`},
		{"8-bit CSI", "C1\u009bcsi", `C1\u009bcsi`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Clean(tc.in); got != tc.want {
				t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// JSON output escapes C1 controls (U+009B is CSI to some terminals) and
// stays the same JSON.
func TestEscapeC1(t *testing.T) {
	in := map[string]string{"type": "video.\u009b31m\u0085x\u00a0é\u009f"}
	data, _ := json.Marshal(in)
	got := EscapeC1(data)
	for r := rune(0x80); r <= 0x9f; r++ {
		if bytes.ContainsRune(got, r) {
			t.Fatalf("%q still holds U+%04X", got, r)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil || back["type"] != in["type"] {
		t.Fatalf("round trip: %q, %v", back["type"], err)
	}
	if !bytes.Contains(got, []byte("\u00a0é")) {
		t.Errorf("escaped more than C1: %q", got)
	}
}

func FuzzEscapeC1(f *testing.F) {
	f.Add("video.\u009b31m")
	f.Add("\xc2")
	f.Fuzz(func(t *testing.T, s string) {
		data, _ := json.Marshal(map[string]string{"v": s})
		got := EscapeC1(data)
		var back map[string]string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("escapeC1 broke the JSON %q: %v", got, err)
		}
		var want map[string]string
		_ = json.Unmarshal(data, &want)
		if back["v"] != want["v"] {
			t.Fatalf("value changed: %q → %q", want["v"], back["v"])
		}
		for r := rune(0x80); r <= 0x9f; r++ {
			if bytes.ContainsRune(got, r) {
				t.Fatalf("%q still holds U+%04X", got, r)
			}
		}
	})
}
