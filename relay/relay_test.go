package relay_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/relay"
	"github.com/omega-listen/omega-listen/tunnel"
)

// The same delivery sent straight to the listener and through the relay
// reaches the app alike, is recorded alike, and the sender gets the app's
// answer alike: body, method, path and query, and every header including
// repeated ones.
func TestWholePathByteExact(t *testing.T) {
	r := startRelay(t, nil)
	a := startApp(t)
	l, err := startListener(t, r.url, aliceTok, a.URL+"/webhook", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := r.url + "/c/alice"; l.tun.PublicURL() != want {
		t.Fatalf("public URL %q, want %q", l.tun.PublicURL(), want)
	}
	body := `{"id":"630fac88bd5bb64cf8b24b99","type":"video.process_succeeded","data":{"x":"é\u0000"}}`
	hdr := http.Header{
		"Content-Type":     {"application/json"},
		"X-Omega-Sig":      {"t=1,v1=abc"},
		"X-Dup":            {"first", "second", "third"},
		"Accept-Encoding":  {"gzip"},
		"X-Empty":          {""},
		"Omega-Signature":  {"sha256=00"},
		"X-Weird-Spacing":  {"a  b\tc"},
		"X-Comma, Looking": nil,
	}
	delete(hdr, "X-Comma, Looking")
	local := "http://" + l.tun.Addr().String() + "/omega/" + pathTok + "?a=1&a=2&b=%2F"
	via := l.webhookURL() + "?a=1&a=2&b=%2F"

	direct := post(t, local, body, hdr)
	cd := l.next(t)
	relayed := post(t, via, body, hdr)
	cr := l.next(t)

	a.mu.Lock()
	if len(a.got) != 2 {
		t.Fatalf("the app got %d requests, want 2", len(a.got))
	}
	g1, g2 := a.got[0], a.got[1]
	b1, b2 := string(a.body[0]), string(a.body[1])
	a.mu.Unlock()
	if b1 != body || b2 != body {
		t.Errorf("bodies: direct %q relayed %q, want %q", b1, b2, body)
	}
	if g1.Method != g2.Method || g1.URL.RequestURI() != g2.URL.RequestURI() {
		t.Errorf("request line: direct %s %s, relayed %s %s", g1.Method, g1.URL.RequestURI(), g2.Method, g2.URL.RequestURI())
	}
	strip := func(h http.Header) http.Header {
		h = h.Clone()
		delete(h, "Omega-Listen-Capture")
		return h
	}
	if !reflect.DeepEqual(strip(g1.Header), strip(g2.Header)) {
		t.Errorf("headers at the app differ:\ndirect  %v\nrelayed %v", strip(g1.Header), strip(g2.Header))
	}
	if got := g2.Header["X-Dup"]; !reflect.DeepEqual(got, []string{"first", "second", "third"}) {
		t.Errorf("repeated header arrived as %q", got)
	}
	// Recorded alike (Host names who was asked; the relay flags nothing
	// on a live delivery).
	h1, h2 := cd.Headers.Clone(), cr.Headers.Clone()
	delete(h1, "Host")
	delete(h2, "Host")
	if !reflect.DeepEqual(h1, h2) || cd.Path != cr.Path || string(cd.Body) != string(cr.Body) || cd.Flags != cr.Flags {
		t.Errorf("captures differ:\ndirect  %v %s %v\nrelayed %v %s %v", h1, cd.Path, cd.Flags, h2, cr.Path, cr.Flags)
	}
	if cr.Flags.Has(capture.FlagQueued) {
		t.Error("a live delivery is flagged queued")
	}
	// The sender gets the app's answer.
	if direct.StatusCode != 201 || relayed.StatusCode != 201 {
		t.Errorf("status: direct %d relayed %d, want 201", direct.StatusCode, relayed.StatusCode)
	}
	if !reflect.DeepEqual(direct.Header["Set-Cookie"], relayed.Header["Set-Cookie"]) || len(relayed.Header["Set-Cookie"]) != 2 {
		t.Errorf("Set-Cookie: direct %q relayed %q", direct.Header["Set-Cookie"], relayed.Header["Set-Cookie"])
	}
	if d, rl := readAll(direct), readAll(relayed); d != rl || rl != "app says hi\n" {
		t.Errorf("answer bodies: direct %q relayed %q", d, rl)
	}
	// The remote address recorded is the sender's, as the relay saw it.
	if host, _, err := net.SplitHostPort(cr.RemoteAddr); err != nil || host != "127.0.0.1" {
		t.Errorf("relayed capture's remote address %q", cr.RemoteAddr)
	}
}

// Chunked bodies (no Content-Length) arrive whole, with the header the
// relay's client writes for them.
func TestChunkedBody(t *testing.T) {
	r := startRelay(t, nil)
	a := startApp(t)
	l, err := startListener(t, r.url, aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", r.hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /c/alice/omega/%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", pathTok)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if got := l.next(t); string(got.Body) != "hello world" {
		t.Errorf("recorded body %q", got.Body)
	}
}

// A wrong token is refused before the upgrade; the client stops at once
// with a message that says so.
func TestWrongToken(t *testing.T) {
	r := startRelay(t, nil)
	start := time.Now()
	_, err := startListener(t, r.url, "alice:not-the-token-0123456789abcdefghijkl", "http://127.0.0.1:9", t.TempDir(), nil)
	if !isRejected(err) {
		t.Fatalf("err = %v, want a RelayRejectedError", err)
	}
	if !strings.Contains(err.Error(), "does not accept this token") {
		t.Errorf("message %q does not say the token is wrong", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s: the client retried", time.Since(start))
	}
	// A missing token, and a token the relay accepts in name:token form.
	_, err = tunnel.DialRelay(context.Background(), tunnel.RelayOptions{URL: r.url, Token: " "})
	if !errors.Is(err, tunnel.ErrNoRelayToken) {
		t.Errorf("empty token: %v", err)
	}
	if _, err := startListener(t, r.url, "alice:"+aliceTok, "http://127.0.0.1:9", t.TempDir(), nil); err != nil {
		t.Errorf("name:token form: %v", err)
	}
}

// A second client for the same name replaces the first, which is told why
// and stops rather than taking the name back.
func TestSecondClientReplacesFirst(t *testing.T) {
	r := startRelay(t, nil)
	a := startApp(t)
	l1, err := startListener(t, r.url, aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := startListener(t, r.url, aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-l1.serve:
		if !isRejected(err) || !strings.Contains(err.Error(), "replaced") {
			t.Errorf("the first listener stopped with %v, want a rejection saying it was replaced", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the first listener kept running")
	}
	if res := post(t, l2.webhookURL(), `{"id":"e1"}`, nil); res.StatusCode != 201 {
		t.Fatalf("delivery after replacement: %d %s", res.StatusCode, readAll(res))
	}
	if c := l2.next(t); string(c.Body) != `{"id":"e1"}` {
		t.Errorf("the second listener recorded %q", c.Body)
	}
	select {
	case c := <-l1.done:
		t.Errorf("the replaced listener recorded %s", c.ID)
	default:
	}
}

// Names never see each other's deliveries.
func TestNamesAreSeparate(t *testing.T) {
	r := startRelay(t, nil)
	a, b := startApp(t), startApp(t)
	la, err := startListener(t, r.url, aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := startListener(t, r.url, bobTok, b.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	post(t, la.webhookURL(), "for alice", nil)
	post(t, lb.webhookURL(), "for bob", nil)
	la.next(t)
	lb.next(t)
	if got := a.bodies(); !reflect.DeepEqual(got, []string{"for alice"}) {
		t.Errorf("alice's app got %q", got)
	}
	if got := b.bodies(); !reflect.DeepEqual(got, []string{"for bob"}) {
		t.Errorf("bob's app got %q", got)
	}
}

// A listener that dies mid-delivery: a live delivery's sender gets 502 (not
// a hang); a queued delivery stays queued and reaches the next listener.
func TestListenerKilledMidDelivery(t *testing.T) {
	r := startRelay(t, nil)
	a := startApp(t)
	a.hold = make(chan struct{})
	defer close(a.hold)
	p := startProxy(t, r.hs.Listener.Addr().String())
	dir := t.TempDir()
	l, err := startListener(t, p.url(), aliceTok, a.URL, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan *http.Response, 1)
	go func() { res <- post(t, l.webhookURL(), `{"id":"live"}`, nil) }()
	<-a.in // the app has it
	p.cut(true)
	l.kill()
	select {
	case rs := <-res:
		if rs.StatusCode != http.StatusBadGateway {
			t.Errorf("live delivery cut off: %d %s, want 502", rs.StatusCode, readAll(rs))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the sender hangs")
	}
	l.stop()

	// Queued: the listener is away, a delivery queues, a listener comes
	// and dies while its app holds the delivery.
	if rs := post(t, r.url+"/c/alice/omega/"+pathTok, `{"id":"queued"}`, nil); rs.StatusCode != 202 {
		t.Fatalf("queueing: %d", rs.StatusCode)
	}
	p.cut(false)
	l2, err := startListener(t, p.url(), aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	<-a.in
	p.cut(true)
	l2.kill()
	if n := r.Queued("alice"); n != 1 {
		t.Fatalf("after the listener died mid-delivery the queue holds %d, want 1", n)
	}
	a.mu.Lock()
	a.hold = nil
	a.mu.Unlock()
	l3, err := startListener(t, r.url, aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := l3.next(t)
	if string(c.Body) != `{"id":"queued"}` || !c.Flags.Has(capture.FlagQueued) {
		t.Errorf("the next listener recorded %q flags %v", c.Body, c.Flags)
	}
	waitFor(t, "the queue to empty", func() bool { return r.Queued("alice") == 0 })
}

// 1 000 deliveries queued while the listener is away drain in order when
// it comes, none twice, each flagged queued with its time, and leave the
// queue only as they are recorded.
func TestDrainInOrder(t *testing.T) {
	r := startRelay(t, nil)
	a := startApp(t)
	const n = 1000
	accepted := make([]time.Time, n)
	for i := range n {
		// Sent one after another so that their order is defined.
		res := post(t, r.url+"/c/alice/omega/"+pathTok, fmt.Sprintf(`{"id":"e%04d"}`, i), http.Header{"Content-Type": {"application/json"}})
		if res.StatusCode != 202 {
			t.Fatalf("delivery %d: %d %s", i, res.StatusCode, readAll(res))
		}
		var body struct {
			Queued bool
			ID     uint64
		}
		if err := json.Unmarshal([]byte(readAll(res)), &body); err != nil || !body.Queued || body.ID != uint64(i+1) {
			t.Fatalf("202 body %q", readAll(res))
		}
		accepted[i] = time.Now()
	}
	if q := r.Queued("alice"); q != n {
		t.Fatalf("queued %d, want %d", q, n)
	}
	dir := t.TempDir()
	l, err := startListener(t, r.url, aliceTok, a.URL, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A delivery sent while the queue drains queues behind it.
	late := post(t, l.webhookURL(), `{"id":"late"}`, nil)
	if late.StatusCode != 202 && late.StatusCode != 201 {
		t.Fatalf("late delivery: %d", late.StatusCode)
	}
	// Recorded in the order the relay accepted them (they may complete in
	// another: up to 16 are at the app at once).
	for i := range n {
		c := l.nextRecorded(t)
		if want := fmt.Sprintf(`{"id":"e%04d"}`, i); string(c.Body) != want {
			t.Fatalf("capture %d is %s, want %s", i, c.Body, want)
		}
		if !c.Flags.Has(capture.FlagQueued) {
			t.Fatalf("capture %d is not flagged queued", i)
		}
		qa := c.QueuedAt()
		if qa.IsZero() || qa.After(accepted[i]) || qa.Before(accepted[i].Add(-10*time.Second)) {
			t.Fatalf("capture %d queued at %v, accepted before %v", i, qa, accepted[i])
		}
	}
	if c := l.nextRecorded(t); string(c.Body) != `{"id":"late"}` {
		t.Fatalf("after the queue came %s, want the late delivery", c.Body)
	}
	for range n + 1 {
		if c := l.next(t); c.Status != 201 {
			t.Fatalf("capture %s completed with %d", c.Body, c.Status)
		}
	}
	waitFor(t, "the queue to empty", func() bool { return r.Queued("alice") == 0 })
	select {
	case c := <-l.recv:
		t.Fatalf("an extra capture: %s", c.Body)
	case c := <-l.done:
		t.Fatalf("an extra capture: %s", c.Body)
	case <-time.After(200 * time.Millisecond):
	}
	got := a.bodies()
	if len(got) != n+1 {
		t.Fatalf("the app got %d requests, want %d", len(got), n+1)
	}
	a.mu.Lock()
	for i, rq := range a.got {
		if _, ok := rq.Header[capture.HeaderRelayQueuedAt]; ok {
			t.Fatalf("request %d reached the app with %s", i, capture.HeaderRelayQueuedAt)
		}
	}
	a.mu.Unlock()
}

// An answer lost with the connection does not bring the delivery twice,
// even to a new run: the client keeps a mark of what it recorded in its
// data dir and tells the relay when it reconnects.
func TestNoRedeliveryAfterLostAnswer(t *testing.T) {
	r := startRelay(t, nil)
	a := startApp(t)
	a.hold = make(chan struct{})
	p := startProxy(t, r.hs.Listener.Addr().String())
	dir := t.TempDir()
	post(t, r.url+"/c/alice/omega/"+pathTok, "q0", nil)
	l, err := startListener(t, p.url(), aliceTok, a.URL, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-a.in
	p.cut(true) // the answer will have nowhere to go
	close(a.hold)
	if c := l.next(t); string(c.Body) != "q0" {
		t.Fatalf("recorded %q", c.Body)
	}
	waitFor(t, "the relay to see the listener gone", func() bool { return !r.Connected("alice") })
	l.stop()
	if n := r.Queued("alice"); n != 1 {
		t.Fatalf("the relay holds %d; its answer was lost, so it should still hold 1", n)
	}
	p.cut(false)
	l2, err := startListener(t, p.url(), aliceTok, a.URL, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", func() bool { return r.Queued("alice") == 0 })
	select {
	case c := <-l2.done:
		t.Fatalf("redelivered %q", c.Body)
	case <-time.After(300 * time.Millisecond):
	}
	if got := a.bodies(); len(got) != 1 {
		t.Errorf("the app got %q", got)
	}
}

// Queue limits: count, bytes and age, each a 503 that says which.
func TestQueueLimits(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := startRelay(t, func(o *relay.Options) {
		o.QueueMaxCount, o.QueueMaxBytes, o.QueueMaxAge, o.Now = 3, 100, time.Hour, clock
	})
	u := r.url + "/c/alice/x"
	for i := range 3 {
		if res := post(t, u, "12345", nil); res.StatusCode != 202 {
			t.Fatalf("%d: %d", i, res.StatusCode)
		}
	}
	res := post(t, u, "x", nil)
	if res.StatusCode != 503 || !strings.Contains(readAll(res), "holds 3 deliveries") || res.Header.Get("Retry-After") == "" {
		t.Errorf("past the count: %d %q", res.StatusCode, readAll(res))
	}
	if res := post(t, r.url+"/c/bob/x", strings.Repeat("b", 101), nil); res.StatusCode != 503 || !strings.Contains(readAll(res), "bytes") {
		t.Errorf("past the bytes: %d %q", res.StatusCode, readAll(res))
	}
	if res := post(t, r.url+"/c/bob/x", "old", nil); res.StatusCode != 202 {
		t.Fatalf("bob: %d", res.StatusCode)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if res := post(t, r.url+"/c/bob/x", "new", nil); res.StatusCode != 503 || !strings.Contains(readAll(res), "older than") {
		t.Errorf("past the age: %d %q", res.StatusCode, readAll(res))
	}
	if r.Queued("alice") != 3 || r.Queued("bob") != 1 {
		t.Errorf("queues hold %d and %d", r.Queued("alice"), r.Queued("bob"))
	}
}

// --offline reject answers 503 with Retry-After while the listener is away.
func TestOfflineReject(t *testing.T) {
	r := startRelay(t, func(o *relay.Options) { o.Offline = relay.OfflineReject; o.Dir = "" })
	res := post(t, r.url+"/c/alice/x", "x", nil)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || !strings.Contains(readAll(res), "not connected") {
		t.Errorf("%d %q %q", res.StatusCode, res.Header.Get("Retry-After"), readAll(res))
	}
}

// A slow listener: at most MaxInFlight live deliveries per name wait; the
// rest are refused at once with 503, so memory does not grow with them.
func TestSlowListenerBackPressure(t *testing.T) {
	r := startRelay(t, func(o *relay.Options) { o.MaxInFlight = 4 })
	a := startApp(t)
	a.hold = make(chan struct{})
	l, err := startListener(t, r.url, aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	codes := make(chan int, n)
	for range n {
		go func() { codes <- post(t, l.webhookURL(), strings.Repeat("x", 64<<10), nil).StatusCode }()
	}
	refused := 0
	for refused < n-4 {
		select {
		case c := <-codes:
			if c != 503 {
				t.Fatalf("while the listener is stuck a delivery got %d", c)
			}
			refused++
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of %d refused", refused, n-4)
		}
	}
	close(a.hold)
	for range 4 {
		if c := <-codes; c != 201 {
			t.Errorf("a waiting delivery got %d", c)
		}
	}
}

// The public side refuses what it must: other methods, bodies over the
// limit, unknown names and paths; the websocket refuses browser origins
// and missing tokens before upgrading.
func TestRefusals(t *testing.T) {
	r := startRelay(t, func(o *relay.Options) { o.MaxBody = 1000 })
	a := startApp(t)
	l, err := startListener(t, r.url, aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := post(t, l.webhookURL(), strings.Repeat("x", 1001), nil); res.StatusCode != 413 {
		t.Errorf("big body: %d", res.StatusCode)
	}
	// Undeclared length over the limit.
	c, err := net.Dial("tcp", r.hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST /c/alice/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n%s\r\n0\r\n\r\n", strings.Repeat("y", 2000))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	c.Close()
	if err != nil || res.StatusCode != 413 {
		t.Errorf("big chunked body: %v %v", res, err)
	}
	for _, m := range []string{"GET", "PUT"} {
		t.Run(m, func(t *testing.T) {
			req, _ := http.NewRequest(m, l.webhookURL(), nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != 405 || res.Header.Get("Allow") != "POST" {
				t.Errorf("%s: %v %v", m, res, err)
			}
		})
	}
	if res := post(t, r.url+"/c/carol/x", "x", nil); res.StatusCode != 404 {
		t.Errorf("unknown name: %d", res.StatusCode)
	}
	if res := post(t, r.url+"/other", "x", nil); res.StatusCode != 404 {
		t.Errorf("other path: %d", res.StatusCode)
	}
	select {
	case c := <-l.done:
		t.Errorf("a refused request reached the listener: %s", c.Body)
	case <-time.After(100 * time.Millisecond):
	}
	ws := "ws://" + r.hs.Listener.Addr().String() + "/connect"
	h := http.Header{"Authorization": {"Bearer " + bobTok}, "Origin": {"https://evil.example"}}
	if _, res, err := websocket.DefaultDialer.Dial(ws, h); err == nil || res == nil || res.StatusCode != 403 {
		t.Errorf("upgrade with Origin: %v %v", res, err)
	}
	if _, res, err := websocket.DefaultDialer.Dial(ws, nil); err == nil || res == nil || res.StatusCode != 401 {
		t.Errorf("upgrade without a token: %v %v", res, err)
	}
	if r.Connected("bob") {
		t.Error("bob is connected after refused upgrades")
	}
	res2, err := http.Get(r.url + "/healthz")
	if err != nil || res2.StatusCode != 200 {
		t.Errorf("healthz: %v %v", res2, err)
	}
}

// fakeClock is a wall clock that can jump while the monotonic one does not.
type fakeClock struct {
	mu    sync.Mutex
	start time.Time
	skew  time.Duration
}

func (c *fakeClock) Wall() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Round(0).Add(c.skew)
}
func (c *fakeClock) Mono() time.Duration { return time.Since(c.start) }

// A machine that slept (the wall clock jumps ahead of the monotonic one)
// reconnects at once, not after the heartbeat timeout.
func TestClockJumpReconnects(t *testing.T) {
	r := startRelay(t, func(o *relay.Options) { o.PingPeriod = time.Minute })
	a := startApp(t)
	clk := &fakeClock{start: time.Now()}
	l, err := startListener(t, r.url, aliceTok, a.URL, t.TempDir(), func(o *tunnel.RelayOptions) {
		o.Clock, o.JumpCheck, o.PingPeriod = clk, 20*time.Millisecond, time.Minute
	})
	if err != nil {
		t.Fatal(err)
	}
	st := l.tun.Status()
	<-st // connected
	clk.mu.Lock()
	clk.skew = time.Hour
	clk.mu.Unlock()
	var states []tunnel.State
	deadline := time.After(10 * time.Second)
	for len(states) == 0 || states[len(states)-1] != tunnel.Reconnected {
		select {
		case s := <-st:
			states = append(states, s.State)
		case <-deadline:
			t.Fatalf("no reconnect after the clock jump (states %v); the heartbeat would take a minute", states)
		}
	}
	if states[0] != tunnel.Disconnected {
		t.Errorf("states %v", states)
	}
	if res := post(t, l.webhookURL(), "after sleep", nil); res.StatusCode != 201 {
		t.Errorf("delivery after wake: %d", res.StatusCode)
	}
}

// The listener reconnects by itself after the network comes back, and what
// arrived meanwhile was queued and then delivered.
func TestReconnectAfterOutage(t *testing.T) {
	r := startRelay(t, nil)
	a := startApp(t)
	p := startProxy(t, r.hs.Listener.Addr().String())
	l, err := startListener(t, p.url(), aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	u := l.webhookURL()
	p.cut(true)
	waitFor(t, "the relay to see the listener gone", func() bool { return !r.Connected("alice") })
	if res := post(t, u, "while away", nil); res.StatusCode != 202 {
		t.Fatalf("while away: %d", res.StatusCode)
	}
	p.cut(false)
	if c := l.next(t); string(c.Body) != "while away" || !c.Flags.Has(capture.FlagQueued) {
		t.Errorf("got %q %v", c.Body, c.Flags)
	}
	// Live again once the queue is empty.
	waitFor(t, "the queue to empty", func() bool { return r.Queued("alice") == 0 })
	if res := post(t, u, "back", nil); res.StatusCode != 201 {
		t.Errorf("after: %d", res.StatusCode)
	}
}

// A listener on its way out (its receiver closed, its websocket still open
// while it finishes what it took) does not take new deliveries; the relay
// queues them rather than failing them.
func TestClosingListenerDeliveriesQueue(t *testing.T) {
	r := startRelay(t, nil)
	a := startApp(t)
	a.hold = make(chan struct{})
	l, err := startListener(t, r.url, aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan int, 1)
	go func() { first <- post(t, l.webhookURL(), "in flight", nil).StatusCode }()
	<-a.in
	_ = l.tun.Close() // the websocket stays up until "in flight" is answered
	if !r.Connected("alice") {
		t.Fatal("the websocket closed with a delivery in flight")
	}
	if res := post(t, l.webhookURL(), "late", nil); res.StatusCode != 202 {
		t.Errorf("a delivery to a closing listener: %d %s, want 202 queued", res.StatusCode, readAll(res))
	}
	close(a.hold)
	if c := <-first; c != 201 {
		t.Errorf("the delivery in flight got %d", c)
	}
	if n := r.Queued("alice"); n != 1 {
		t.Errorf("queued %d", n)
	}
}

// The connection drops while a queued delivery is at the app and comes
// back at once: the relay sends it again on the new connection, and the
// listener, which still has it, neither delivers nor records it twice.
func TestReconnectMidQueuedDeliveryNoDuplicate(t *testing.T) {
	r := startRelay(t, nil)
	a := startApp(t)
	a.hold = make(chan struct{})
	p := startProxy(t, r.hs.Listener.Addr().String())
	post(t, r.url+"/c/alice/omega/"+pathTok, "q0", nil)
	post(t, r.url+"/c/alice/omega/"+pathTok, "q1", nil)
	l, err := startListener(t, p.url(), aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	<-a.in // q0 is at the app
	st := l.tun.Status()
	p.cut(false)
	for s := range st {
		if s.State == tunnel.Reconnected {
			break
		}
	}
	// The relay has sent q0 again on the new connection by now, or soon.
	time.Sleep(200 * time.Millisecond)
	close(a.hold)
	for _, want := range []string{"q0", "q1"} {
		if c := l.nextRecorded(t); string(c.Body) != want {
			t.Fatalf("recorded %q, want %q", c.Body, want)
		}
	}
	l.next(t)
	l.next(t)
	waitFor(t, "the queue to empty", func() bool { return r.Queued("alice") == 0 })
	select {
	case c := <-l.recv:
		t.Fatalf("recorded again: %q", c.Body)
	case <-time.After(300 * time.Millisecond):
	}
	got := a.bodies()
	sort.Strings(got)
	if !reflect.DeepEqual(got, []string{"q0", "q1"}) {
		t.Errorf("the app got %q", got)
	}
}
