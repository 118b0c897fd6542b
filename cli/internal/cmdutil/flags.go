package cmdutil

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/text"
)

// ParseForward turns the --forward shorthands into a URL:
//
//	8888                    → http://localhost:8888/
//	8888/webhook            → http://localhost:8888/webhook
//	:8888/webhook           → http://localhost:8888/webhook
//	localhost:8888/webhook  → http://localhost:8888/webhook
//	https://app.test/hook   → unchanged
func ParseForward(s string) (*url.URL, error) {
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
	port, _, _ := strings.Cut(s, "/")
	switch {
	case isDigits(port):
		// 8888 and 8888/webhook: a port on this machine.
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
	if raw != s && bareWord(u.Hostname()) && !forwardHostResolves(u.Hostname()) {
		// "-f webhook" meant a path, not a host called webhook.
		return nil, fmt.Errorf("--forward %q: %q is not a host this machine can resolve. Accepted forms: 8888, 8888/webhook, :8888/webhook, localhost:8888/webhook, http(s)://host[:port]/path", s, u.Hostname())
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// bareWord: a host name with no dot that is not localhost or an IP
// address, which is more often a path typed without its port than a host.
func bareWord(host string) bool {
	return !strings.Contains(host, ".") && !strings.EqualFold(host, "localhost") && net.ParseIP(host) == nil
}

// forwardHostResolves looks a bare host name up (a compose service, an
// /etc/hosts entry); tests replace it, so no test asks a resolver.
var forwardHostResolves = func(host string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	return err == nil && len(addrs) > 0
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

// SizeValue is a pflag.Value for sizes ("10MiB"): SizeValue{&n}.
type SizeValue struct{ N *int64 }

func (v SizeValue) String() string {
	if v.N == nil {
		return ""
	}
	return text.Bytes(*v.N)
}
func (v SizeValue) Set(s string) error {
	n, err := text.ParseBytes(s)
	if err != nil {
		return err
	}
	*v.N = n
	return nil
}
func (v SizeValue) Type() string { return "size" }

// ParseHeaders reads -H "Key: Value" flags.
func ParseHeaders(list []string) (http.Header, error) {
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
