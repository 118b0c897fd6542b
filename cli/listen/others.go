package listen

import "github.com/omega-listen/omega-listen/capture"

// publishOthers passes on what other processes write to the store that is
// this listener's business: replays (`omega-listen replay`) and events
// fetched from Omega (`replay --from-omega`). Deliveries another listener
// received (one on a platform without locks, or an older version) are not
// this listener's and stay out of its lines and screen.
func (l *listener) publishOthers(k capture.EventKind, c *capture.Capture) {
	if c.ReplayOf != "" || c.Flags.Has(capture.FlagBackfill) || c.Flags.Has(capture.FlagFromOmega) {
		l.bus.Publish(k, c)
	}
}
