package capture

import (
	"context"
	"fmt"
	"time"
)

// InterruptedError is the Error of a capture MarkInterrupted marks.
const InterruptedError = "interrupted: omega-listen stopped before the app answered (the app may or may not have got it)"

// MarkInterrupted marks every capture still pending that was received
// before since and by another session than own as StateInterrupted: the
// process that was forwarding it is gone, so it will never finish. Call
// it only when no other process can be forwarding into this store (the
// listener, holding its data dir's lock). It returns how many it marked.
func (s *Store) MarkInterrupted(ctx context.Context, own string, since time.Time) (int, error) {
	pending, err := s.List(ctx, Query{Outcomes: []Outcome{OutcomePending}, NotSessionID: own})
	if err != nil {
		return 0, err
	}
	n := 0
	now := time.Now()
	for _, p := range pending {
		if !p.ReceivedAt.Before(since) {
			continue
		}
		c := &Capture{
			Meta: Meta{ID: p.ID, State: StateInterrupted, CompletedAt: now, Flags: p.Flags, Target: p.Target,
				Error: InterruptedError},
		}
		if err := s.appendCapture(kindFinish, c); err != nil {
			return n, fmt.Errorf("marking capture %s interrupted: %w", p.ID, err)
		}
		n++
	}
	return n, s.Flush(ctx)
}
