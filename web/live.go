package web

import (
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/feed"
)

// liveMsg is one message of the live feed. Type is one of:
//
//	hello    the first message: Info and Stats
//	state    Info or Stats changed
//	capture  a capture was received or completed (Event); Match says
//	         whether it passes the connection's filter (a row that no
//	         longer matches should be removed)
//	resync   events were missed: re-read captures with Seq >= FromSeq
//	         (0: everything)
//	notice   a message for the user
type liveMsg struct {
	Type    string           `json:"type"`
	Info    *Info            `json:"info,omitempty"`
	Stats   *Stats           `json:"stats,omitempty"`
	Event   string           `json:"event,omitempty"`
	Capture *capture.Summary `json:"capture,omitempty"`
	Match   *bool            `json:"match,omitempty"`
	FromSeq *int64           `json:"from_seq,omitempty"`
	Text    string           `json:"text,omitempty"`
	Warn    bool             `json:"warn,omitempty"`
}

type notice struct {
	Text string
	Warn bool
}

// liveConn is one open live feed: the handler's goroutine writes, one
// goroutine reads (to see pongs and the close).
type liveConn struct {
	ws      *websocket.Conn
	state   chan struct{} // cap 1: info or stats changed
	notes   chan notice
	stopped chan struct{} // closed by shutdown
	once    sync.Once
}

func (c *liveConn) poke() {
	select {
	case c.state <- struct{}{}:
	default:
	}
}

func (c *liveConn) notice(n notice) {
	select {
	case c.notes <- n:
	default: // a browser that does not read loses notices, not deliveries
	}
}

func (c *liveConn) shutdown() { c.once.Do(func() { close(c.stopped) }) }

func (s *Server) pokeAll() {
	s.mu.Lock()
	conns := s.connList()
	s.mu.Unlock()
	for _, c := range conns {
		c.poke()
	}
}

// statePeriod spaces state messages: counters change with every delivery.
const statePeriod = 250 * time.Millisecond

func (s *Server) upgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 16 << 10,
		// The guard has refused a foreign Origin already; say so again
		// here, where gorilla asks.
		CheckOrigin: func(r *http.Request) bool {
			o := r.Header.Get("Origin")
			return o == "" || o == "http://"+r.Host
		},
	}
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	flt, err := capture.ParseFilter(r.URL.Query().Get("filter"), s.currentInfo().KnownTypes)
	if err != nil {
		http.Error(w, "filter: "+err.Error(), http.StatusBadRequest)
		return
	}
	ws, err := s.upgrader().Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered
	}
	c := &liveConn{ws: ws, state: make(chan struct{}, 1), notes: make(chan notice, 16), stopped: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	var events <-chan feed.Event
	if s.o.Subscribe != nil {
		sub := s.o.Subscribe(s.liveBuffer)
		defer sub.Close()
		events = sub.C()
	}
	s.serveLive(c, flt, events)
}

