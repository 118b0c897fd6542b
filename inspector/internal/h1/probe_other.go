//go:build !unix

package h1

// peerState is what the liveness probe of an idle connection found.
type peerState struct{ alive bool }

// probe has no portable non-blocking read here: an idle connection the
// app closed is caught instead by the retry on a fresh one.
func (s *peerState) probe(uintptr) bool {
	s.alive = true
	return true
}
