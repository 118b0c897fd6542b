package h1

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// rawTarget is what the direct HTTP/1.1 client needs of a target URL,
// worked out once per target instead of once per request.
type rawTarget struct {
	addr string // host:port to dial, also the idle pool's key
	host string // the Host header's value
	uri  string // the request-target of the request line
}

// newRawTarget says how to reach u with the direct client, or false when u
// is anything but a plain http:// URL that net/http would send unchanged.
// Those (https, IDN hosts, odd URLs) go to the Fallback, which also
// produces the errors users see for the broken ones. hostHeader, if not
// empty, is the Host the app is told (http.Request.Host).
func newRawTarget(u *url.URL, hostHeader string) (rawTarget, bool) {
	if u == nil || u.Scheme != "http" || u.Host == "" || u.Opaque != "" || !isASCII(u.Host) || !isASCII(hostHeader) {
		return rawTarget{}, false
	}
	uri := u.RequestURI()
	if hasCTL(uri) {
		return rawTarget{}, false
	}
	// As net/http's Request.write: an ASCII host needs no punycode; an
	// invalid one is sent as an empty Host rather than altered; an IPv6
	// zone never leaves the machine.
	host := u.Host
	if hostHeader != "" {
		host = hostHeader
	}
	if !validHostHeader(host) {
		host = ""
	}
	host = removeZone(host)
	port := u.Port()
	if port == "" {
		port = "80"
	}
	return rawTarget{addr: net.JoinHostPort(u.Hostname(), port), host: host, uri: uri}, true
}

// rawMethod reports whether the direct client sends method as net/http
// would. CONNECT has a request line and answer of its own, and an invalid
// method gets net/http's error from the Transport path.
func rawMethod(method string) bool {
	return method != http.MethodConnect && validToken(method)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}

// removeZone is net/http's: RFC 6874 wants the IPv6 zone dropped from the
// Host header.
func removeZone(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	i := strings.LastIndex(host, "]")
	if i < 0 {
		return host
	}
	j := strings.LastIndex(host[:i], "%")
	if j < 0 {
		return host
	}
	return host[:j] + host[i:]
}

// setBasicAuth is http.Request.SetBasicAuth on a bare header.
func setBasicAuth(h http.Header, u *url.Userinfo) {
	pw, _ := u.Password()
	h["Authorization"] = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw))}
}

// reqBuf is a pooled buffer for one serialised request.
type reqBuf struct {
	b    []byte
	keys []string
}

// inlineBody is the largest body copied next to the headers. Bigger ones
// go out with writev: still one system call, without a copy.
const inlineBody = 64 << 10

var reqBufPool = sync.Pool{New: func() any { return &reqBuf{b: make([]byte, 0, 8<<10)} }}

func (rb *reqBuf) free() {
	if cap(rb.b) > 2*inlineBody {
		return
	}
	rb.b = rb.b[:0]
	clear(rb.keys)
	rb.keys = rb.keys[:0]
	reqBufPool.Put(rb)
}

// writeRequestHead appends to rb the request line and header block exactly
// as http.Transport would write them for this request (with
// DisableCompression, a nil Body when body is empty, and h as the
// Request's Header): Host, User-Agent, Content-Length, then the other
// headers sorted by key, each value trimmed. Header names and values are
// checked as the Transport checks them, with its error text, so a CR or LF
// in a value refuses the request instead of splitting it.
func writeRequestHead(rb *reqBuf, method string, t *rawTarget, h http.Header, bodyLen int) error {
	for k, vv := range h {
		if !validToken(k) {
			return fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !validHeaderValue(v) {
				// The value itself may be secret: only its name is shown.
				return fmt.Errorf("net/http: invalid header field value for %q", k)
			}
		}
	}
	b := rb.b[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, t.uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, t.host...)
	b = append(b, "\r\n"...)

	// A present but empty User-Agent means none; an absent one means Go's
	// default. Forwarder.header always makes it present.
	ua := "Go-http-client/1.1"
	if v, ok := h["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = v[0]
		}
	}
	if ua != "" {
		b = append(b, "User-Agent: "...)
		b = append(b, textproto.TrimString(ua)...)
		b = append(b, "\r\n"...)
	}
	// net/http's transferWriter: any body has its length; an empty one
	// still does for the methods servers expect one with.
	if bodyLen > 0 || method == "POST" || method == "PUT" || method == "PATCH" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(bodyLen), 10)
		b = append(b, "\r\n"...)
	}

	keys := rb.keys[:0]
	for k := range h {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			// Written above, or never taken from Header by net/http.
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, textproto.TrimString(v)...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	rb.b, rb.keys = b, keys
	return nil
}

// wantsClose is http.Request.wantsClose for a header the Forwarder built:
// a -H "Connection: close" means the connection is not kept.
func wantsClose(h http.Header) bool {
	v, ok := h["Connection"]
	return ok && hasToken(v, "close")
}
