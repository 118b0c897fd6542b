package capture

import (
	"sync"
	"sync/atomic"
)

// EventKind says what happened to a capture.
type EventKind int

const (
	// Received: Begin (or Record) stored the capture.
	Received EventKind = iota + 1
	// Completed: Finish (or Record) stored its outcome.
	Completed
)

func (k EventKind) String() string {
	switch k {
	case Received:
		return "received"
	case Completed:
		return "completed"
	default:
		return "lagged"
	}
}

// Event is one message on the bus. Either Capture is set, or Lagged is.
type Event struct {
	Kind EventKind
	// Capture is shared by every subscriber: treat it as read-only.
	Capture *Capture
	// Lagged: events were dropped because this subscriber's buffer was
	// full. Re-read from the store every capture with Seq >= MissedFromSeq.
	Lagged bool
	// MissedFromSeq is the lowest Seq of the captures whose events were
	// dropped; 0 if that is unknown (re-read everything).
	MissedFromSeq int64
}

// Bus fans capture events out to subscribers. See the package
// documentation for its delivery guarantees.
type Bus struct {
	mu     sync.Mutex // serialises changes to subs
	subs   atomic.Pointer[[]*Queue]
	closed bool
}

// NewBus returns a bus with no subscribers.
func NewBus() *Bus {
	b := &Bus{}
	b.subs.Store(&[]*Queue{})
	return b
}

// Publish sends an event about c to every subscriber. It never blocks: a
// subscriber whose buffer is full misses the event and is told so later.
//
// Subscribers get a shallow copy of *c, taken now, so the caller may go on
// setting c's fields (Finish does); it must not modify c's maps and
// slices in place.
func (b *Bus) Publish(kind EventKind, c *Capture) {
	subs := *b.subs.Load()
	if len(subs) == 0 {
		return
	}
	ev := Event{Kind: kind}
	if c != nil {
		cc := *c
		ev.Capture = &cc
	}
	for _, q := range subs {
		q.offer(ev)
	}
}

// Subscribe adds a subscriber with room for buffer events (at least 1)
// not yet read. The subscriber must Close it when done.
func (b *Bus) Subscribe(buffer int) *Subscription {
	s := &Subscription{
		q:   b.SubscribeQueue(buffer),
		out: make(chan Event),
		fin: make(chan struct{}),
	}
	go s.pump()
	return s
}

// SubscribeQueue adds a subscriber that reads the events with a loop of
// its own instead of a goroutine of the bus's: one goroutine hop less for
// a reader that merges them with something else (feed.Sub does). The
// loop must follow Queue's rules; the subscriber must Close it when done.
func (b *Bus) SubscribeQueue(buffer int) *Queue {
	q := &Queue{
		bus:  b,
		in:   make(chan Event, max(buffer, 1)),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		q.once.Do(func() { close(q.done) })
		return q
	}
	old := *b.subs.Load()
	subs := append(old[:len(old):len(old)], q)
	b.subs.Store(&subs)
	return q
}

// Close closes every subscription; later subscriptions start closed.
func (b *Bus) Close() {
	b.mu.Lock()
	b.closed = true
	subs := *b.subs.Load()
	b.mu.Unlock()
	for _, q := range subs {
		q.Close()
	}
}

func (b *Bus) remove(q *Queue) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.subs.Load()
	subs := make([]*Queue, 0, len(old))
	for _, x := range old {
		if x != q {
			subs = append(subs, x)
		}
	}
	b.subs.Store(&subs)
}

// Queue is a subscriber's buffer of events, read by the subscriber's own
// loop. The loop keeps the bus's guarantees by these rules:
//
//   - Take events from Events() in order; each is to be delivered.
//   - Call Lagged on every turn, before waiting: once the events queued
//     before a drop are out, it returns the Lagged event owed.
//   - Wait on Events(), Wake() (a drop began: call Lagged again) and
//     Done() (the queue was closed, by Close or Bus.Close: stop reading
//     it).
//   - After Finish, stop once Events() is empty and Lagged owes nothing.
type Queue struct {
	bus  *Bus
	in   chan Event    // Publish puts here without waiting
	wake chan struct{} // a lag began
	done chan struct{}
	once sync.Once

	mu     sync.Mutex
	lagged bool  // events were dropped and the Lagged event is not yet out
	missed int64 // lowest Seq dropped since the last Lagged event
}

