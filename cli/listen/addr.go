package listen

import (
	"fmt"
	"net"
	"strconv"
)

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
