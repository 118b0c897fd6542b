package capture

import (
	"errors"
	"testing"
	"time"
)

// TestStorePublishesWhatItWrites: the store is the one publisher of
// captures. Begin publishes Received (a pending snapshot with its Seq),
// Finish and Record publish Completed, in the order written, and a write
// that fails is published too, so what arrived still shows.
func TestStorePublishesWhatItWrites(t *testing.T) {
	bus := NewBus()
	sub := bus.Subscribe(16)
	defer sub.Close()
	s := openStore(t, t.TempDir(), Options{Retain: -1, Bus: bus})

	next := func() Event {
		t.Helper()
		select {
		case e := <-sub.C():
			return e
		case <-time.After(30 * time.Second):
			t.Fatal("nothing published")
		}
		panic("unreachable")
	}

	c := fullCapture(1)
	if err := s.Begin(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Status, c.SentStatus = 201, 201
	if err := s.Finish(ctx, c); err != nil {
		t.Fatal(err)
	}
	r := fullCapture(2)
	r.Flags |= FlagRejected
	if err := s.Record(ctx, r); err != nil {
		t.Fatal(err)
	}

	if e := next(); e.Kind != Received || e.Capture.ID != c.ID || e.Capture.State != StatePending || e.Capture.Seq != c.Seq || e.Capture.Status != 0 {
		t.Errorf("first event %v %+v, want Received of a pending %s with its seq", e.Kind, e.Capture, c.ID)
	}
	if e := next(); e.Kind != Completed || e.Capture.ID != c.ID || e.Capture.State != StateDone || e.Capture.Status != 201 {
		t.Errorf("second event %v, want Completed of %s with status 201", e.Kind, c.ID)
	}
	if e := next(); e.Kind != Completed || e.Capture.ID != r.ID || e.Capture.State != StateDone {
		t.Errorf("third event %v, want Completed of the recorded %s", e.Kind, r.ID)
	}

	// A write that fails is still shown.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f := fullCapture(3)
	if err := s.Begin(ctx, f); !errors.Is(err, ErrClosed) {
		t.Fatalf("Begin on a closed store: %v, want ErrClosed", err)
	}
	if e := next(); e.Kind != Received || e.Capture.ID != f.ID {
		t.Errorf("a failed Begin published %v %s, want Received %s", e.Kind, e.Capture.ID, f.ID)
	}
}
