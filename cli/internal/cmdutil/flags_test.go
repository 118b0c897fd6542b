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
	tests := []struct{ in, want, err string }{
		{"8888/webhook", "http://localhost:8888/webhook", ""},
		{"webhook", "", "not a host this machine can resolve. Accepted forms: 8888, 8888/webhook"},
		{"webhook/x", "", "not a host this machine can resolve"},
		{"app:3000/hook", "http://app:3000/hook", ""}, // a name that resolves (a compose service)
		{"http://webhook/", "http://webhook/", ""},    // a URL says what it means
		{"LOCALHOST:1", "http://LOCALHOST:1/", ""},
		{"8888", "http://localhost:8888/", ""},
		{":8888/webhook", "http://localhost:8888/webhook", ""},
		{"localhost:8888/webhook", "http://localhost:8888/webhook", ""},
		{"127.0.0.1:3000", "http://127.0.0.1:3000/", ""},
		{"http://app.test/hook?x=1", "http://app.test/hook?x=1", ""},
		{"https://app.test", "https://app.test/", ""},
		{"[::1]:8080/h", "http://[::1]:8080/h", ""},
		{"  8888 ", "http://localhost:8888/", ""},
		{"", "", "--forward is required"},
		{"ftp://x/y", "", "only http and https"},
		{"http://", "", "no host"},
		{"99999", "", "port must be 1-65535"},
		{"http://u:p@x/", "", "credentials"},
		{"local host:1", "", "spaces"},
		{"localhost:8888/\x1b[2J", "", "control characters"},
	}
	for _, tt := range tests {
		u, err := ParseForward(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseForward(%q) error = %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseForward(%q): %v", tt.in, err)
			continue
		}
		if u.String() != tt.want {
			t.Errorf("ParseForward(%q) = %q, want %q", tt.in, u, tt.want)
		}
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
	for _, bad := range []string{"novalue", ": v", "Bad Name: v", "X: a\r\nInjected: 1", "X: \x00"} {
		if _, err := ParseHeaders([]string{bad}); err == nil {
			t.Errorf("ParseHeaders(%q) accepted", bad)
		}
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
	tests := map[string]string{
		"plain text":        "plain text",
		"evil\x1b[2Jscreen": `evil\x1b[2Jscreen`,
		"tab\there":         `tab\there`,
		"bidi\u202eoops":    `bidi\u202eoops`,
		"ünïcode ok":        "ünïcode ok",
		"bad\xffutf8":       `bad\xffutf8`,
		"mark\u200fflip":    `mark\u200fflip`,
		"C1\u009bcsi":       `C1\u009bcsi`,
	}
	for in, want := range tests {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
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
