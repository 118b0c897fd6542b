package feed

import (
	"sync"
	"time"

	"github.com/omega-listen/omega-listen/capture"
)

// NoteKind says what a note is about.
type NoteKind int

const (
	// Tunnel: the tunnel's state changed (Note.Tunnel).
	Tunnel NoteKind = iota + 1
	// Notice: something the user should know (Note.Text); Warn marks a
	// warning, which presenters keep in view.
	Notice
	// Step: a step of shutdown (Note.Text), shown as it happens.
	Step
)

func (k NoteKind) String() string {
	switch k {
	case Tunnel:
		return "tunnel"
	case Notice:
		return "notice"
	case Step:
		return "step"
	default:
		return "unknown"
	}
}

// TunnelState is a tunnel's state as a presenter shows it. It is plain
// data: presenters do not import the tunnel package.
type TunnelState struct {
	Provider string        // "none", "ngrok", "relay"
	State    string        // "connecting", "connected", "disconnected", "reconnected", "closed", …
	URL      string        // the public base URL
	Err      string        // why it disconnected or closed, if known
	Text     string        // what the state means for deliveries, when the provider says more than the state
	Latency  time.Duration // round trip to the provider, if measured
	Retry    time.Duration // when it will try again, if it is waiting to
}

// Shown is the state as every presenter names it: "local" (no tunnel,
// the receiver is only local), "connected", "reconnecting", or the state
// itself ("connecting", "closed", …).
func (t TunnelState) Shown() string {
	switch t.State {
	case "connected":
		if t.Provider == "none" {
			return "local"
		}
	case "reconnected":
		return "connected"
	case "disconnected":
		return "reconnecting"
	}
	return t.State
}

// Note is one piece of the listener's own news.
type Note struct {
	Kind NoteKind
	At   time.Time
	Text string // Notice, Step
	Warn bool   // Notice: a warning
	// Target (Notice): what it is about (a URL), for machine-readable output.
	Target string
	// Pending (Step): a step being taken ("Deleting endpoint…"); the step
	// that says how it went follows. Presenters that keep what they print
	// (lines) skip it; the screen shows it while it waits.
	Pending bool
	Tunnel  TunnelState // Tunnel
}

// Event is one message of a stream: a capture event (Kind, Capture), a
// Lagged event, or a note.
type Event struct {
	// Kind is capture.Received or capture.Completed when Capture is set.
	Kind    capture.EventKind
	Capture *capture.Capture
	// Lagged: capture events were dropped; re-read the store from
	// MissedFromSeq (see the package documentation).
	Lagged        bool
	MissedFromSeq int64
	// Note is set for the listener's own news.
	Note *Note
}

// maxHistory bounds the notices a new subscriber is given first.
const maxHistory = 50

// Stream is a listener's presentation stream. See the package
// documentation for its guarantees.
type Stream struct {
	bus *capture.Bus

	mu      sync.Mutex
	tunnel  *Note  // the latest tunnel state
	history []Note // the latest notices and steps
	subs    map[*Sub]struct{}
	closed  bool
}

// New returns a stream over bus, the bus the store publishes captures on.
func New(bus *capture.Bus) *Stream {
	return &Stream{bus: bus, subs: map[*Sub]struct{}{}}
}

// Note publishes n to every subscriber. It never blocks. A zero At is
// set to now.
func (s *Stream) Note(n Note) {
	if n.At.IsZero() {
		n.At = time.Now()
	}
	s.mu.Lock()
	if n.Kind == Tunnel {
		s.tunnel = &n
	} else {
		s.history = append(s.history, n)
		if len(s.history) > maxHistory {
			s.history = append(s.history[:0:0], s.history[len(s.history)-maxHistory:]...)
		}
	}
	for sub := range s.subs {
		sub.push(n)
	}
	s.mu.Unlock()
}

// Notice publishes a notice (or a warning, with warn).
func (s *Stream) Notice(text string, warn bool) { s.Note(Note{Kind: Notice, Text: text, Warn: warn}) }

// Step publishes a step of shutdown.
func (s *Stream) Step(text string) { s.Note(Note{Kind: Step, Text: text}) }

// SetTunnel publishes the tunnel's state.
func (s *Stream) SetTunnel(t TunnelState) { s.Note(Note{Kind: Tunnel, Tunnel: t}) }

// Tunnel returns the latest tunnel state, if any was published.
func (s *Stream) Tunnel() (TunnelState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tunnel == nil {
		return TunnelState{}, false
	}
	return s.tunnel.Tunnel, true
}

