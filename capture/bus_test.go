package capture

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// next reads one event, failing the test if none comes: a hang here is a
// lost event, not slowness.
func next(t *testing.T, sub *Subscription) Event {
	t.Helper()
	select {
	case ev, ok := <-sub.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return Event{}
	}
}

func TestBusDelivers(t *testing.T) {
	b := NewBus()
	subs := []*Subscription{b.Subscribe(8), b.Subscribe(8)}
	c1, c2 := &Capture{Meta: Meta{ID: "c_1", Seq: 1}}, &Capture{Meta: Meta{ID: "c_2", Seq: 2}}
	b.Publish(Received, c1)
	b.Publish(Received, c2)
	b.Publish(Completed, c1)
	want := []struct {
		kind EventKind
		id   string
	}{{Received, "c_1"}, {Received, "c_2"}, {Completed, "c_1"}}
	for _, sub := range subs {
		for _, w := range want {
			ev := next(t, sub)
			if ev.Kind != w.kind || ev.Capture.ID != w.id || ev.Lagged {
				t.Errorf("got %v %+v, want %v %s", ev.Kind, ev, w.kind, w.id)
			}
		}
		sub.Close()
	}
}

// TestBusCopiesCapture: the publisher goes on changing its capture (Finish
// does); what subscribers got must not change under them.
func TestBusCopiesCapture(t *testing.T) {
	b := NewBus()
	sub := b.Subscribe(4)
	defer sub.Close()
	c := &Capture{Meta: Meta{ID: "c_1", State: StatePending}}
	b.Publish(Received, c)
	c.State = StateDone
	if ev := next(t, sub); ev.Capture.State != StatePending {
		t.Errorf("subscriber saw the publisher's later change: %s", ev.Capture.State)
	}
}

func TestBusLagged(t *testing.T) {
	cases := []struct {
		name    string
		buffer  int
		publish []int64 // seqs of Received events published before reading
		// completed events for older captures, published after the first
		// batch, while still lagging
		completed []int64
	}{
		{"buffer 1", 1, []int64{1, 2, 3, 4, 5}, nil},
		{"buffer 4", 4, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, nil},
		{"older capture completes while lagging", 2, []int64{5, 6, 7, 8, 9}, []int64{3}},
		{"buffer 0 means 1", 0, []int64{1, 2, 3, 4}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBus()
			sub := b.Subscribe(tc.buffer)
			defer sub.Close()
			for _, seq := range tc.publish {
				b.Publish(Received, &Capture{Meta: Meta{Seq: seq}})
			}
			for _, seq := range tc.completed {
				b.Publish(Completed, &Capture{Meta: Meta{Seq: seq}})
			}
			// Whatever fitted arrives in order, then the Lagged event with
			// the lowest Seq that did not.
			var got []int64
			var lag Event
			for {
				ev := next(t, sub)
				if ev.Lagged {
					lag = ev
					break
				}
				got = append(got, ev.Capture.Seq)
			}
			if len(got) == 0 || len(got) >= len(tc.publish) {
				t.Fatalf("delivered %v of %v before lagging", got, tc.publish)
			}
			for i, seq := range got {
				if seq != tc.publish[i] {
					t.Fatalf("delivered %v, want a prefix of %v", got, tc.publish)
				}
			}
			wantMissed := tc.publish[len(got)]
			for _, seq := range tc.completed {
				wantMissed = min(wantMissed, seq)
			}
			if lag.MissedFromSeq != wantMissed || lag.Capture != nil {
				t.Errorf("Lagged event %+v, want MissedFromSeq %d", lag, wantMissed)
			}
			// After the Lagged event, delivery resumes.
			b.Publish(Completed, &Capture{Meta: Meta{Seq: 100}})
			if ev := next(t, sub); ev.Lagged || ev.Capture.Seq != 100 {
				t.Errorf("after Lagged got %+v, want the new event", ev)
			}
		})
	}
}

// TestBusPublishNeverBlocks: a subscriber that never reads does not hold
// up the publisher, and still learns it lagged.
func TestBusPublishNeverBlocks(t *testing.T) {
	b := NewBus()
	stuck := b.Subscribe(16)
	live := b.Subscribe(16)
	received := make(chan int)
	go func() {
		n := 0
		for ev := range live.C() {
			if !ev.Lagged {
				n++
			}
		}
		received <- n
	}()
	for i := range 10000 {
		b.Publish(Received, &Capture{Meta: Meta{Seq: int64(i + 1)}})
	}
	live.Close()
	<-received
	lagged := false
	for range 18 { // at most the buffer and the one in hand, then Lagged
		if ev := next(t, stuck); ev.Lagged {
			lagged = true
			break
		}
	}
	if !lagged {
		t.Error("the stuck subscriber was not told it lagged")
	}
	stuck.Close()
}

func TestBusCloseDuringPublish(t *testing.T) {
	b := NewBus()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				b.Publish(Received, &Capture{Meta: Meta{Seq: int64(i)}})
			}
		})
	}
	for i := range 200 {
		sub := b.Subscribe(i % 5)
		if i%2 == 0 {
			<-sub.C() // read one, then close mid-stream
		}
		sub.Close()
		sub.Close() // idempotent
		for range sub.C() {
			// C is closed after Close: this ends.
		}
	}
	close(stop)
	wg.Wait()
}

func TestBusNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	b := NewBus()
	for i := range 100 {
		sub := b.Subscribe(2)
		for range 5 {
			b.Publish(Received, &Capture{Meta: Meta{Seq: int64(i)}})
		}
		sub.Close()
	}
	closedBus := b.Subscribe(1)
	b.Close()
	if _, ok := <-closedBus.C(); ok {
		// A buffered event may come first; the channel must then close.
		for range closedBus.C() {
		}
	}
	late := b.Subscribe(1)
	if _, ok := <-late.C(); ok {
		t.Error("Subscribe on a closed bus delivered an event")
	}
	late.Close()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{Received: "received", Completed: "completed", 0: "lagged"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), want)
		}
	}
}

// TestBusFinish: Finish hands over everything queued, and the Lagged event
// owed, then closes C; events published after it are not taken. (Close
// would drop the queue: at shutdown the last deliveries went missing from
// the screen and the lines.)
func TestBusFinish(t *testing.T) {
	b := NewBus()
	sub := b.Subscribe(4)
	for i := range 10 { // 4 fit, 6 are dropped: a Lagged event is owed
		b.Publish(Completed, &Capture{Meta: Meta{ID: "c", Seq: int64(i + 1)}})
	}
	sub.Finish()
	b.Publish(Completed, &Capture{Meta: Meta{ID: "late", Seq: 99}})
	var got []Event
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				done = true
				break
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("C not closed after Finish; got %d events", len(got))
		}
	}
	// The pump may already hold the first event, waiting to hand it over,
	// when the rest arrive: then 5 fit rather than 4.
	if len(got) != 5 && len(got) != 6 {
		t.Fatalf("got %d events, want the 4 (or 5) queued and a Lagged one: %+v", len(got), got)
	}
	queued := got[:len(got)-1]
	for i, ev := range queued {
		if ev.Lagged || ev.Capture.Seq != int64(i+1) {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
	if last := got[len(got)-1]; !last.Lagged || last.MissedFromSeq != int64(len(queued)+1) {
		t.Errorf("last event %+v, want Lagged from seq %d", last, len(queued)+1)
	}
	sub.Close() // still safe
}
