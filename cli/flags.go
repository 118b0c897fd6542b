package cli

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/text"
)

// normalizeForward turns the --forward shorthands into a URL:
//
//	8888                    → http://localhost:8888/
//	:8888/webhook           → http://localhost:8888/webhook
//	localhost:8888/webhook  → http://localhost:8888/webhook
//	https://app.test/hook   → unchanged
func normalizeForward(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("--forward is required: where your app listens, e.g. --forward localhost:8888/webhook")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == ' ' {
			return nil, fmt.Errorf("--forward %q: contains spaces or control characters", s)
		}
	}
	raw := s
	switch {
	case isDigits(s):
		raw = "http://localhost:" + s
	case strings.HasPrefix(s, ":"):
		raw = "http://localhost" + s
	case strings.Contains(s, "://"):
	default:
		raw = "http://" + s
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--forward %q: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--forward %q: only http and https targets are supported", s)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("--forward %q: no host", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("--forward %q: credentials in the URL are not supported; use -H \"Authorization: ...\"", s)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("--forward %q: port must be 1-65535", s)
		}
	}
	if u.Fragment != "" {
		u.Fragment = ""
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// sizeValue is a pflag.Value for sizes.
type sizeValue struct{ n *int64 }

func (v sizeValue) String() string {
	if v.n == nil {
		return ""
	}
	return text.Bytes(*v.n)
}
func (v sizeValue) Set(s string) error {
	n, err := text.ParseBytes(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}
func (v sizeValue) Type() string { return "size" }

// parseHeaders reads -H "Key: Value" flags.
func parseHeaders(list []string) (http.Header, error) {
	h := http.Header{}
	for _, l := range list {
		k, v, ok := strings.Cut(l, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("-H %q: want \"Key: Value\"", l)
		}
		if !text.IsToken(k) {
			return nil, fmt.Errorf("-H %q: %q is not a valid header name", l, k)
		}
		if err := inspector.CheckExtraHeader(k); err != nil {
			return nil, fmt.Errorf("-H %q: %v", l, err)
		}
		v = strings.TrimSpace(v)
		for _, r := range v {
			if r == '\r' || r == '\n' || r == 0 {
				return nil, fmt.Errorf("-H %q: value contains a line break or NUL", l)
			}
		}
		if strings.EqualFold(k, "Host") && (v == "" || strings.ContainsAny(v, " \t/?#@")) {
			return nil, fmt.Errorf("-H %q: want a host name, optionally with :port, e.g. -H \"Host: myapp.test\"", l)
		}
		h.Add(k, v)
	}
	return h, nil
}

// validListenAddr checks --listen early, with a useful message.
func validListenAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("--listen %q: want HOST:PORT, e.g. 127.0.0.1:0", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--listen %q: bad port", a)
	}
	_ = host
	return nil
}
