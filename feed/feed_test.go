package feed

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
)

func next(t *testing.T, sub *Sub) Event {
	t.Helper()
	select {
	case ev, ok := <-sub.C():
		if !ok {
			t.Fatal("stream closed")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("nothing arrived")
	}
	panic("unreachable")
}

func TestCapturesAndNotesReachEverySubscriber(t *testing.T) {
	bus := capture.NewBus()
	s := New(bus)
	a, b := s.Subscribe(16), s.Subscribe(16)
	defer a.Close()
	defer b.Close()

	c := &capture.Capture{Meta: capture.Meta{ID: "c1", Seq: 7, State: capture.StatePending}}
	bus.Publish(capture.Received, c)
	s.Notice("hello", false)
	for _, sub := range []*Sub{a, b} {
		got := map[string]bool{}
		for range 2 {
			ev := next(t, sub)
			switch {
			case ev.Capture != nil:
				if ev.Kind != capture.Received || ev.Capture.ID != "c1" || ev.Capture.Seq != 7 {
					t.Errorf("capture event %+v", ev)
				}
				got["capture"] = true
			case ev.Note != nil:
				if ev.Note.Kind != Notice || ev.Note.Text != "hello" || ev.Note.At.IsZero() {
					t.Errorf("note %+v", ev.Note)
				}
				got["note"] = true
			}
		}
		if !got["capture"] || !got["note"] {
			t.Errorf("got %v, want a capture event and a note", got)
		}
	}
}

func TestNotesInOrderAndNeverDropped(t *testing.T) {
	s := New(capture.NewBus())
	sub := s.Subscribe(1)
	defer sub.Close()
	// Nobody reads while 500 notes are published: Note must not block,
	// and none may be lost.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 500 {
			s.Step(fmt.Sprint(i))
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Note blocked on a subscriber that does not read")
	}
	for i := range 500 {
		ev := next(t, sub)
		if ev.Note == nil || ev.Note.Kind != Step || ev.Note.Text != fmt.Sprint(i) {
			t.Fatalf("event %d: %+v, want step %d", i, ev, i)
		}
	}
}

func TestLateSubscriberGetsTheCurrentState(t *testing.T) {
	s := New(capture.NewBus())
	s.SetTunnel(TunnelState{Provider: "ngrok", State: "connecting"})
	s.Notice("nothing listens at http://localhost:8888", true)
	s.SetTunnel(TunnelState{Provider: "ngrok", State: "connected", URL: "https://x.example"})

	sub := s.Subscribe(4)
	defer sub.Close()
	ev := next(t, sub)
	if ev.Note == nil || ev.Note.Kind != Tunnel || ev.Note.Tunnel.State != "connected" || ev.Note.Tunnel.URL != "https://x.example" {
		t.Fatalf("first event %+v, want the latest tunnel state", ev.Note)
	}
	ev = next(t, sub)
	if ev.Note == nil || ev.Note.Kind != Notice || !ev.Note.Warn {
		t.Fatalf("second event %+v, want the warning published before", ev.Note)
	}
	if st, ok := s.Tunnel(); !ok || st.State != "connected" {
		t.Errorf("Tunnel() = %+v, %v", st, ok)
	}

	// History is bounded.
	for i := range maxHistory + 20 {
		s.Notice(fmt.Sprint(i), false)
	}
	late := s.Subscribe(4)
	defer late.Close()
	n := 0
	for {
		select {
		case ev := <-late.C():
			if ev.Note == nil {
				t.Fatalf("unexpected %+v", ev)
			}
			n++
			continue
		case <-time.After(200 * time.Millisecond):
		}
		break
	}
	if n != maxHistory+1 { // the tunnel state and the newest maxHistory notices
		t.Errorf("late subscriber got %d notes, want %d", n, maxHistory+1)
	}
}

