package inspector

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestIsHopByHop(t *testing.T) {
	conn := []string{"keep-alive, X-Private ,x-other", "", " ,Upgrade"}
	tests := []struct {
		key  string
		want bool
	}{
		{"Connection", true},
		{"connection", true},
		{"Keep-Alive", true},
		{"Te", true},
		{"TE", true},
		{"Trailer", true},
		{"Transfer-Encoding", true},
		{"Upgrade", true},
		{"Proxy-Authorization", true},
		{"Proxy-Connection", true},
		{"proxy-anything", true},
		{"X-Private", true}, // named by Connection
		{"X-Other", true},
		{"Proxy", false},
		{"X-Proxy-Thing", false},
		{"Content-Type", false},
		{"Content-Length", false},
		{"X-Private-Not", false},
		{"Authorization", false},
		{"Host", false}, // not hop-by-hop; the Forwarder drops it separately
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := isHopByHop(tt.key, conn); got != tt.want {
				t.Errorf("isHopByHop(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestCopyEndToEnd(t *testing.T) {
	src := http.Header{
		"Connection":    {"X-Hop"},
		"X-Hop":         {"1"},
		"X-Multi":       {"a", "b"},
		"content-type":  {"application/json"}, // a capture edited by hand
		"Host":          {"example.com"},
		"Keep-Alive":    {"timeout=5"},
		"Authorization": {"Bearer t"},
	}
	dst := http.Header{"X-Existing": {"e"}}
	copyEndToEnd(dst, src, "host")
	want := http.Header{
		"X-Existing":    {"e"},
		"X-Multi":       {"a", "b"},
		"Content-Type":  {"application/json"},
		"Authorization": {"Bearer t"},
	}
	if !equalHeader(dst, want) {
		t.Errorf("copyEndToEnd = %v, want %v", dst, want)
	}
}

// FuzzHeaderFilter checks, for any header and Connection value, that
// nothing hop-by-hop gets through and everything else does, unchanged.
func FuzzHeaderFilter(f *testing.F) {
	f.Add("X-Foo", "bar", "keep-alive, X-Foo")
	f.Add("Proxy-Foo", "x", "")
	f.Add("Content-Type", "application/json", "close")
	f.Add("te", "trailers", "TE")
	f.Add("X-A", "1", ",,, ,X-A ,")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, key, value, connection string) {
		src := http.Header{key: {value}, "Connection": {connection}}
		dst := http.Header{}
		copyEndToEnd(dst, src)

		named := false
		for tok := range strings.SplitSeq(connection, ",") {
			if tok = strings.Trim(tok, " \t\r\n"); tok != "" && strings.EqualFold(tok, key) {
				named = true
			}
		}
		hop := named || strings.HasPrefix(strings.ToLower(key), "proxy-")
		for _, h := range []string{"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"} {
			hop = hop || strings.EqualFold(h, key)
		}

		for k := range dst {
			if strings.EqualFold(k, "Connection") {
				t.Fatalf("Connection header copied: %v", dst)
			}
		}
		var got []string
		found := false
		for k, v := range dst {
			if strings.EqualFold(k, key) {
				found, got = true, v
			}
		}
		if hop && found {
			t.Fatalf("hop-by-hop %q (Connection %q) copied: %v", key, connection, dst)
		}
		if !hop && (!found || !slices.Equal(got, []string{value})) {
			t.Fatalf("end-to-end %q (Connection %q) not copied unchanged: %v", key, connection, dst)
		}
	})
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}