// Events returns the channel of queued events.
func (q *Queue) Events() <-chan Event { return q.in }

// Wake returns a channel that receives when events begin to be dropped.
func (q *Queue) Wake() <-chan struct{} { return q.wake }

// Done returns a channel closed once the queue is closed.
func (q *Queue) Done() <-chan struct{} { return q.done }

// Lagged returns the Lagged event owed, if events were dropped and the
// events queued before the drop have all been taken. It counts as
// delivered: a drop from now on starts a new lag rather than being folded
// into this one.
func (q *Queue) Lagged() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.lagged || len(q.in) > 0 {
		return Event{}, false
	}
	ev := Event{Lagged: true, MissedFromSeq: q.missed}
	q.lagged, q.missed = false, 0
	return ev, true
}

// Idle reports whether nothing is queued and no Lagged event is owed: a
// finished reader may stop.
func (q *Queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.lagged && len(q.in) == 0
}

// Close stops the subscription. It is safe to call more than once and
// concurrently with Publish.
func (q *Queue) Close() {
	q.once.Do(func() {
		close(q.done)
		q.bus.remove(q)
	})
}

// Finish takes the queue off the bus: no new events are queued; those
// already queued (and the Lagged event, if one is owed) are still there to
// be read.
func (q *Queue) Finish() { q.bus.remove(q) }

// offer queues ev, or records that it was dropped.
func (q *Queue) offer(ev Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.lagged {
		select {
		case q.in <- ev:
			return
		default:
		}
		q.lagged = true
		q.missed = 0
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	// Once lagging, drop everything until the Lagged event is delivered:
	// the re-read it asks for covers these too.
	if ev.Capture != nil && ev.Capture.Seq > 0 && (q.missed == 0 || ev.Capture.Seq < q.missed) {
		q.missed = ev.Capture.Seq
	}
}

// Subscription receives events from a Bus on a channel: a Queue and a
// goroutine that reads it.
type Subscription struct {
	q    *Queue
	out  chan Event    // C; the pump moves events from the queue to out
	fin  chan struct{} // Finish: close C once what is queued is out
	fino sync.Once
}

// C returns the channel of events. It is closed after Close.
func (s *Subscription) C() <-chan Event { return s.out }

// Close stops the subscription. It is safe to call more than once and
// concurrently with Publish.
func (s *Subscription) Close() { s.q.Close() }

// Finish ends the subscription gently: it takes no new events, and C() is
// closed once the events already queued (and the Lagged event, if one is
// owed) have been received. Use it at shutdown, after the last Publish
// that matters, so the reader sees everything; Close drops what is queued.
func (s *Subscription) Finish() {
	s.q.Finish()
	s.fino.Do(func() { close(s.fin) })
}

// pump delivers queued events in order and, once the events queued before
// a drop are out, the Lagged event.
func (s *Subscription) pump() {
	defer close(s.out)
	q, fin := s.q, s.fin
	for {
		if ev, ok := q.Lagged(); ok {
			if !s.send(ev) {
				return
			}
			continue
		}
		if fin == nil && q.Idle() {
			return // finished, and everything is out
		}
		select {
		case ev := <-q.in:
			if !s.send(ev) {
				return
			}
		case <-q.wake:
		case <-fin:
			fin = nil // from now on, stop once the queue is empty
		case <-q.done:
			return
		}
	}
}

func (s *Subscription) send(ev Event) bool {
	select {
	case s.out <- ev:
		return true
	case <-s.q.done:
		return false
	}
}
