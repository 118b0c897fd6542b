//go:build unix

package h1

import (
	"context"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestDirectLiveness(t *testing.T) {
	tests := []struct {
		name  string
		peer  func(net.Conn)
		alive bool
	}{
		{"idle", func(net.Conn) {}, true},
		{"closed", func(c net.Conn) { c.Close() }, false},
		{"reset", func(c net.Conn) { c.(*net.TCPConn).SetLinger(0); c.Close() }, false},
		{"sent unasked bytes", func(c net.Conn) { io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\n\r\n") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			pc, err := dial(context.Background(), ln.Addr().String(), time.Second, time.Now().Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			defer pc.conn.Close()
			peer, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			tt.peer(peer)
			if !tt.alive {
				// Let the FIN, RST or bytes arrive: a blocking peek.
				waitReadable(t, pc)
			}
			if got := pc.alive(); got != tt.alive {
				t.Errorf("alive = %v, want %v", got, tt.alive)
			}
		})
	}
}

// waitReadable blocks until pc's socket has something to report, without
// consuming it.
func waitReadable(t *testing.T, pc *pconn) {
	t.Helper()
	if pc.raw == nil {
		t.Skip("no raw socket on this platform")
	}
	pc.raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		return !(n < 0 && err == syscall.EAGAIN)
	})
}
