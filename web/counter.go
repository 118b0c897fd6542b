package web

import (
	"context"
	"sync"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/feed"
)

// Stats are the counters the page shows: captures Options.Counted selects,
// by outcome.
type Stats struct {
	Total    int `json:"total"`
	Pending  int `json:"pending"`
	OK       int `json:"ok"`
	AppError int `json:"app_error"`
	Failed   int `json:"failed"`
	Rejected int `json:"rejected"`
}

func (st *Stats) add(o capture.Outcome, n int) {
	switch o {
	case capture.OutcomePending:
		st.Pending += n
	case capture.OutcomeOK:
		st.OK += n
	case capture.OutcomeAppError:
		st.AppError += n
	case capture.OutcomeFailed:
		st.Failed += n
	case capture.OutcomeRejected:
		st.Rejected += n
	}
}

// counter keeps Stats from one bus subscription: it counts the store once,
// then follows events, and counts the store again after a lag.
type counter struct {
	s    *Server
	sub  *feed.Sub
	done chan struct{}

	mu    sync.Mutex
	stats Stats
	// upTo: captures with Seq <= upTo were counted from the store;
	// pending holds those still pending (and later ones), by ID.
	upTo    int64
	pending map[string]bool
	ok      bool // counted at least once
}

func (s *Server) startCounter() {
	if s.o.Actions.Count == nil {
		return
	}
	c := &counter{s: s, done: make(chan struct{}), pending: map[string]bool{}}
	if s.o.Subscribe != nil {
		c.sub = s.o.Subscribe(8192)
	}
	s.mu.Lock()
	s.counter = c
	s.mu.Unlock()
	go c.run()
}

func (c *counter) stop() {
	if c.sub != nil {
		c.sub.Close()
	}
	<-c.done
}

func (c *counter) get() (Stats, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats, c.ok
}

func (c *counter) run() {
	defer close(c.done)
	c.recount()
	if c.sub == nil {
		return
	}
	for ev := range c.sub.C() {
		if ev.Note != nil {
			if ev.Note.Kind == feed.Tunnel {
				c.s.setTunnel(ev.Note.Tunnel)
			}
			continue
		}
		if ev.Lagged {
			c.recount()
		} else if ev.Capture != nil {
			c.apply(ev)
		}
		c.s.pokeAll()
	}
}

// recount counts the store. A capture written while it counts may be
// counted twice or not at all until the next event about it; the counters
// are for the eye.
func (c *counter) recount() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := c.s.o.Actions
	q := c.s.o.Counted
	var st Stats
	top := q
	top.Newest, top.Limit = true, 1
	latest, err := a.List(ctx, top)
	if err != nil {
		c.s.log.Warn("web: counting captures", "err", err)
		return
	}
	var upTo int64
	if len(latest) > 0 {
		upTo = latest[0].Seq
	}
	q.BeforeSeq = upTo + 1
	if st.Total, err = a.Count(ctx, q); err != nil {
		c.s.log.Warn("web: counting captures", "err", err)
		return
	}
	for _, o := range []capture.Outcome{capture.OutcomeOK, capture.OutcomeAppError, capture.OutcomeFailed, capture.OutcomeRejected} {
		oq := q
		oq.Outcomes = []capture.Outcome{o}
		n, err := a.Count(ctx, oq)
		if err != nil {
			c.s.log.Warn("web: counting captures", "err", err)
			return
		}
		st.add(o, n)
	}
	pq := q
	pq.Outcomes = []capture.Outcome{capture.OutcomePending}
	pend, err := a.List(ctx, pq)
	if err != nil {
		c.s.log.Warn("web: counting captures", "err", err)
		return
	}
	pending := make(map[string]bool, len(pend))
	for _, p := range pend {
		pending[p.ID] = true
	}
	st.Pending = len(pending)
	c.mu.Lock()
	c.stats, c.upTo, c.pending, c.ok = st, upTo, pending, true
	c.mu.Unlock()
}

// apply counts a capture in Total (and Pending) at its Received event,
// and in its outcome at its Completed event. (Record publishes both, with
// the outcome already set on the first.)
func (c *counter) apply(ev feed.Event) {
	cp := ev.Capture
	if !c.counts(cp) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case ev.Kind == capture.Received && cp.Seq > c.upTo && !c.pending[cp.ID]:
		c.stats.Total++
		c.stats.Pending++
		c.pending[cp.ID] = true
	case ev.Kind == capture.Completed && c.pending[cp.ID]:
		delete(c.pending, cp.ID)
		c.stats.Pending--
		c.stats.add(cp.Outcome(), 1)
	}
}

// counts reports whether Options.Counted selects cp (the conditions the
// listener uses: the session, or nothing).
func (c *counter) counts(cp *capture.Capture) bool {
	q := c.s.o.Counted
	return q.SessionID == "" || q.SessionID == cp.SessionID
}
