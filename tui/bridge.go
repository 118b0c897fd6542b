package tui

import (
	"context"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/feed"
)

// frame is how long Bridge gathers events before sending them on: a burst
// becomes one message (and one frame) rather than one per event.
const frame = 16 * time.Millisecond

// maxBatch bounds one message, so a flood still reaches the screen in
// steps.
const maxBatch = 4096

// Bridge is the one goroutine between the listener's stream (feed.Sub.C)
// and the program. It reads events until the channel closes or ctx ends,
// and calls send (program.Send) with what arrived. A lone event goes out at
// once; events that arrive within a frame of the last message are gathered
// into one. Events for the same capture in one message are folded (the
// later state wins). A Lagged event makes the model re-read the store from
// the first capture it missed. Notes (tunnel state, notices, shutdown
// steps) become TunnelMsg, NoticeMsg and ShutdownMsg, sent after the
// captures gathered with them, in the order they came.
func Bridge(ctx context.Context, events <-chan feed.Event, send func(tea.Msg)) {
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
		if len(b.rows) > 0 || b.lagged {
			send(b.msg())
		}
		for _, n := range b.notes {
			send(n)
		}
		last = time.Now()
		if closed {
			return
		}
	}
}

// batch folds stream events into one deliveriesMsg, and keeps the notes
// that came with them.
type batch struct {
	rows    []capture.Summary
	at      map[string]int
	lagged  bool
	lagFrom int64
	notes   []tea.Msg
}

func (b *batch) size() int { return len(b.rows) + len(b.notes) }

func (b *batch) add(ev feed.Event) {
	if ev.Note != nil {
		b.notes = append(b.notes, noteMsg(*ev.Note)...)
		return
	}
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

// noteMsg is how the screen shows one of the listener's notes.
func noteMsg(n feed.Note) []tea.Msg {
	switch n.Kind {
	case feed.Tunnel:
		return []tea.Msg{tunnelMsg(n.Tunnel)}
	case feed.Notice:
		return []tea.Msg{NoticeMsg{Text: n.Text, Warn: n.Warn}}
	case feed.Step:
		var out []tea.Msg
		for line := range strings.SplitSeq(strings.TrimRight(n.Text, "\n"), "\n") {
			out = append(out, ShutdownMsg{Line: line})
		}
		return out
	}
	return nil
}

// tunnelMsg is a tunnel state as the screen shows it.
func tunnelMsg(t feed.TunnelState) TunnelMsg {
	return TunnelMsg{State: t.Shown(), URL: t.URL, Err: t.Err}
}
