package tunnel

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/relay/wire"
)

func TestRelayWebsocketURL(t *testing.T) {
	tests := []struct{ name, in, want, err string }{
		{"wss", "wss://hooks.example.com", "wss://hooks.example.com/connect", ""},
		{"https becomes wss", "https://hooks.example.com/", "wss://hooks.example.com/connect", ""},
		{"http becomes ws", "http://127.0.0.1:8080", "ws://127.0.0.1:8080/connect", ""},
		{"a base path is kept", "ws://h/base/", "ws://h/base/connect", ""},
		{"no scheme", "hooks.example.com", "", "not a URL"},
		{"ftp", "ftp://h", "", "wss://"},
		{"user and password", "wss://u:p@h", "", "user"},
		{"a query", "wss://h?token=x", "", "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RelayWebsocketURL(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("RelayWebsocketURL(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("RelayWebsocketURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRawRequest(t *testing.T) {
	at := time.Date(2026, 12, 2, 12, 3, 4, 5, time.UTC)
	d := &wire.Deliver{ID: 1, Queued: true, AcceptedAt: at, Method: "POST", Target: "/omega/t?a=1&a=2", Host: "hooks.example.com",
		Header: []wire.Header{{Name: "X-Dup", Value: "1"}, {Name: "Content-Length", Value: "999"}, {Name: "X-Dup", Value: "2"}, {Name: QueuedAtHeader, Value: "forged"}, {Name: "Content-Type", Value: "application/json"}},
		Body:   []byte(`{"a":1}`)}
	raw, err := rawRequest(d, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	if string(b) != `{"a":1}` || r.Method != "POST" || r.RequestURI != "/omega/t?a=1&a=2" || r.Host != "hooks.example.com" {
		t.Errorf("request %s %s %s %q", r.Method, r.RequestURI, r.Host, b)
	}
	if got := r.Header["X-Dup"]; len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Errorf("X-Dup %q", got)
	}
	if got := r.Header[QueuedAtHeader]; len(got) != 1 || got[0] != "2026-12-02T12:03:04.000000005Z" {
		t.Errorf("queued-at %q: the relay's time, not the sender's", got)
	}
	for _, tc := range []struct {
		name string
		bad  *wire.Deliver
	}{
		{"space in the method", &wire.Deliver{Method: "PO ST", Target: "/"}},
		{"target not a path", &wire.Deliver{Method: "POST", Target: "x"}},
		{"space in the target", &wire.Deliver{Method: "POST", Target: "/a b"}},
		{"line break in a header value", &wire.Deliver{Method: "POST", Target: "/", Header: []wire.Header{{Name: "X", Value: "a\r\nInjected: 1"}}}},
		{"colon in a header name", &wire.Deliver{Method: "POST", Target: "/", Header: []wire.Header{{Name: "X:Y", Value: "a"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := rawRequest(tc.bad, ""); err == nil {
				t.Errorf("rawRequest(%+v) accepted", tc.bad)
			}
		})
	}
}

// Whatever the relay sends, what reaches the receiver is one well-formed
// request carrying exactly the body sent.
func FuzzRawRequest(f *testing.F) {
	f.Add("POST", "/omega/x?y", "h", "X-A", "v", []byte("{}"))
	f.Add("POST", "/", "", "Content-Length", "5", []byte("abc"))
	f.Fuzz(func(t *testing.T, method, target, host, hname, hval string, body []byte) {
		d := &wire.Deliver{Method: method, Target: target, Host: host, Header: []wire.Header{{Name: hname, Value: hval}}, Body: body}
		raw, err := rawRequest(d, "")
		if err != nil {
			return
		}
		br := bufio.NewReader(bytes.NewReader(raw))
		r, err := http.ReadRequest(br)
		if err != nil {
			return // net/http is stricter about some values; never a second request
		}
		b, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(b, body) {
			t.Fatalf("body %q, want %q (%v)", b, body, err)
		}
		if rest, _ := io.ReadAll(br); len(rest) != 0 {
			t.Fatalf("%d bytes after the request: a second request smuggled in", len(rest))
		}
	})
}

func TestJitter(t *testing.T) {
	if jitter(0) != 0 {
		t.Error("jitter(0) waits")
	}
	d := time.Second
	seen := map[time.Duration]bool{}
	for range 200 {
		j := jitter(d)
		if j < d/2 || j > d {
			t.Fatalf("jitter(%v) = %v, outside [d/2, d]", d, j)
		}
		seen[j] = true
	}
	if len(seen) < 100 {
		t.Errorf("jitter spread over only %d values", len(seen))
	}
}
