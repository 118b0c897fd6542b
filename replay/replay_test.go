package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
)

var ctx = context.Background()

func openStore(t testing.TB) *capture.Store {
	t.Helper()
	return openStoreWith(t, capture.Options{Retain: -1})
}

func openStoreWith(t testing.TB, o capture.Options) *capture.Store {
	t.Helper()
	s, err := capture.Open(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// got is one request an app received.
type got struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// app is a local app that records what it receives and answers status.
type app struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	reqs   []got
}

func newApp(t testing.TB, status int) *app {
	t.Helper()
	a := &app{}
	a.status.Store(int32(status))
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.reqs = append(a.reqs, got{r.Method, r.URL.Path, r.Header.Clone(), b})
		a.mu.Unlock()
		w.WriteHeader(int(a.status.Load()))
		fmt.Fprintf(w, "answer %d\n", a.status.Load())
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *app) received() []got {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.reqs)
}

// record stores a finished delivery of eventType that the app answered
// with status (0: unreachable).
func record(t testing.TB, s *capture.Store, eventType string, status int, mod func(*capture.Capture)) *capture.Capture {
	t.Helper()
	body, err := omega.SampleEvent(eventType, "ep_1", "")
	if err != nil {
		t.Fatal(err)
	}
	env, err := omega.ParseEnvelopeHead(body)
	if err != nil {
		t.Fatal(err)
	}
	c := &capture.Capture{
		Meta: capture.Meta{
			Method: http.MethodPost, Path: inspector.RedactedPath,
			EventID:    env.ID,
			EventType:  env.Type,
			EndpointID: env.EndpointID,
			Target:     "http://127.0.0.1:9/webhook",
			Status:     status,
			SentStatus: status,
		},
		Headers: http.Header{"Content-Type": {"application/json"}, "User-Agent": {"Omega/1"}, "Host": {"abc.ngrok.app"}, "X-Omega-Thing": {"a", "b"}},
		Body:    body,
	}
	if status == 0 {
		c.Error = "could not reach http://127.0.0.1:9/webhook: connection refused"
		c.SentStatus = 502
	}
	if mod != nil {
		mod(c)
	}
	if err := s.Record(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func ids(cs []*capture.Capture) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestSelect(t *testing.T) {
	s := openStore(t)
	now := time.Now()
	old := now.Add(-3 * time.Hour)
	a := record(t, s, omega.TypeProcessSucceeded, 200, func(c *capture.Capture) { c.ReceivedAt = old })
	b := record(t, s, omega.TypeProcessFailed, 500, nil)
	rej := record(t, s, omega.TypeProcessFailed, 0, func(c *capture.Capture) {
		c.Flags, c.RejectReason, c.Body, c.Error, c.SentStatus = capture.FlagRejected, "method GET not allowed", nil, "", 405
	})
	d := record(t, s, omega.TypeProcessSucceeded, 0, nil)                                              // app down
	e := record(t, s, omega.TypeProcessFailed, 503, func(c *capture.Capture) { c.ReplayOf = b.ID })    // replay of b, failed too
	f := record(t, s, omega.TypeProcessSucceeded, 204, func(c *capture.Capture) { c.ReplayOf = d.ID }) // d fixed by a replay
	g := record(t, s, omega.TypeDeleted, 404, nil)
	pend := &capture.Capture{Meta: capture.Meta{Method: "POST", Target: "http://127.0.0.1:9/"}, Body: []byte(`{}`)}
	if err := s.Begin(ctx, pend); err != nil { // crashed mid-forward: still a request
		t.Fatal(err)
	}

	all := []string{a.ID, b.ID, rej.ID, d.ID, e.ID, f.ID, g.ID, pend.ID}
	tests := []struct {
		name string
		sel  Selector
		want []*capture.Capture
		err  error  // errors.Is
		msg  string // in the error
		bad  SelectorProblem
	}{
		{name: "one ID", sel: Selector{IDs: []string{b.ID}}, want: []*capture.Capture{b}},
		{name: "IDs in store order, prefixes", sel: Selector{IDs: []string{g.ID, uniquePrefix(a.ID, all), strings.ToUpper(d.ID[2:])}}, want: []*capture.Capture{a, d, g}},
		{name: "same capture twice", sel: Selector{IDs: []string{b.ID, b.ID[2:]}}, msg: "same capture"},
		{name: "ID given twice", sel: Selector{IDs: []string{b.ID, b.ID}}, msg: "given twice"},
		{name: "rejected ID", sel: Selector{IDs: []string{rej.ID}}, err: ErrRejected, msg: "method GET not allowed"},
		{name: "unknown ID", sel: Selector{IDs: []string{"c_zzzzzzzzzz"}}, err: capture.ErrNotFound},
		{name: "last 2", sel: Selector{Last: 2}, want: []*capture.Capture{g, pend}},
		{name: "last more than there are", sel: Selector{Last: 100}, want: []*capture.Capture{a, b, d, e, f, g, pend}},
		{name: "all skips rejected", sel: Selector{All: true}, want: []*capture.Capture{a, b, d, e, f, g, pend}},
		{name: "type", sel: Selector{Types: []string{omega.TypeProcessFailed}}, want: []*capture.Capture{b, e}},
		{name: "two types, last 2", sel: Selector{Types: []string{omega.TypeProcessSucceeded, omega.TypeDeleted}, Last: 2}, want: []*capture.Capture{f, g}},
		{name: "since", sel: Selector{Since: time.Hour}, want: []*capture.Capture{b, d, e, f, g, pend}},
		{name: "failed folds replays into originals", sel: Selector{Failed: true}, want: []*capture.Capture{b, g}},
		{name: "failed of a type", sel: Selector{Failed: true, Types: []string{omega.TypeProcessFailed}}, want: []*capture.Capture{b}},
		{name: "failed, last 1", sel: Selector{Failed: true, Last: 1}, want: []*capture.Capture{g}},
		{name: "nothing matches", sel: Selector{Types: []string{"video.nope"}}, err: ErrNothingSelected, msg: "of type video.nope"},
		{name: "nothing failed in window", sel: Selector{Failed: true, Since: time.Hour, Types: []string{omega.TypeProcessSucceeded}}, err: ErrNothingSelected, msg: "failed captures"},
		{name: "no selector", sel: Selector{}, bad: NoSelection, msg: "say what to replay"},
		{name: "IDs and filters", sel: Selector{IDs: []string{b.ID}, Failed: true}, bad: IDsAndFilters, msg: "not both"},
		{name: "IDs and all", sel: Selector{IDs: []string{b.ID}, All: true}, bad: IDsAndFilters},
		{name: "all and filters", sel: Selector{All: true, Last: 3}, bad: AllAndFilters, msg: "every capture"},
		{name: "negative last", sel: Selector{Last: -1}, bad: NegativeLast, msg: "latest captures"},
		{name: "window in the future", sel: Selector{Since: -time.Minute}, bad: FutureSince},
		{name: "empty type", sel: Selector{Types: []string{omega.TypeDeleted, " "}}, bad: EmptyType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			caps, err := Select(ctx, s, tc.sel, now)
			if tc.bad != 0 {
				var se *SelectorError
				if !errors.As(err, &se) || se.Problem != tc.bad {
					t.Fatalf("error %v, want a SelectorError with problem %d", err, tc.bad)
				}
				if strings.Contains(err.Error(), "--") {
					t.Errorf("error %q names a flag: the command layer does that", err)
				}
			}
			if tc.err != nil || tc.msg != "" || tc.bad != 0 {
				if err == nil {
					t.Fatalf("selected %v, want an error", ids(caps))
				}
				if tc.err != nil && !errors.Is(err, tc.err) {
					t.Errorf("error %v, want %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q lacks %q", err, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(caps), ids(tc.want)) {
				t.Errorf("selected\n%v\nwant\n%v", ids(caps), ids(tc.want))
			}
			for _, c := range caps {
				if c.Body == nil && c.ID != pend.ID {
					t.Errorf("%s selected without its body", c.ID)
				}
			}
		})
	}
}

// uniquePrefix is the shortest prefix of id, at least 6 long, that no
// other of all starts with.
func uniquePrefix(id string, all []string) string {
	for n := 6; n < len(id); n++ {
		p, clash := id[:n], false
		for _, o := range all {
			clash = clash || (o != id && strings.HasPrefix(o, p))
		}
		if !clash {
			return p
		}
	}
	return id
}

func newReplayer(t testing.TB, s *capture.Store, o Options) *Replayer {
	t.Helper()
	o.Store = s
	if o.Forwarder == nil {
		o.Forwarder = inspector.NewForwarder(inspector.ForwarderOptions{Timeout: 5 * time.Second})
		t.Cleanup(o.Forwarder.Close)
	}
	return New(o)
}

func TestOneRecordsLineage(t *testing.T) {
	bus := capture.NewBus()
	s := openStoreWith(t, capture.Options{Retain: -1, Bus: bus})
	a := newApp(t, 201)
	orig := record(t, s, omega.TypeProcessFailed, 500, func(c *capture.Capture) { c.Target = a.URL + "/webhook" })

	// The store publishes the replay: the replayer has no path of its own.
	sub := bus.Subscribe(16)
	defer sub.Close()
	r := newReplayer(t, s, Options{SessionID: "s_replay"})
	res, err := r.One(ctx, orig, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := a.received()
	if len(reqs) != 1 {
		t.Fatalf("app got %d requests", len(reqs))
	}
	req := reqs[0]
	if !bytes.Equal(req.Body, orig.Body) || req.Path != "/webhook" || req.Method != "POST" {
		t.Errorf("app got %s %s %q, want the original body", req.Method, req.Path, req.Body)
	}
	if req.Header.Get(inspector.HeaderReplay) != orig.ID || req.Header.Get(inspector.HeaderCapture) != res.ID {
		t.Errorf("replay headers: %v", req.Header)
	}
	if !slices.Equal(req.Header["X-Omega-Thing"], []string{"a", "b"}) || req.Header.Get("User-Agent") != "Omega/1" || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("original headers not passed on: %v", req.Header)
	}

	stored, err := s.Get(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.ID == orig.ID || stored.ReplayOf != orig.ID || stored.SessionID != "s_replay" {
		t.Errorf("stored %s replay_of %q session %q", stored.ID, stored.ReplayOf, stored.SessionID)
	}
	if stored.State != capture.StateDone || stored.Status != 201 || stored.Outcome() != capture.OutcomeOK || string(stored.RespBody) != "answer 201\n" {
		t.Errorf("stored outcome: %s %d %q", stored.State, stored.Status, stored.RespBody)
	}
	if stored.EventID != orig.EventID || stored.EventType != orig.EventType || stored.EndpointID != orig.EndpointID || !bytes.Equal(stored.Body, orig.Body) {
		t.Errorf("envelope not copied: %+v", stored.Summary())
	}
	if stored.Target != a.URL+"/webhook" {
		t.Errorf("target %q", stored.Target)
	}
	var events []string
	for len(events) < 2 {
		select {
		case e := <-sub.C():
			if e.Capture != nil && e.Capture.ID == res.ID {
				events = append(events, e.Kind.String()+" "+string(e.Capture.State))
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("published only %v", events)
		}
	}
	if !slices.Equal(events, []string{"received pending", "completed done"}) {
		t.Errorf("published %v", events)
	}
	// The original is untouched.
	o2, _ := s.Get(ctx, orig.ID)
	if o2.Status != 500 || o2.ReplayOf != "" {
		t.Errorf("original changed: %+v", o2.Summary())
	}
}

func TestOneTo(t *testing.T) {
	s := openStore(t)
	first, other := newApp(t, 200), newApp(t, 202)
	orig := record(t, s, omega.TypeProcessSucceeded, 200, func(c *capture.Capture) { c.Target = first.URL + "/a" })
	r := newReplayer(t, s, Options{})
	res, err := r.One(ctx, orig, other.URL+"/b", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.received()) != 0 || len(other.received()) != 1 || other.received()[0].Path != "/b" {
		t.Errorf("first got %d, other got %v", len(first.received()), other.received())
	}
	if res.Target != other.URL+"/b" || res.Status != 202 {
		t.Errorf("result %s %d", res.Target, res.Status)
	}
	for _, tc := range []struct{ name, bad string }{
		{"ftp", "ftp://x/y"},
		{"no host", "http://"},
		{"not a URL", "not a url"},
		{"port out of range", "http://h:99999/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.One(ctx, orig, tc.bad, nil); err == nil {
				t.Errorf("--to %q accepted", tc.bad)
			}
		})
	}
	if n := len(other.received()) + len(first.received()); n != 1 {
		t.Errorf("bad targets sent %d requests", n-1)
	}
}

func TestOneEditedBody(t *testing.T) {
	s := openStore(t)
	a := newApp(t, 200)
	orig := record(t, s, omega.TypeProcessFailed, 500, func(c *capture.Capture) {
		c.Target = a.URL
		c.Headers.Set("Content-Length", fmt.Sprint(len(c.Body)))
	})
	body, err := SetField(orig.Body, "type="+omega.TypeProcessSucceeded)
	if err != nil {
		t.Fatal(err)
	}
	body, err = SetField(body, "data.title=edited & new")
	if err != nil {
		t.Fatal(err)
	}
	res, err := newReplayer(t, s, Options{}).One(ctx, orig, "", body)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.received()[0].Body; !bytes.Equal(got, body) {
		t.Errorf("app got %s", got)
	}
	stored, _ := s.Get(ctx, res.ID)
	if stored.EventType != omega.TypeProcessSucceeded || !bytes.Equal(stored.Body, body) {
		t.Errorf("stored type %q body %s", stored.EventType, stored.Body)
	}
	if stored.Headers.Get("Content-Length") != fmt.Sprint(len(body)) {
		t.Errorf("stored Content-Length %q for a %d-byte body", stored.Headers.Get("Content-Length"), len(body))
	}
	if orig.Headers.Get("Content-Length") != fmt.Sprint(len(orig.Body)) {
		t.Error("the original's headers were changed")
	}

	// An edit into something that is not JSON is recorded as such.
	res, err = newReplayer(t, s, Options{}).One(ctx, orig, "", []byte("plain text"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Flags.Has(capture.FlagNotJSON) || res.EventID != "" || res.EventType != "" {
		t.Errorf("flags %b event %q %q", res.Flags, res.EventID, res.EventType)
	}
}

func TestOneAppDownAndRejected(t *testing.T) {
	s := openStore(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	orig := record(t, s, omega.TypeProcessSucceeded, 200, func(c *capture.Capture) { c.Target = deadURL })
	res, err := newReplayer(t, s, Options{}).One(ctx, orig, "", nil)
	if err != nil {
		t.Fatalf("an app that is down is an outcome, not an error: %v", err)
	}
	if res.Outcome() != capture.OutcomeFailed || res.SentStatus != 502 || !strings.Contains(res.Error, "could not reach") {
		t.Errorf("outcome %s sent %d error %q", res.Outcome(), res.SentStatus, res.Error)
	}
	if stored, _ := s.Get(ctx, res.ID); stored.Outcome() != capture.OutcomeFailed {
		t.Errorf("stored outcome %s", stored.Outcome())
	}

	rej := record(t, s, omega.TypeProcessSucceeded, 0, func(c *capture.Capture) { c.Flags = capture.FlagRejected; c.Target = deadURL })
	if _, err := newReplayer(t, s, Options{}).One(ctx, rej, "", nil); !errors.Is(err, ErrRejected) {
		t.Errorf("rejected capture: %v", err)
	}

	noTarget := record(t, s, omega.TypeProcessSucceeded, 200, func(c *capture.Capture) { c.Target = "" })
	_, err = newReplayer(t, s, Options{}).One(ctx, noTarget, "", nil)
	if te := (*TargetError)(nil); !errors.As(err, &te) || te.CaptureID != noTarget.ID || te.Err != nil {
		t.Errorf("no target: %v, want a TargetError for %s without a cause", err, noTarget.ID)
	}
	badTarget := record(t, s, omega.TypeProcessSucceeded, 200, func(c *capture.Capture) { c.Target = "ftp://x/y" })
	_, err = newReplayer(t, s, Options{}).One(ctx, badTarget, "", nil)
	if te := (*TargetError)(nil); !errors.As(err, &te) || te.CaptureID != badTarget.ID || te.Err == nil || strings.Contains(err.Error(), "--") {
		t.Errorf("unusable target: %v, want a TargetError for %s with its cause and no flag", err, badTarget.ID)
	}
}

// TestOneKeepsQuery: a replay reaches the app with the query string the
// original delivery arrived with, once, whether it goes to the recorded
// target (which already carries that query), to another target, or to
// the Forwarder's own.
func TestOneKeepsQuery(t *testing.T) {
	s := openStore(t)
	a := newApp(t, 200)
	queries := make(chan string, 8)
	a.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries <- r.URL.RawQuery
	})
	own, err := ParseTarget(a.URL + "/fwd?k=v")
	if err != nil {
		t.Fatal(err)
	}
	fwd := inspector.NewForwarder(inspector.ForwarderOptions{Target: own, Timeout: 5 * time.Second})
	t.Cleanup(fwd.Close)
	tests := []struct {
		name, path, target, to, want string
	}{
		{name: "recorded target", path: inspector.RedactedPath + "?attempt=2&x=%20y", target: a.URL + "/webhook?attempt=2&x=%20y", want: "attempt=2&x=%20y"},
		{name: "recorded target with its own query", path: inspector.RedactedPath + "?attempt=2", target: a.URL + "/webhook?k=v&attempt=2", want: "k=v&attempt=2"},
		{name: "another target", path: inspector.RedactedPath + "?attempt=2", target: a.URL + "/webhook?attempt=2", to: a.URL + "/other", want: "attempt=2"},
		{name: "the Forwarder's target", path: inspector.RedactedPath + "?attempt=2", target: "", want: "k=v&attempt=2"},
		{name: "no query", path: inspector.RedactedPath, target: a.URL + "/webhook", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := record(t, s, omega.TypeProcessSucceeded, 500, func(c *capture.Capture) { c.Path, c.Target = tc.path, tc.target })
			r := newReplayer(t, s, Options{Forwarder: fwd})
			pl, err := r.Plan(orig, tc.to, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.One(ctx, orig, tc.to, nil)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case q := <-queries:
				if q != tc.want {
					t.Errorf("app got query %q, want %q", q, tc.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the app got nothing")
			}
			if res.Target != pl.TargetString(fwd) {
				t.Errorf("replay went to %q, the plan said %q", res.Target, pl.TargetString(fwd))
			}
			if !strings.HasSuffix(res.Target, "?"+tc.want) && tc.want != "" {
				t.Errorf("replay target %q lacks the query %q", res.Target, tc.want)
			}
		})
	}
}

// TestRunKeepsInputOrder makes the first replay finish last and checks
// that results still come back in input order.
func TestRunKeepsInputOrder(t *testing.T) {
	s := openStore(t)
	const n = 4
	var arrived atomic.Int32
	othersIn := make(chan struct{})
	var order []int
	var mu sync.Mutex
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscan(r.Header.Get("X-Index"), &i)
		if i == 0 {
			<-othersIn // the first waits until all the others were answered
		} else if arrived.Add(1) == n-1 {
			defer close(othersIn)
		}
		mu.Lock()
		order = append(order, i)
		mu.Unlock()
		w.WriteHeader(200 + i)
	}))
	defer a.Close()
	var origs []*capture.Capture
	for i := range n {
		origs = append(origs, record(t, s, omega.TypeProcessSucceeded, 200, func(c *capture.Capture) {
			c.Target = a.URL
			c.Headers.Set("X-Index", fmt.Sprint(i))
		}))
	}
	r := newReplayer(t, s, Options{Concurrency: n})
	var seen []int
	err := r.Run(ctx, origs, "", nil, func(i int, res *capture.Capture, err error) {
		if err != nil {
			t.Errorf("%d: %v", i, err)
			return
		}
		if res.ReplayOf != origs[i].ID || res.Status != 200+i {
			t.Errorf("result %d is the replay of %s with status %d", i, res.ReplayOf, res.Status)
		}
		seen = append(seen, i)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []int{0, 1, 2, 3}) {
		t.Errorf("each called in order %v", seen)
	}
	if order[len(order)-1] != 0 {
		t.Errorf("the app answered in order %v; the test wants 0 last", order)
	}
	replays, _ := s.List(ctx, capture.Query{ReplayOf: origs[2].ID})
	if len(replays) != 1 {
		t.Errorf("%d replays of %s stored", len(replays), origs[2].ID)
	}
}

func TestRunBodiesDelayAndCancel(t *testing.T) {
	s := openStore(t)
	a := newApp(t, 200)
	var origs []*capture.Capture
	for range 3 {
		origs = append(origs, record(t, s, omega.TypeProcessSucceeded, 200, func(c *capture.Capture) { c.Target = a.URL }))
	}
	r := newReplayer(t, s, Options{Concurrency: 2, Delay: time.Millisecond})
	bodies := map[string][]byte{origs[1].ID: []byte(`{"edited":true}`)}
	n := 0
	if err := r.Run(ctx, origs, "", bodies, func(i int, res *capture.Capture, err error) {
		n++
		if err != nil {
			t.Error(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	var edited int
	for _, g := range a.received() {
		if string(g.Body) == `{"edited":true}` {
			edited++
		}
	}
	if n != 3 || len(a.received()) != 3 || edited != 1 {
		t.Errorf("each called %d times, app got %d, %d edited", n, len(a.received()), edited)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var errs int
	err := r.Run(cctx, origs, "", nil, func(i int, res *capture.Capture, err error) {
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("%d after cancel: %v", i, err)
		}
		errs++
	})
	if !errors.Is(err, context.Canceled) || errs != 3 || len(a.received()) != 3 {
		t.Errorf("cancelled run: %v, %d errors, app got %d", err, errs, len(a.received()))
	}
	if err := r.Run(ctx, nil, "", nil, nil); err != nil {
		t.Errorf("empty run: %v", err)
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"host, port and path", "http://localhost:8888/x", "http://localhost:8888/x"},
		{"https without a path", "https://app.test", "https://app.test/"},
		{"spaces and fragment dropped", " http://h/p?q=1#frag ", "http://h/p?q=1"},
		{"IPv6 host", "http://[::1]:8080/hook", "http://[::1]:8080/hook"},
		{"no scheme", "localhost:8888/x", ""},
		{"ftp", "ftp://h/x", ""},
		{"no host", "http:///x", ""},
		{"port 0", "http://h:0/", ""},
		{"port not a number", "http://h:x/", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseTarget(tc.in)
			switch {
			case tc.want == "" && err == nil:
				t.Errorf("ParseTarget(%q) = %s, want an error", tc.in, u)
			case tc.want != "" && (err != nil || u.String() != tc.want):
				t.Errorf("ParseTarget(%q) = %v, %v; want %s", tc.in, u, err, tc.want)
			}
		})
	}
}

func BenchmarkReplay1000(b *testing.B) {
	s := openStore(b)
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok\n"))
	}))
	defer a.Close()
	origs := make([]*capture.Capture, 1000)
	for i := range origs {
		origs[i] = record(b, s, omega.TypeProcessSucceeded, 200, func(c *capture.Capture) { c.Target = a.URL + "/webhook" })
	}
	fwd := inspector.NewForwarder(inspector.ForwarderOptions{})
	defer fwd.Close()
	r := New(Options{Store: s, Forwarder: fwd, Concurrency: 8})
	b.ResetTimer()
	for b.Loop() {
		bad := 0
		if err := r.Run(ctx, origs, "", nil, func(i int, res *capture.Capture, err error) {
			if err != nil || res.Status != 200 {
				bad++
			}
		}); err != nil || bad > 0 {
			b.Fatalf("%v, %d not ok", err, bad)
		}
	}
}

// BenchmarkSelect1000 is the read side of `replay --all` on a store of
// 1 000 captures.
func BenchmarkSelect1000(b *testing.B) {
	s := openStore(b)
	for range 1000 {
		record(b, s, omega.TypeProcessSucceeded, 500, nil)
	}
	for b.Loop() {
		caps, err := Select(ctx, s, Selector{Failed: true}, time.Now())
		if err != nil || len(caps) != 1000 {
			b.Fatal(len(caps), err)
		}
	}
}

func TestSelectorString(t *testing.T) {
	for _, tc := range []struct {
		name string
		sel  *Selector
		want string
	}{
		{"by id", &Selector{IDs: []string{"c_1", "c_2"}}, "captures c_1, c_2"},
		{"all", &Selector{All: true}, "all captures"},
		{"last", &Selector{Last: 3}, "the last 3 captures"},
		{"failed of types since", &Selector{Failed: true, Types: []string{"a", "b"}, Since: time.Hour}, "the failed captures of type a or b received in the last 1h0m0s"},
		{"last failed", &Selector{Last: 1, Failed: true}, "the last 1 failed captures"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.sel.String(); got != tc.want {
				t.Errorf("%+v: %q, want %q", *tc.sel, got, tc.want)
			}
		})
	}
}
