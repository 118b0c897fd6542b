package cli

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
)

// normalizeForward turns the --forward shorthands into a URL:
//
//	8888                    → http://localhost:8888/
//	8888/webhook            → http://localhost:8888/webhook
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

// parseSize reads sizes like 10MiB, 512KB, 1m, 1048576.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		return 0, fmt.Errorf("size %q: no number", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KiB, MiB or GiB)", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %v", s, err)
	}
	v := f * mult
	if v < 1 || v > 1<<40 {
		return 0, fmt.Errorf("size %q: must be between 1 byte and 1 TiB", s)
	}
	return int64(v), nil
}

// sizeValue is a pflag.Value for sizes.
type sizeValue struct{ n *int64 }

func (v sizeValue) String() string {
	if v.n == nil {
		return ""
	}
	return formatSize(*v.n)
}
func (v sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}
func (v sizeValue) Type() string { return "size" }

func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// parseHeaders reads -H "Key: Value" flags.
func parseHeaders(list []string) (http.Header, error) {
	h := http.Header{}
	for _, l := range list {
		k, v, ok := strings.Cut(l, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("-H %q: want \"Key: Value\"", l)
		}
		if !validHeaderName(k) {
			return nil, fmt.Errorf("-H %q: %q is not a valid header name", l, k)
		}
		v = strings.TrimSpace(v)
		for _, r := range v {
			if r == '\r' || r == '\n' || r == 0 {
				return nil, fmt.Errorf("-H %q: value contains a line break or NUL", l)
			}
		}
		h.Add(k, v)
	}
	return h, nil
}

func validHeaderName(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
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