// Subscribe adds a subscriber with room for buffer capture events not yet
// read. It first receives the stream's current state (see the package
// documentation). The subscriber must Close (or Finish) it.
func (s *Stream) Subscribe(buffer int) *Sub {
	sub := &Sub{
		stream: s,
		caps:   s.bus.SubscribeQueue(buffer),
		out:    make(chan Event),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	s.mu.Lock()
	if s.tunnel != nil {
		sub.notes = append(sub.notes, *s.tunnel)
	}
	sub.notes = append(sub.notes, s.history...)
	if s.closed {
		sub.finishing = true
		sub.caps.Close()
	} else {
		s.subs[sub] = struct{}{}
	}
	s.mu.Unlock()
	go sub.pump()
	return sub
}

// Close finishes every subscription: each reads what is queued, then its
// channel closes. Notes published afterwards go nowhere.
func (s *Stream) Close() {
	s.mu.Lock()
	s.closed = true
	subs := make([]*Sub, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.Finish()
	}
}

// Sub is one presenter's subscription. Its one goroutine (pump) reads
// the bus's queue for it and merges the notes in, so a capture event
// reaches the presenter in one hop from the publisher.
type Sub struct {
	stream *Stream
	caps   *capture.Queue
	out    chan Event
	wake   chan struct{}
	done   chan struct{}
	once   sync.Once

	mu        sync.Mutex
	notes     []Note // published, not yet handed over
	finishing bool   // Finish: no new notes; end once what is queued is out
}

// C returns the channel of events. It is closed after Close, or once
// Finish has let everything queued out.
func (s *Sub) C() <-chan Event { return s.out }

// Close stops the subscription at once. Idempotent, safe at any time.
func (s *Sub) Close() {
	s.once.Do(func() {
		s.stream.remove(s)
		s.caps.Close()
		close(s.done)
	})
}

// Finish ends the subscription gently: no new events are taken, and C()
// closes once the events already queued have been read.
func (s *Sub) Finish() {
	s.stream.remove(s)
	s.mu.Lock()
	s.finishing = true
	s.mu.Unlock()
	s.caps.Finish()
	s.signal()
}

func (s *Stream) remove(sub *Sub) {
	s.mu.Lock()
	delete(s.subs, sub)
	s.mu.Unlock()
}

// push queues a note; called with the stream's lock held, so every
// subscriber sees notes in publication order.
func (s *Sub) push(n Note) {
	s.mu.Lock()
	s.notes = append(s.notes, n)
	s.mu.Unlock()
	s.signal()
}

func (s *Sub) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pump merges the bus's queue and the notes into C, keeping the queue's
// rules (see capture.Queue): notes first, then the Lagged event if one is
// owed, then the next capture event.
func (s *Sub) pump() {
	defer close(s.out)
	caps := s.caps.Events()
	lag, capsDone := s.caps.Wake(), s.caps.Done()
	for {
		s.mu.Lock()
		var next *Note
		if len(s.notes) > 0 {
			n := s.notes[0]
			s.notes = s.notes[1:]
			next = &n
		}
		finishing := s.finishing
		s.mu.Unlock()
		if next != nil {
			if !s.send(Event{Note: next}) {
				return
			}
			continue
		}
		if caps != nil {
			if ev, ok := s.caps.Lagged(); ok {
				if !s.send(Event{Lagged: true, MissedFromSeq: ev.MissedFromSeq}) {
					return
				}
				continue
			}
			if finishing && s.caps.Idle() {
				caps = nil // Finish: everything queued is out
			}
		}
		if caps == nil && finishing {
			return
		}
		// Under load an event is usually waiting: take it without the
		// five-way select below, which costs more than the rest of a turn.
		select {
		case ev := <-caps:
			if !s.send(Event{Kind: ev.Kind, Capture: ev.Capture}) {
				return
			}
			continue
		default:
		}
		select {
		case ev := <-caps:
			if !s.send(Event{Kind: ev.Kind, Capture: ev.Capture}) {
				return
			}
		case <-lag:
		case <-capsDone:
			// The queue closed: by Close (done is closed too), or by the
			// bus closing under us: wait for Finish or Close, still
			// delivering notes.
			caps, lag, capsDone = nil, nil, nil
			s.mu.Lock()
			s.finishing = true
			s.mu.Unlock()
		case <-s.wake:
		case <-s.done:
			return
		}
	}
}

func (s *Sub) send(ev Event) bool {
	select {
	case s.out <- ev: // the presenter is waiting
		return true
	default:
	}
	select {
	case s.out <- ev:
		return true
	case <-s.done:
		return false
	}
}
