package listen

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
)

// pointsAtReceiver reports, as a usage error, a --forward target that is
// the receiver itself (its local address or its public URL): every
// delivery would be forwarded to itself, round and round.
func pointsAtReceiver(target *url.URL, receiver net.Addr, publicURL string) error {
	tport := portOf(target)
	if ta, ok := receiver.(*net.TCPAddr); ok && tport == fmt.Sprint(ta.Port) && isThisMachine(target.Hostname(), ta.IP) {
		return cmdutil.Usagef("--forward %s is this omega-listen's own receiver (%s): deliveries would loop. Point --forward at your app", target, receiver)
	}
	if pu, err := url.Parse(publicURL); err == nil && pu.Host != "" &&
		strings.EqualFold(pu.Hostname(), target.Hostname()) && portOf(pu) == tport {
		return cmdutil.Usagef("--forward %s is this omega-listen's public URL (%s): deliveries would loop. Point --forward at your app", target, publicURL)
	}
	return nil
}

// portOf is u's port, the scheme's default when it names none.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// isThisMachine: host names the receiver's address on this machine.
func isThisMachine(host string, recv net.IP) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	return ip.IsLoopback() || ip.IsUnspecified() || ip.Equal(recv)
}