// serveLive is the connection's writer; it starts the reader.
func (s *Server) serveLive(c *liveConn, flt capture.Filter, events <-chan feed.Event) {
	ws := c.ws
	defer ws.Close()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		ws.SetReadLimit(readLimit)
		_ = ws.SetReadDeadline(time.Now().Add(s.pongWait))
		ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(s.pongWait)) })
		for {
			// The page sends nothing but pongs and the close; anything
			// else is read and dropped.
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	write := func(m *liveMsg) bool {
		_ = ws.SetWriteDeadline(time.Now().Add(writeWait))
		return ws.WriteJSON(m) == nil
	}
	closeWith := func(code int, text string) {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(writeWait))
	}
	hello := s.stateMsg("hello")
	if !write(hello) {
		return
	}
	ping := time.NewTicker(s.pingPeriod)
	defer ping.Stop()
	var lastState time.Time
	var stateTimer <-chan time.Time
	for {
		var m *liveMsg
		select {
		case ev, ok := <-events:
			if !ok {
				closeWith(websocket.CloseGoingAway, "the listener stopped")
				return
			}
			// Take what else is queued, and send a capture's received and
			// completed as one when both are here: under load the page
			// gets half the messages, and never an older state after a
			// newer one.
			if ev.Note != nil {
				// Tunnel states reach the page through the state message
				// (the counter's subscription keeps Info up to date);
				// notices and shutdown steps are shown as they come.
				if m := noteMsg(*ev.Note); m != nil && !write(m) {
					return
				}
				continue
			}
			batch := []feed.Event{ev}
		drain:
			for len(batch) < maxFold {
				select {
				case e, ok := <-events:
					if !ok {
						break drain
					}
					if e.Note != nil {
						if m := noteMsg(*e.Note); m != nil && !write(m) {
							return
						}
						continue
					}
					batch = append(batch, e)
				default:
					break drain
				}
			}
			for _, m := range foldEvents(batch, flt) {
				if !write(m) {
					return
				}
			}
			continue
		case <-c.state:
			if wait := statePeriod - time.Since(lastState); wait > 0 {
				if stateTimer == nil {
					stateTimer = time.After(wait)
				}
				continue
			}
			m = s.stateMsg("state")
			lastState = time.Now()
		case <-stateTimer:
			stateTimer = nil
			m = s.stateMsg("state")
			lastState = time.Now()
		case n := <-c.notes:
			m = &liveMsg{Type: "notice", Text: n.Text, Warn: n.Warn}
		case <-ping.C:
			if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
			continue
		case <-readDone:
			return
		case <-c.stopped:
			closeWith(websocket.CloseGoingAway, "the inspector is shutting down")
			return
		}
		if m != nil && !write(m) {
			return
		}
	}
}

func (s *Server) stateMsg(typ string) *liveMsg {
	info := s.currentInfo()
	m := &liveMsg{Type: typ, Info: &info}
	if st, ok := s.stats(); ok {
		m.Stats = &st
	}
	return m
}

func (s *Server) stats() (Stats, bool) {
	s.mu.Lock()
	c := s.counter
	s.mu.Unlock()
	if c == nil {
		return Stats{}, false
	}
	return c.get()
}

// maxFold bounds the events folded into one burst of messages.
const maxFold = 256

// foldEvents turns a burst of bus events into messages, one per capture
// (its latest state, at the place of its first event) between lags.
func foldEvents(evs []feed.Event, flt capture.Filter) []*liveMsg {
	out := make([]*liveMsg, 0, len(evs))
	at := map[string]int{}
	for _, ev := range evs {
		m := captureMsg(ev, flt)
		switch {
		case m == nil:
			continue
		case ev.Lagged:
			clear(at)
		case ev.Capture != nil:
			if i, ok := at[ev.Capture.ID]; ok {
				out[i] = m
				continue
			}
			at[ev.Capture.ID] = len(out)
		}
		out = append(out, m)
	}
	return out
}

func captureMsg(ev feed.Event, flt capture.Filter) *liveMsg {
	if ev.Lagged {
		from := ev.MissedFromSeq
		return &liveMsg{Type: "resync", FromSeq: &from}
	}
	if ev.Capture == nil {
		return nil
	}
	sum := ev.Capture.Summary()
	match := flt.Match(ev.Capture)
	return &liveMsg{Type: "capture", Event: ev.Kind.String(), Capture: &sum, Match: &match}
}

// noteMsg is how the page hears of a note: notices and the steps of
// shutdown as notices; tunnel states not at all (see counter.run).
func noteMsg(n feed.Note) *liveMsg {
	switch n.Kind {
	case feed.Notice:
		return &liveMsg{Type: "notice", Text: n.Text, Warn: n.Warn}
	case feed.Step:
		if n.Pending {
			return nil
		}
		return &liveMsg{Type: "notice", Text: n.Text}
	}
	return nil
}
