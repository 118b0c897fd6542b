package capture

import (
	"net/http"
	"strings"
	"time"
)

// HeaderRelayQueuedAt is the header the relay's client (package tunnel)
// puts on a delivery the relay queued while the listener was away: when the
// relay accepted it, RFC 3339 with nanoseconds, then "; id=" and the
// client's name for the delivery. The receiver keeps it in
// the capture's headers, sets FlagQueued, and does not forward it.
const HeaderRelayQueuedAt = "Omega-Listen-Relay-Queued-At"

// QueuedAt is when the relay accepted c, for a queued delivery; zero
// otherwise.
func (c *Capture) QueuedAt() time.Time {
	if !c.Flags.Has(FlagQueued) {
		return time.Time{}
	}
	return ParseQueuedAt(c.Headers)
}

// ParseQueuedAt reads HeaderRelayQueuedAt from h; zero if absent or bad.
func ParseQueuedAt(h http.Header) time.Time {
	v, _, _ := strings.Cut(h.Get(HeaderRelayQueuedAt), ";")
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}
	}
	return t
}
