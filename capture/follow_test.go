package capture

import (
	"context"
	"sync"
	"testing"
	"time"
)

type followed struct {
	mu     sync.Mutex
	events []string // "received c_…" / "completed c_…"
	bodies map[string][]byte
	more   chan struct{}
}

func (f *followed) publish(k EventKind, c *Capture) {
	f.mu.Lock()
	f.events = append(f.events, k.String()+" "+c.ID)
	f.bodies[c.ID] = c.Body
	f.mu.Unlock()
	select {
	case f.more <- struct{}{}:
	default:
	}
}

// waitFor waits until n events arrived (or fails after a generous time:
// this is a liveness bound, not a timing goal).
func (f *followed) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		f.mu.Lock()
		got := append([]string(nil), f.events...)
		f.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-f.more:
		case <-deadline:
			t.Fatalf("followed %d events, want %d: %v", len(got), n, got)
		}
	}
}

// TestFollowSeesOtherProcesses: a store following the data dir learns of
// captures another store (process) writes, once each, and never of its own
// or of those older than where it started.
func TestFollowSeesOtherProcesses(t *testing.T) {
	dir := t.TempDir()
	a := openStore(t, dir, Options{})
	b := openStore(t, dir, Options{})

	old := &Capture{Meta: Meta{SessionID: "other", Method: "POST", Path: "/old"}}
	if err := b.Record(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()

	f := &followed{bodies: map[string][]byte{}, more: make(chan struct{}, 1)}
	fctx, cancel := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() { stopped <- a.Follow(fctx, "mine", start, 5*time.Millisecond, f.publish) }()

	// Ours: never published by Follow (the listener publishes its own).
	if err := a.Record(ctx, &Capture{Meta: Meta{SessionID: "mine", Method: "POST", Path: "/mine"}}); err != nil {
		t.Fatal(err)
	}
	// Theirs: pending first, then done.
	p := &Capture{Meta: Meta{SessionID: "other", Method: "POST", Path: "/p"}, Body: []byte(`{"a":1}`)}
	if err := b.Begin(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := f.waitFor(t, 1); got[0] != "received "+p.ID {
		t.Fatalf("first event %q, want received %s", got[0], p.ID)
	}
	p.Status, p.SentStatus = 200, 200
	if err := b.Finish(ctx, p); err != nil {
		t.Fatal(err)
	}
	// Theirs: recorded done in one step (as replay does).
	r := &Capture{Meta: Meta{SessionID: "other", Method: "POST", Path: "/r", State: StateDone, Status: 500}}
	if err := b.Record(ctx, r); err != nil {
		t.Fatal(err)
	}
	got := f.waitFor(t, 4)
	// Let it poll a few more times: nothing may repeat.
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-stopped; err != context.Canceled {
		t.Errorf("Follow returned %v, want context.Canceled", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[string]bool{"received " + p.ID: true, "completed " + p.ID: true, "received " + r.ID: true, "completed " + r.ID: true}
	if len(f.events) != len(want) {
		t.Fatalf("events %v, want exactly %v", f.events, want)
	}
	for _, e := range got {
		if !want[e] {
			t.Errorf("unexpected event %q", e)
		}
	}
	if string(f.bodies[p.ID]) != `{"a":1}` {
		t.Errorf("body of followed capture = %q, want the stored body", f.bodies[p.ID])
	}
}

// The window a poll reads follows the newest capture in the store, ours
// included, so a listener that has recorded 90 000 deliveries of its own
// does not re-read them all four times a second (a 30-minute soak found
// its memory growing with every delivery).
func TestFollowWindowAdvances(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	start := time.Now().Add(-time.Hour)
	f := &follower{s: s, own: "mine", low: start.UnixMicro() - 1, seen: map[string]seenCapture{}, publish: func(EventKind, *Capture) {}}
	var last *Capture
	for range 50 {
		last = &Capture{Meta: Meta{SessionID: "mine", Method: "POST", Path: "/p"}}
		if err := s.Record(ctx, last); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if want := last.Seq - followMargin; f.low != want {
		t.Fatalf("window starts at %d, want %d (the newest seq less the margin)", f.low, want)
	}
	// Only other sessions' captures are read at all.
	rows, err := s.List(ctx, Query{AfterSeq: start.UnixMicro(), NotSessionID: "mine"})
	if err != nil || len(rows) != 0 {
		t.Fatalf("NotSessionID listed %d of our own (%v)", len(rows), err)
	}
}
