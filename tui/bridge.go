package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
)

// frame is how long Bridge gathers events before sending them on: a burst
// becomes one message (and one frame) rather than one per event.
const frame = 16 * time.Millisecond

// maxBatch bounds one message, so a flood still reaches the screen in
// steps.
const maxBatch = 4096

// Bridge is the one goroutine between the capture bus and the program. It
// reads sub until the subscription closes or ctx ends, and calls send
// (program.Send) with what arrived. A lone event goes out at once; events
// that arrive within a frame of the last message are gathered into one.
// Events for the same capture in one message are folded (the later state
// wins). A Lagged event makes the model re-read the store from the first
// capture it missed.
func Bridge(ctx context.Context, sub *capture.Subscription, send func(tea.Msg)) {
	events := sub.C()
	var last time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var b batch
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			b.add(ev)
		case <-ctx.Done():
			return
		}
		closed := false
		if wait := frame - time.Since(last); wait > 0 {
			timer.Reset(wait)
		gather:
			for b.size() < maxBatch {
				select {
				case ev, ok := <-events:
					if !ok {
						closed = true
						break gather
					}
					b.add(ev)
				case <-timer.C:
					break gather
				case <-ctx.Done():
					return
				}
			}
			timer.Stop()
		}
		// Take what is already waiting without waiting longer.
	drain:
		for !closed && b.size() < maxBatch {
			select {
			case ev, ok := <-events:
				if !ok {
					closed = true
					break drain
				}
				b.add(ev)
			default:
				break drain
			}
		}
		send(b.msg())
		last = time.Now()
		if closed {
			return
		}
	}
}

// batch folds bus events into one deliveriesMsg.
type batch struct {
	rows    []capture.Summary
	at      map[string]int
	lagged  bool
	lagFrom int64
}

func (b *batch) size() int { return len(b.rows) }

func (b *batch) add(ev capture.Event) {
	if ev.Lagged {
		if !b.lagged || ev.MissedFromSeq == 0 || (b.lagFrom != 0 && ev.MissedFromSeq < b.lagFrom) {
			b.lagFrom = ev.MissedFromSeq
		}
		b.lagged = true
		return
	}
	if ev.Capture == nil {
		return
	}
	s := ev.Capture.Summary()
	if b.at == nil {
		b.at = make(map[string]int)
	}
	if i, ok := b.at[s.ID]; ok {
		if newer(&b.rows[i], &s) {
			b.rows[i] = s
		}
		return
	}
	b.at[s.ID] = len(b.rows)
	b.rows = append(b.rows, s)
}

func (b *batch) msg() deliveriesMsg {
	return deliveriesMsg{rows: b.rows, lagged: b.lagged, lagFrom: b.lagFrom}
}