func TestLagIsPassedOn(t *testing.T) {
	bus := capture.NewBus()
	s := New(bus)
	sub := s.Subscribe(2)
	defer sub.Close()
	for i := int64(1); i <= 50; i++ {
		bus.Publish(capture.Completed, &capture.Capture{Meta: capture.Meta{ID: fmt.Sprint("c", i), Seq: i}})
	}
	s.Notice("after", false)
	sawLag, sawNote := false, false
	var lastSeq int64
	for !(sawLag && sawNote) {
		ev := next(t, sub)
		switch {
		case ev.Lagged:
			sawLag = true
			if ev.MissedFromSeq <= lastSeq || ev.MissedFromSeq > 50 {
				t.Errorf("lagged from %d after seq %d", ev.MissedFromSeq, lastSeq)
			}
		case ev.Note != nil:
			sawNote = true
		case ev.Capture != nil:
			if sawLag {
				continue
			}
			if ev.Capture.Seq <= lastSeq {
				t.Errorf("seq %d after %d", ev.Capture.Seq, lastSeq)
			}
			lastSeq = ev.Capture.Seq
		}
	}
}

func TestFinishDeliversWhatIsQueued(t *testing.T) {
	bus := capture.NewBus()
	s := New(bus)
	sub := s.Subscribe(16)
	bus.Publish(capture.Completed, &capture.Capture{Meta: capture.Meta{ID: "c1", Seq: 1}})
	s.Step("Removing the endpoint…")
	s.Step("Done.")
	s.Close()
	s.Step("too late")
	var got []string
	for ev := range sub.C() {
		switch {
		case ev.Capture != nil:
			got = append(got, ev.Capture.ID)
		case ev.Note != nil:
			got = append(got, ev.Note.Text)
		}
	}
	want := map[string]bool{"c1": true, "Removing the endpoint…": true, "Done.": true}
	if len(got) != 3 {
		t.Fatalf("got %q, want the 3 queued events and nothing after Close", got)
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("unexpected %q", g)
		}
	}
	sub.Close()
	sub.Close() // idempotent
	// Subscribing to a closed stream gives the state, then a closed channel.
	late := s.Subscribe(1)
	n := 0
	for range late.C() {
		n++
	}
	if n != 3 {
		t.Errorf("late subscriber of a closed stream got %d notes, want the 3 kept", n)
	}
}

func TestCloseStopsAtOnce(t *testing.T) {
	s := New(capture.NewBus())
	sub := s.Subscribe(1)
	for range 10 {
		s.Notice("x", false)
	}
	sub.Close()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-sub.C():
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("C not closed after Close")
		}
	}
}

// Finish with a lag owed: the events queued before the drop, then the
// Lagged event, then C closes.
func TestFinishDeliversTheLagOwed(t *testing.T) {
	bus := capture.NewBus()
	s := New(bus)
	sub := s.Subscribe(2)
	for i := int64(1); i <= 10; i++ {
		bus.Publish(capture.Completed, &capture.Capture{Meta: capture.Meta{ID: fmt.Sprint("c", i), Seq: i}})
	}
	sub.Finish()
	bus.Publish(capture.Completed, &capture.Capture{Meta: capture.Meta{ID: "after", Seq: 11}})
	var got []string
	for ev := range sub.C() {
		switch {
		case ev.Lagged:
			got = append(got, fmt.Sprint("lagged from ", ev.MissedFromSeq))
		case ev.Capture != nil:
			got = append(got, ev.Capture.ID)
		}
	}
	// The buffer holds 2; the one being handed over may have left it.
	k := len(got) - 1
	want := []string{}
	for i := 1; i <= k; i++ {
		want = append(want, fmt.Sprint("c", i))
	}
	want = append(want, fmt.Sprint("lagged from ", k+1))
	if k < 2 || k > 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want the first 2 or 3 captures and the lag from the next", got)
	}
}

// The bus closing under the stream ends the capture events; the notes
// already queued still arrive, then C closes; nothing is left running.
func TestBusClosingUnderTheStream(t *testing.T) {
	before := runtime.NumGoroutine()
	bus := capture.NewBus()
	s := New(bus)
	var subs []*Sub
	for range 20 {
		subs = append(subs, s.Subscribe(4))
	}
	s.Notice("before", false)
	bus.Close()
	for _, sub := range subs {
		var notes []string
		for ev := range sub.C() {
			if ev.Note != nil {
				notes = append(notes, ev.Note.Text)
			}
		}
		if len(notes) != 1 || notes[0] != "before" {
			t.Errorf("notes %q, want the one published before", notes)
		}
		sub.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}
