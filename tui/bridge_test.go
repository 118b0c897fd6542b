package tui

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/feed"
	"github.com/omega-listen/omega-listen/omega"
)

// memStore is the store's List over summaries held in memory, written
// before each event is published, as capture.Store is.
type memStore struct {
	mu   sync.Mutex
	rows []capture.Summary // by Seq
	at   map[string]int
}

func (s *memStore) put(c *capture.Capture) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at == nil {
		s.at = make(map[string]int)
	}
	if i, ok := s.at[c.ID]; ok {
		s.rows[i] = c.Summary()
		return
	}
	s.at[c.ID] = len(s.rows)
	s.rows = append(s.rows, c.Summary())
}

func (s *memStore) list(_ context.Context, q capture.Query) ([]capture.Summary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.rows), func(i int) bool { return s.rows[i].Seq > q.AfterSeq })
	var out []capture.Summary
	for _, r := range s.rows[i:] {
		if q.SessionID == "" || r.SessionID == q.SessionID {
			out = append(out, r)
		}
	}
	if q.Newest {
		for a, b := 0, len(out)-1; a < b; a, b = a+1, b-1 {
			out[a], out[b] = out[b], out[a]
		}
		if q.Limit > 0 && len(out) > q.Limit {
			out = out[:q.Limit]
		}
	}
	return out, nil
}

func TestBridgeBurst(t *testing.T) {
	const n = 10000
	bus := capture.NewBus()
	sub := feed.New(bus).Subscribe(8) // far too small: the subscriber must lag
	defer sub.Close()
	store := &memStore{}
	m := New(Options{Info: testInfo, Actions: Actions{List: store.list}, NoColor: true, History: n})
	m.after = func(time.Duration, tea.Msg) tea.Cmd { return nil }
	run(m, m.Init())

	msgs := make(chan tea.Msg, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bridgeDone := make(chan struct{})
	go func() {
		defer close(bridgeDone)
		Bridge(ctx, sub.C(), func(msg tea.Msg) {
			select {
			case msgs <- msg:
			case <-ctx.Done():
			}
		})
	}()
	go func() {
		for i := range n {
			c := fixture(i, omega.TypeProcessSucceeded, 0)
			c.ID = fmt.Sprintf("c_burst%07d", i)
			c.Seq = int64(10_000 + i)
			c.State, c.Status, c.SentStatus = capture.StatePending, 0, 0
			store.put(c)
			bus.Publish(capture.Received, c)
			c.State, c.Status, c.SentStatus = capture.StateDone, 200, 200
			store.put(c)
			bus.Publish(capture.Completed, c)
		}
	}()

	lagged := 0
	deadline := time.After(60 * time.Second)
	for m.counts[capture.OutcomeOK] < n {
		select {
		case msg := <-msgs:
			if d := msg.(deliveriesMsg); d.lagged {
				lagged++
			}
			_, cmd := m.Update(msg)
			run(m, cmd)
		case <-deadline:
			t.Fatalf("after 60s the model has %d rows, %d counted ok; want %d", m.main.rows.len(), m.counts[capture.OutcomeOK], n)
		}
	}
	cancel()
	<-bridgeDone

	if got := m.main.rows.len(); got != n {
		t.Fatalf("%d rows, want %d", got, n)
	}
	seen := make(map[string]bool, n)
	for i, r := range m.main.rows.rows {
		if seen[r.ID] {
			t.Fatalf("%s twice", r.ID)
		}
		seen[r.ID] = true
		if r.State != capture.StateDone {
			t.Fatalf("%s left %s", r.ID, r.State)
		}
		if i > 0 && m.main.rows.rows[i-1].Seq >= r.Seq {
			t.Fatalf("rows out of order at %d", i)
		}
	}
	if m.counts[capture.OutcomeOK] != n {
		t.Fatalf("counted %d ok, want %d", m.counts[capture.OutcomeOK], n)
	}
	if lagged == 0 {
		t.Errorf("the subscriber never lagged: the test did not exercise catch-up")
	}
	t.Logf("%d lagged messages", lagged)
}

func TestBatchFolds(t *testing.T) {
	c := fixture(1, omega.TypeProcessSucceeded, 200)
	p := *c
	p.State = capture.StatePending
	var b batch
	b.add(feed.Event{Kind: capture.Received, Capture: &p})
	b.add(feed.Event{Kind: capture.Completed, Capture: c})
	b.add(feed.Event{Kind: capture.Received, Capture: &p}) // late: must not undo
	b.add(feed.Event{Lagged: true, MissedFromSeq: 50})
	b.add(feed.Event{Lagged: true, MissedFromSeq: 40})
	msg := b.msg()
	if len(msg.rows) != 1 || msg.rows[0].State != capture.StateDone || !msg.lagged || msg.lagFrom != 40 {
		t.Fatalf("batch %+v", msg)
	}
	b.add(feed.Event{Lagged: true, MissedFromSeq: 0})
	b.add(feed.Event{Lagged: true, MissedFromSeq: 30})
	if b.lagFrom != 0 {
		t.Fatalf("an unknown start (0) must stay 0 (re-read all), got %d", b.lagFrom)
	}
}

func TestBridgeEndsWithSubscription(t *testing.T) {
	bus := capture.NewBus()
	stream := feed.New(bus)
	sub := stream.Subscribe(4)
	var got []tea.Msg
	done := make(chan struct{})
	go func() {
		defer close(done)
		Bridge(context.Background(), sub.C(), func(msg tea.Msg) { got = append(got, msg) })
	}()
	bus.Publish(capture.Completed, fixture(1, omega.TypeProcessSucceeded, 200))
	stream.SetTunnel(feed.TunnelState{Provider: "ngrok", State: "disconnected", Err: "eof"})
	stream.Notice("backfill: nothing to do", false)
	stream.Step("Deleting endpoint 6b08…\nDeleted.")
	sub.Finish()
	<-done // Bridge returned once the subscription ended
	var notes []tea.Msg
	for _, msg := range got {
		switch d := msg.(type) {
		case deliveriesMsg:
			if len(d.rows) == 0 && !d.lagged {
				t.Errorf("empty message sent")
			}
		default:
			notes = append(notes, msg)
		}
	}
	want := []tea.Msg{
		TunnelMsg{State: "reconnecting", Err: "eof"},
		NoticeMsg{Text: "backfill: nothing to do"},
		ShutdownMsg{Line: "Deleting endpoint 6b08…"},
		ShutdownMsg{Line: "Deleted."},
	}
	if !reflect.DeepEqual(notes, want) {
		t.Errorf("notes became %#v, want %#v", notes, want)
	}
}

func TestTunnelMsg(t *testing.T) {
	for _, tc := range []struct {
		in   feed.TunnelState
		want string
	}{
		{feed.TunnelState{Provider: "none", State: "connected"}, "local"},
		{feed.TunnelState{Provider: "ngrok", State: "connected"}, "connected"},
		{feed.TunnelState{Provider: "ngrok", State: "reconnected"}, "connected"},
		{feed.TunnelState{Provider: "ngrok", State: "disconnected"}, "reconnecting"},
		{feed.TunnelState{Provider: "ngrok", State: "connecting"}, "connecting"},
		{feed.TunnelState{Provider: "ngrok", State: "closed"}, "closed"},
	} {
		t.Run(tc.in.Provider+" "+tc.in.State, func(t *testing.T) {
			if got := tunnelMsg(tc.in).State; got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
