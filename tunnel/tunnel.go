// Package tunnel gives the receiver a place to listen and a public URL that
// reaches it. A provider ("none" here; "ngrok" to come) is a net.Listener that
// also knows its public base URL and reports its connection state.
package tunnel

import (
	"net"
	"sync"
	"time"
)

// Provider names, as given to --tunnel.
const (
	ProviderNone  = "none"
	ProviderNgrok = "ngrok"
)

// State is where a tunnel is in its life.
type State int

const (
	// Connecting: the provider is establishing the tunnel.
	Connecting State = iota
	// Connected: deliveries can reach the listener.
	Connected
	// Disconnected: the provider lost its session and is retrying;
	// deliveries sent meanwhile fail at the sender.
	Disconnected
	// Reconnected: connected again after a Disconnected.
	Reconnected
	// Closed: the tunnel is closed and will not come back.
	Closed
)

// String returns the lower-case name of the state, for logs and NDJSON.
func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	case Reconnected:
		return "reconnected"
	case Closed:
		return "closed"
	default:
		return "unknown"
	}
}

// Status is one state change of a tunnel.
type Status struct {
	State   State
	URL     string        // the public base URL at the time
	Err     error         // why it disconnected or closed, if known
	Latency time.Duration // round trip to the provider's edge, if measured
	At      time.Time
}

// Tunnel is what the receiver's http.Server serves on.
type Tunnel interface {
	// Accept, Close and Addr: the listener the receiver serves on. Close
	// stops the tunnel; the public URL stops working.
	net.Listener
	// PublicURL is the base URL to register, without a trailing slash.
	PublicURL() string
	// Status reports state changes. The channel is buffered and the
	// provider never blocks on it: when the reader falls behind, the
	// oldest unread status is dropped. It is closed after Closed.
	Status() <-chan Status
	// Provider is the provider's name, e.g. "none" or "ngrok".
	Provider() string
}

// statusBufSize is generous: states change rarely, and a reader that misses
// some only misses history, since the newest state is always kept.
const statusBufSize = 16

// statusFeed is the non-blocking, drop-oldest status channel that every
// provider shares.
type statusFeed struct {
	mu     sync.Mutex
	ch     chan Status
	closed bool
}

func newStatusFeed() *statusFeed {
	return &statusFeed{ch: make(chan Status, statusBufSize)}
}

// send delivers s without blocking, dropping the oldest buffered status if
// the buffer is full. After close it does nothing.
func (f *statusFeed) send(s Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sendLocked(s)
}

func (f *statusFeed) sendLocked(s Status) {
	if f.closed {
		return
	}
	for {
		select {
		case f.ch <- s:
			return
		default:
		}
		// Full: drop the oldest. The reader may have drained it meanwhile,
		// in which case the next send succeeds.
		select {
		case <-f.ch:
		default:
		}
	}
}

// close sends the final status and closes the channel, once.
func (f *statusFeed) close(final Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sendLocked(final)
	if !f.closed {
		f.closed = true
		close(f.ch)
	}
}
