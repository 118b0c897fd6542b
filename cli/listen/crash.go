package listen

import (
	"context"
	"fmt"
)

// markInterrupted marks what an earlier listener on this data dir left
// pending when it died: we hold the data dir's lock, so nothing else is
// forwarding into this store.
func (l *listener) markInterrupted(ctx context.Context) {
	n, err := l.store.MarkInterrupted(ctx, l.sessionID, l.started)
	if err != nil {
		l.log.Warn("marking interrupted captures", "err", err)
		return
	}
	if n > 0 {
		fmt.Fprintf(l.f.IO.Err, "Marked %d capture(s) that an earlier run left pending (it stopped before the app answered) as interrupted; `omega-listen replay --failed` sends them again.\n", n)
	}
}
