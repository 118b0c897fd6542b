//go:build unix

package h1

import "syscall"

// peerState is what the liveness probe of an idle connection found.
type peerState struct {
	alive bool
	buf   [1]byte
}

// probe reads the idle socket without waiting. Nothing to read is the only
// healthy state: EOF or a reset means the app closed it, and bytes mean it
// sent something nobody asked for, which would be taken for the next
// answer.
func (s *peerState) probe(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), s.buf[:])
		if err == syscall.EINTR {
			continue
		}
		s.alive = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true
	}
}
