package inspector

import (
	"net/http"
	"net/textproto"
	"strings"
)

// Headers omega-listen adds to every forwarded request.
const (
	// HeaderCapture carries the capture's ID, so the app's logs can be
	// matched with omega-listen's.
	HeaderCapture = "Omega-Listen-Capture"
	// HeaderReplay carries the original capture's ID on a replay.
	HeaderReplay = "Omega-Listen-Replay"
)

// isHopByHop reports whether a header belongs to one connection only and so
// must not be passed on (RFC 9110 7.6.1): the fixed list, any Proxy-*
// header, and whatever the Connection header names. Keys are compared
// without regard to case because captured headers may come back from JSON
// in any spelling.
func isHopByHop(key string, connection []string) bool {
	switch {
	case strings.EqualFold(key, "Connection"),
		strings.EqualFold(key, "Keep-Alive"),
		strings.EqualFold(key, "Te"),
		strings.EqualFold(key, "Trailer"),
		strings.EqualFold(key, "Transfer-Encoding"),
		strings.EqualFold(key, "Upgrade"),
		len(key) >= len("Proxy-") && strings.EqualFold(key[:len("Proxy-")], "Proxy-"):
		return true
	}
	for _, v := range connection {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			if tok = textproto.TrimString(tok); tok != "" && strings.EqualFold(tok, key) {
				return true
			}
		}
	}
	return false
}

// connectionValues returns the values of the Connection header whatever
// the spelling of its key.
func connectionValues(h http.Header) []string {
	if v, ok := h["Connection"]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, "Connection") {
			return v
		}
	}
	return nil
}

// copyEndToEnd adds to dst the headers of src that are not hop-by-hop and
// not in skip (compared without regard to case). Value slices are shared,
// not copied: neither side is changed afterwards.
func copyEndToEnd(dst, src http.Header, skip ...string) {
	conn := connectionValues(src)
next:
	for k, v := range src {
		if isHopByHop(k, conn) {
			continue
		}
		for _, s := range skip {
			if strings.EqualFold(k, s) {
				continue next
			}
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if have, ok := dst[ck]; ok {
			// Two spellings of one key (only possible in a hand-edited
			// capture): keep both values rather than lose one.
			dst[ck] = append(have[:len(have):len(have)], v...)
			continue
		}
		dst[ck] = v
	}
}
