package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultListenAddr is where the receiver listens when no address is given:
// loopback only, on a port the system picks.
const DefaultListenAddr = "127.0.0.1:0"

// NoneOptions configure the "none" provider: a plain local listener.
type NoneOptions struct {
	// ListenAddr is host:port (a bare port means 127.0.0.1:port).
	// Default DefaultListenAddr.
	ListenAddr string
	// PublicURL, if set, is the base URL to register instead of the
	// listener's own: for a tunnel the user runs themselves (cloudflared,
	// a reverse proxy). It must be an absolute http(s) URL.
	PublicURL string
}

// ListenNone listens locally with no tunnel. The context bounds only the
// setup; Close ends the tunnel.
//
// Without a PublicURL the public URL is the listener's own address. If the
// address binds all interfaces (0.0.0.0, ::) the URL names loopback, but the
// receiver is reachable from the network: see BindsAllInterfaces.
func ListenNone(ctx context.Context, o NoneOptions) (Tunnel, error) {
	addr, err := normaliseListenAddr(o.ListenAddr)
	if err != nil {
		return nil, err
	}
	var public string
	if o.PublicURL != "" {
		if public, err = ValidatePublicURL(o.PublicURL); err != nil {
			return nil, err
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, listenError(addr, err)
	}
	if public == "" {
		public = localURL(addr, ln.Addr())
	}
	t := &noneTunnel{Listener: ln, url: public, feed: newStatusFeed()}
	t.feed.send(Status{State: Connected, URL: public, At: time.Now()})
	return t, nil
}

type noneTunnel struct {
	net.Listener
	url  string
	feed *statusFeed

	closeOnce sync.Once
	closeErr  error
}

func (t *noneTunnel) PublicURL() string     { return t.url }
func (t *noneTunnel) Status() <-chan Status { return t.feed.ch }
func (t *noneTunnel) Provider() string      { return ProviderNone }
func (t *noneTunnel) String() string        { return "none " + t.url }
func (t *noneTunnel) Close() error {
	t.closeOnce.Do(func() {
		t.closeErr = t.Listener.Close()
		t.feed.close(Status{State: Closed, URL: t.url, At: time.Now()})
	})
	return t.closeErr
}

// BindsAllInterfaces reports whether a listener address accepts connections
// on every interface, so that anyone on the network can reach it. The CLI
// uses it to warn.
func BindsAllInterfaces(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && (ta.IP == nil || ta.IP.IsUnspecified())
}

func normaliseListenAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return DefaultListenAddr, nil
	}
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		return net.JoinHostPort("127.0.0.1", addr), nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("invalid listen address %q: %w; use host:port such as 127.0.0.1:8080", addr, err)
	}
	return addr, nil
}

// ListenProblem is why the listener could not bind its address.
type ListenProblem int

// The problems a *ListenError reports.
const (
	// ListenFailed: any other failure.
	ListenFailed ListenProblem = iota
	// AddressInUse: another process listens there.
	AddressInUse
	// NotPermitted: a privileged port.
	NotPermitted
	// NotLocalAddress: the address is not one of this machine's.
	NotLocalAddress
)

// ListenError is a failure to listen on Addr. It wraps the system's error.
type ListenError struct {
	Addr    string
	Problem ListenProblem
	Err     error
}

func (e *ListenError) Error() string {
	switch e.Problem {
	case AddressInUse:
		return fmt.Sprintf("address %s is already in use: %v", e.Addr, e.Err)
	case NotPermitted:
		return fmt.Sprintf("not allowed to listen on %s (ports up to 1023 are privileged): %v", e.Addr, e.Err)
	case NotLocalAddress:
		return fmt.Sprintf("address %s is not an address of this machine: %v", e.Addr, e.Err)
	}
	return fmt.Sprintf("cannot listen on %s: %v; choose another address", e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// listenError says which of the common listen failures err is.
func listenError(addr string, err error) error {
	e := &ListenError{Addr: addr, Err: err}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		e.Problem = AddressInUse
	case errors.Is(err, syscall.EACCES):
		e.Problem = NotPermitted
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		e.Problem = NotLocalAddress
	}
	return e
}

// localURL is the URL that reaches the listener from this machine. An
// unspecified address is replaced by loopback of the family the user wrote.
func localURL(configured string, a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	host := ta.IP.String()
	switch {
	case ta.IP == nil || ta.IP.IsUnspecified():
		h, _, _ := net.SplitHostPort(configured)
		host = "127.0.0.1"
		if strings.Contains(h, ":") {
			host = "::1"
		}
	case ta.Zone != "":
		host += "%" + ta.Zone
	}
	hostport := net.JoinHostPort(host, strconv.Itoa(ta.Port))
	return (&url.URL{Scheme: "http", Host: hostport}).String()
}

// ValidatePublicURL checks a user-given public base URL and returns it
// normalised: lower-case scheme, no trailing slash. It must be an absolute
// http or https URL with a host, and no credentials, query or fragment,
// because omega-listen appends /omega/<token> to it.
func ValidatePublicURL(s string) (string, error) {
	const hint = "give an absolute URL such as https://example.trycloudflare.com"
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("public URL is empty; %s", hint)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("invalid public URL %q: %w; %s", s, err, hint)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("public URL %q must start with http:// or https://; %s", s, hint)
	case u.Opaque != "" || u.Host == "":
		return "", fmt.Errorf("public URL %q has no host; %s", s, hint)
	case u.User != nil:
		return "", fmt.Errorf("public URL %q must not contain a user name or password", s)
	case u.RawQuery != "" || u.ForceQuery:
		return "", fmt.Errorf("public URL %q must not have a query (?...): /omega/<token> is appended to it", s)
	case u.Fragment != "" || u.RawFragment != "":
		return "", fmt.Errorf("public URL %q must not have a fragment (#...)", s)
	}
	// "host:" is legal but means the default port; say it the short way.
	u.Host = strings.TrimSuffix(u.Host, ":")
	if u.Hostname() == "" {
		return "", fmt.Errorf("public URL %q has no host; %s", s, hint)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("public URL %q has an invalid port %q; use 1-65535", s, p)
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	out := u.String()
	// net/url does not re-parse everything it prints (odd IPv6 zones): a URL
	// we would register must survive the trip through Omega and back.
	if v, err := url.Parse(out); err != nil || v.String() != out {
		return "", fmt.Errorf("invalid public URL %q: it does not survive normalisation; %s", s, hint)
	}
	return out, nil
}
