package listen

import (
	"context"
	"sync"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/replay"
)

// backfiller delivers what Omega could not deliver while this listener (or
// its tunnel) was away: --backfill. Runs are serialized, and an event is
// delivered only if no capture of it is in the store yet, so a run after
// a reconnect never repeats one before it. An event that reached the app
// and failed is in the store: `replay --failed` is for that.
type backfiller struct {
	l  *listener
	mu sync.Mutex
}

func newBackfiller(l *listener) *backfiller { return &backfiller{l: l} }

// run backfills once; why says what prompted it ("start", "reconnect").
func (b *backfiller) run(ctx context.Context, why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.l
	window := l.cfg.opts.Backfill
	already := func(eventID string) bool {
		caps, err := l.store.List(ctx, capture.Query{EventID: eventID, Limit: 1})
		// If the store cannot say, deliver nothing rather than twice.
		return err != nil || len(caps) > 0
	}
	n, err := replay.Backfill(ctx, l.client, l.endpoint.ID, window, time.Now(), already, func(ctx context.Context, c *capture.Capture) error {
		_, err := l.rp.One(ctx, c, "", nil)
		return err
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return // shutting down
	case err != nil:
		l.notef("Backfill (%s) delivered %d event(s), then: %v", why, n, cmdutil.WithHint(err))
	case n > 0:
		l.notef("Backfill (%s): delivered %d event(s) Omega could not deliver in the last %s.", why, n, window)
	default:
		l.notef("Backfill (%s): nothing Omega failed to deliver in the last %s.", why, window)
	}
}
