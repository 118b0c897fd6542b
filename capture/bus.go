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
	subs   atomic.Pointer[[]*Subscription]
	closed bool
}

// NewBus returns a bus with no subscribers.
func NewBus() *Bus {
	b := &Bus{}
	b.subs.Store(&[]*Subscription{})
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
	for _, s := range subs {
		s.offer(ev)
	}
}

// Subscribe adds a subscriber with room for buffer events (at least 1)
// not yet read. The subscriber must Close it when done.
func (b *Bus) Subscribe(buffer int) *Subscription {
	s := &Subscription{
		bus:  b,
		in:   make(chan Event, max(buffer, 1)),
		out:  make(chan Event),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
		fin:  make(chan struct{}),
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		s.once.Do(func() { close(s.done) })
		close(s.out)
		return s
	}
	old := *b.subs.Load()
	subs := append(old[:len(old):len(old)], s)
	b.subs.Store(&subs)
	b.mu.Unlock()
	go s.pump()
	return s
}

// Close closes every subscription; later subscriptions start closed.
func (b *Bus) Close() {
	b.mu.Lock()
	b.closed = true
	subs := *b.subs.Load()
	b.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
}

func (b *Bus) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.subs.Load()
	subs := make([]*Subscription, 0, len(old))
	for _, x := range old {
		if x != s {
			subs = append(subs, x)
		}
	}
	b.subs.Store(&subs)
}

// Subscription receives events from a Bus.
type Subscription struct {
	bus  *Bus
	in   chan Event    // Publish puts here without waiting
	out  chan Event    // C; the pump moves events from in to out
	wake chan struct{} // tells the pump a lag began
	done chan struct{}
	once sync.Once
	fin  chan struct{} // Finish: close C once what is queued is out
	fino sync.Once

	mu     sync.Mutex
	lagged bool  // events were dropped and the Lagged event is not yet out
	missed int64 // lowest Seq dropped since the last Lagged event
}

// C returns the channel of events. It is closed after Close.
func (s *Subscription) C() <-chan Event { return s.out }

// Close stops the subscription. It is safe to call more than once and
// concurrently with Publish.
func (s *Subscription) Close() {
	s.once.Do(func() {
		close(s.done)
		s.bus.remove(s)
	})
}

// Finish ends the subscription gently: it takes no new events, and C() is
// closed once the events already queued (and the Lagged event, if one is
// owed) have been received. Use it at shutdown, after the last Publish
// that matters, so the reader sees everything; Close drops what is queued.
func (s *Subscription) Finish() {
	s.bus.remove(s)
	s.fino.Do(func() { close(s.fin) })
}

// offer queues ev, or records that it was dropped.
func (s *Subscription) offer(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lagged {
		select {
		case s.in <- ev:
			return
		default:
		}
		s.lagged = true
		s.missed = 0
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	// Once lagging, drop everything until the Lagged event is delivered:
	// the re-read it asks for covers these too.
	if ev.Capture != nil && ev.Capture.Seq > 0 && (s.missed == 0 || ev.Capture.Seq < s.missed) {
		s.missed = ev.Capture.Seq
	}
}

// pump delivers queued events in order and, once the events queued before
// a drop are out, the Lagged event.
func (s *Subscription) pump() {
	defer close(s.out)
	fin := s.fin
	for {
		s.mu.Lock()
		if fin == nil && !s.lagged && len(s.in) == 0 {
			s.mu.Unlock()
			return // finished, and everything is out
		}
		if s.lagged && len(s.in) == 0 {
			// Clearing the flag before the send means an event dropped
			// from here on starts a new lag rather than being folded into
			// a Lagged event already on its way.
			ev := Event{Lagged: true, MissedFromSeq: s.missed}
			s.lagged, s.missed = false, 0
			s.mu.Unlock()
			if !s.send(ev) {
				return
			}
			continue
		}
		s.mu.Unlock()
		select {
		case ev := <-s.in:
			if !s.send(ev) {
				return
			}
		case <-s.wake:
		case <-fin:
			fin = nil // from now on, stop once the queue is empty
		case <-s.done:
			return
		}
	}
}

func (s *Subscription) send(ev Event) bool {
	select {
	case s.out <- ev:
		return true
	case <-s.done:
		return false
	}
}
