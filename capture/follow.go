package capture

import (
	"context"
	"database/sql"
	"time"
)

// followMargin is how far behind the newest Seq it has seen Follow looks
// again. Seq orders captures by time across processes, but each process
// indexes on its own schedule: a capture another process began a moment
// before one already seen can reach the index after it. A batch waits
// indexDelay before it is committed, so a few seconds covers it with room.
const followMargin = int64(5 * time.Second / time.Microsecond)

// Follow tells publish about captures that other processes write to the
// store (those whose SessionID is not own; every capture when own is ""),
// as they reach the index, until ctx ends: Received when a capture is
// first seen, Completed when it is first seen done. It starts with captures received at or after from, and
// looks every interval. This is how a listener's screen shows what
// `omega-listen replay`, run beside it, sends.
//
// The captures it publishes are whole (headers and bodies) and fresh: the
// caller may keep them.
func (s *Store) Follow(ctx context.Context, own string, from time.Time, interval time.Duration, publish func(EventKind, *Capture)) error {
	f := &follower{s: s, own: own, low: from.UnixMicro() - 1, seen: map[string]seenCapture{}, publish: publish}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := f.poll(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("following other processes' captures", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

type seenCapture struct {
	seq  int64
	done bool
}

type follower struct {
	s       *Store
	own     string
	low     int64 // look at Seq > low
	seen    map[string]seenCapture
	publish func(EventKind, *Capture)
}

// poll reads other processes' captures newer than the window and those
// still pending, and publishes what changed. It reads bodies only of rows
// it will publish. The window's start follows the newest Seq in the store,
// whoever wrote it, so a poll costs what arrived in the last followMargin,
// not everything since Follow started.
func (f *follower) poll(ctx context.Context) error {
	top, err := f.s.maxSeq(ctx)
	if err != nil {
		return err
	}
	low := f.low
	rows, err := f.s.List(ctx, Query{AfterSeq: low, NotSessionID: f.own})
	if err != nil {
		return err
	}
	f.low = max(f.low, top-followMargin)
	var changed []string
	for _, r := range rows {
		prev, ok := f.seen[r.ID]
		done := r.State == StateDone
		if ok && (prev.done || !done) {
			continue
		}
		changed = append(changed, r.ID)
	}
	// Captures still pending when they fell out of the window.
	for id, sc := range f.seen {
		if !sc.done && sc.seq <= low {
			changed = append(changed, id)
		}
	}
	if len(changed) == 0 {
		f.forget(f.low)
		return nil
	}
	caps, err := f.s.ListFull(ctx, Query{IDs: changed})
	if err != nil {
		return err
	}
	found := make(map[string]bool, len(caps))
	for _, c := range caps {
		found[c.ID] = true
		prev, ok := f.seen[c.ID]
		done := c.State == StateDone
		if ok && (prev.done || !done) {
			continue
		}
		if !ok {
			f.publish(Received, c)
		}
		if done {
			f.publish(Completed, c)
		}
		f.seen[c.ID] = seenCapture{seq: c.Seq, done: done}
	}
	for _, id := range changed {
		if !found[id] {
			delete(f.seen, id) // deleted or pruned meanwhile
		}
	}
	f.forget(f.low)
	return nil
}

// maxSeq returns the highest Seq in the index (0 when empty): the rowid's
// maximum, which SQLite reads without a scan.
func (s *Store) maxSeq(ctx context.Context) (int64, error) {
	if err := s.Flush(ctx); err != nil {
		return 0, err
	}
	var top sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT max(seq) FROM captures").Scan(&top); err != nil {
		return 0, s.dbError("find the newest capture", err)
	}
	return top.Int64, nil
}

// forget drops finished captures that fell out of the window: they will
// not be looked at again.
func (f *follower) forget(low int64) {
	for id, sc := range f.seen {
		if sc.done && sc.seq <= low {
			delete(f.seen, id)
		}
	}
}
