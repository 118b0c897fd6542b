package h1

import (
	"net/http"
	"net/url"
	"testing"
)

func TestWriteRequestHead(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:8888/webhook?x=1")
	rt, ok := newRawTarget(u, "")
	if !ok {
		t.Fatal("plain http target refused")
	}
	rb := reqBufPool.Get().(*reqBuf)
	defer rb.free()
	h := http.Header{"User-Agent": nil, "Content-Type": {"application/json"}, "A-First": {" 1 "}, "Content-Length": {"7"}}
	if err := writeRequestHead(rb, "POST", &rt, h, 3); err != nil {
		t.Fatal(err)
	}
	want := "POST /webhook?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8888\r\nContent-Length: 3\r\nA-First: 1\r\nContent-Type: application/json\r\n\r\n"
	if string(rb.b) != want {
		t.Errorf("got\n%q\nwant\n%q", rb.b, want)
	}
}

func TestNewRawTarget(t *testing.T) {
	tests := []struct {
		name             string
		url, hostHeader  string
		ok               bool
		addr, host, path string
	}{
		{"host, port and path", "http://localhost:8888/webhook", "", true, "localhost:8888", "localhost:8888", "/webhook"},
		{"no port", "http://localhost/a?b=c%20d", "", true, "localhost:80", "localhost", "/a?b=c%20d"},
		{"no path", "http://127.0.0.1:3000", "", true, "127.0.0.1:3000", "127.0.0.1:3000", "/"},
		{"IPv6", "http://[::1]:3000/x", "", true, "[::1]:3000", "[::1]:3000", "/x"},
		{"IPv6 with a zone", "http://[fe80::1%25eth0]:3000/x", "", true, "[fe80::1%eth0]:3000", "[fe80::1]:3000", "/x"},
		{"own Host header", "http://127.0.0.1:3000/x", "myapp.test", true, "127.0.0.1:3000", "myapp.test", "/x"},
		{"Host header with a line break is dropped", "http://127.0.0.1:3000/x", "bad host\r\nX: 1", true, "127.0.0.1:3000", "", "/x"},
		{"non-ASCII Host header", "http://127.0.0.1:3000/x", "bücher.example", false, "", "", ""},
		{"https", "https://localhost:8443/webhook", "", false, "", "", ""},
		{"non-ASCII host", "http://bücher.example/x", "", false, "", "", ""},
		{"opaque", "http:opaque", "", false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			rt, ok := newRawTarget(u, tt.hostHeader)
			if ok != tt.ok || rt.addr != tt.addr || rt.host != tt.host || rt.uri != tt.path {
				t.Errorf("%s (Host %q): %+v %v, want addr %q host %q uri %q ok %v", tt.url, tt.hostHeader, rt, ok, tt.addr, tt.host, tt.path, tt.ok)
			}
		})
	}
}
