package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/feed"
)

func TestListNewestFirstPagingAndFilter(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for i := range 5 {
		status := 200
		if i%2 == 1 {
			status = 500
		}
		ids = append(ids, f.deliver("video.process_succeeded", fmt.Sprintf(`{"n":%d}`, i), status).ID)
	}
	f.deliver("video.deleted", `{"n":"deleted"}`, 200)

	var a listAnswer
	f.getJSON("/api/captures?limit=2&filter=type:video.process_succeeded", &a)
	if len(a.Captures) != 2 || !a.More || a.Captures[0].ID != ids[4] || a.Captures[1].ID != ids[3] {
		t.Fatalf("first page = %+v, want %s then %s and more", a, ids[4], ids[3])
	}
	var b listAnswer
	f.getJSON(fmt.Sprintf("/api/captures?limit=10&filter=type:video.process_succeeded&before=%d", a.Captures[1].Seq), &b)
	if len(b.Captures) != 3 || b.More || b.Captures[0].ID != ids[2] || b.Captures[2].ID != ids[0] {
		t.Fatalf("second page = %+v, want %s..%s and no more", b, ids[2], ids[0])
	}
	var c listAnswer
	f.getJSON("/api/captures?filter=status:5xx", &c)
	if len(c.Captures) != 2 || c.Captures[0].ID != ids[3] || c.Captures[1].ID != ids[1] {
		t.Fatalf("status:5xx = %+v, want %s and %s", c.Captures, ids[3], ids[1])
	}
	var d listAnswer
	f.getJSON("/api/captures?filter=deleted", &d)
	if len(d.Captures) != 1 || d.Captures[0].EventType != "video.deleted" {
		t.Fatalf("text filter = %+v, want the one deleted", d.Captures)
	}
	var e listAnswer
	f.getJSON(fmt.Sprintf("/api/captures?after=%d", a.Captures[0].Seq), &e)
	if len(e.Captures) != 1 || e.Captures[0].EventType != "video.deleted" {
		t.Fatalf("after= = %+v, want the one after", e.Captures)
	}
	for _, bad := range []string{"filter=status:7xx", "limit=0", "limit=5000", "before=x", "after=-1"} {
		t.Run(bad, func(t *testing.T) {
			if resp, body := f.do("GET", "/api/captures?"+bad, nil, nil); resp.StatusCode != 400 || !strings.Contains(string(body), "error") {
				t.Errorf("?%s: %d %s, want 400 with an error", bad, resp.StatusCode, body)
			}
		})
	}
}

func TestGetDetail(t *testing.T) {
	f := newFixture(t)
	c := f.deliver("video.process_succeeded", `{"a":"<img src=x onerror=alert(1)>"}`, 200)
	bin := f.deliver("", "\xff\xfe\x00binary", 200)
	var d Detail
	f.getJSON("/api/captures/"+c.ID, &d)
	if d.Body != string(c.Body) || d.BodyEncoding != "" || d.Outcome != capture.OutcomeOK || d.RespBody != `{"ok":true}` || d.Curl == "" {
		t.Fatalf("detail = %+v", d)
	}
	if len(d.HeaderList) != 2 || d.HeaderList[0] != [2]string{"Content-Type", "application/json"} {
		t.Errorf("header list = %v", d.HeaderList)
	}
	var db Detail
	f.getJSON("/api/captures/"+bin.ID, &db)
	if db.BodyEncoding != "base64" || db.Body != "//4AYmluYXJ5" {
		t.Errorf("binary body = %q (%s), want base64", db.Body, db.BodyEncoding)
	}
	if resp, _ := f.do("GET", "/api/captures/c_nothere00000", nil, nil); resp.StatusCode != 404 {
		t.Errorf("unknown id: %d, want 404", resp.StatusCode)
	}
	// The API is encoded so that no value can be read as markup.
	resp, raw := f.do("GET", "/api/captures/"+c.ID, nil, nil)
	if strings.Contains(string(raw), "<img") || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("raw API answer holds markup or is not JSON: %s", raw)
	}
}

func TestReplayEditedByteForByte(t *testing.T) {
	f := newFixture(t)
	c := f.deliver("video.process_succeeded", `{"id":"x"}`, 200)

	resp, b := f.do("POST", "/api/captures/"+c.ID+"/replay", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("replay: %d %s", resp.StatusCode, b)
	}
	var d Detail
	json.Unmarshal(b, &d)
	if d.ReplayOf != c.ID || d.Status != 202 {
		t.Fatalf("replay answer = %+v", d)
	}

	edited := "{ \"id\" : \"y\",\n\t\"new\": [1, 2] }\n"
	resp, b = f.do("POST", "/api/captures/"+c.ID+"/replay", ReplayRequest{Body: &edited, Headers: &[][2]string{{"X-Edited", "yes"}, {"content-type", "application/json"}}}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("edited replay: %d %s", resp.StatusCode, b)
	}
	got := f.appGot()
	if len(got) != 2 || string(got[0]) != `{"id":"x"}` || string(got[1]) != edited {
		t.Fatalf("the app got %q, want the original then the edit byte for byte", got)
	}
	f.mu.Lock()
	h := f.appHdrs[1]
	f.mu.Unlock()
	if h.Get("X-Edited") != "yes" || h.Get("User-Agent") == "Omega/1" {
		t.Errorf("edited headers not sent as edited: %v", h)
	}

	bad := `{"id": `
	for _, tt := range []struct {
		name string
		req  any
		want string
	}{
		{"body not JSON", ReplayRequest{Body: &bad}, "not"},
		{"bad header name", ReplayRequest{Headers: &[][2]string{{"Bad Name", "x"}}}, "not valid"},
		{"header value with a line break", ReplayRequest{Headers: &[][2]string{{"X", "a\r\nInjected: 1"}}}, "line break"},
		{"unknown field", map[string]any{"unknown": 1}, "unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := f.do("POST", "/api/captures/"+c.ID+"/replay", tt.req, nil)
			if resp.StatusCode != 400 || !strings.Contains(string(b), tt.want) {
				t.Errorf("%+v: %d %s, want 400 with %q", tt.req, resp.StatusCode, b, tt.want)
			}
		})
	}
	if n := len(f.appGot()); n != 2 {
		t.Errorf("refused replays reached the app: %d requests", n)
	}
}

func TestGuardRefusesOtherHostsOriginsAndMissingToken(t *testing.T) {
	f := newFixture(t)
	c := f.deliver("video.process_succeeded", `{}`, 200)
	_, port, _ := strings.Cut(f.addr, ":")
	replay := "/api/captures/" + c.ID + "/replay"
	tests := []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		want   int
	}{
		{"own address", "GET", "/api/captures", nil, 200},
		{"localhost", "GET", "/", map[string]string{"Host": "localhost:" + port}, 200},
		{"::1", "GET", "/", map[string]string{"Host": "[::1]:" + port}, 200},
		{"rebinding name", "GET", "/api/captures", map[string]string{"Host": "attacker.example:" + port}, 421},
		{"other port", "GET", "/api/captures", map[string]string{"Host": "127.0.0.1:1"}, 421},
		{"no port", "GET", "/", map[string]string{"Host": "localhost"}, 421},
		{"foreign origin read", "GET", "/api/captures", map[string]string{"Origin": "http://attacker.example"}, 403},
		{"cross-site fetch", "GET", "/api/captures", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"cross-site link to the page", "GET", "/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, 200},
		{"cross-site navigation to the API", "GET", "/api/captures", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, 403},
		{"replay", "POST", replay, nil, 200},
		{"replay without token", "POST", replay, map[string]string{TokenHeader: ""}, 403},
		{"replay with a wrong token", "POST", replay, map[string]string{TokenHeader: "guess"}, 403},
		{"replay from another origin", "POST", replay, map[string]string{"Origin": "http://attacker.example"}, 403},
		{"replay from a rebinding name", "POST", replay, map[string]string{"Host": "attacker.example:" + port}, 421},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.appGot())
			resp, b := f.do(tt.method, tt.path, nil, tt.hdr)
			if resp.StatusCode != tt.want {
				t.Errorf("%s: %d %s, want %d", tt.name, resp.StatusCode, b, tt.want)
			}
			if tt.want != 200 && len(f.appGot()) != before {
				t.Errorf("%s: refused, yet the app got a request", tt.name)
			}
		})
	}

	// The websocket: a foreign Origin is refused at the upgrade.
	for _, tt := range []struct {
		name   string
		origin string
		ok     bool
	}{
		{"own origin", f.url, true},
		{"no origin", "", true},
		{"foreign origin", "http://attacker.example", false},
		{"foreign origin that starts like localhost", "http://localhost:" + port + ".attacker.example", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ws, resp, err := websocket.DefaultDialer.Dial("ws://"+f.addr+"/api/live", h)
			if tt.ok != (err == nil) {
				t.Errorf("websocket from Origin %q: err %v (status %v), want ok=%v", tt.origin, err, resp, tt.ok)
			}
			if ws != nil {
				ws.Close()
			}
			if !tt.ok && resp != nil && resp.StatusCode != 403 {
				t.Errorf("websocket from Origin %q: status %d, want 403", tt.origin, resp.StatusCode)
			}
		})
	}
}

func TestPageHeadersTokenAndNoSecrets(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Info.WebhookURL = "https://example.ngrok.app/omega/{token}"
	})
	resp, b := f.do("GET", "/", nil, nil)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline script: %q", csp)
	}
	page := string(b)
	if !strings.Contains(page, `content="`+f.srv.Token()+`"`) {
		t.Error("the page does not carry the token")
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " on") && strings.Contains(page, "onclick=") {
		t.Error("the page has inline script")
	}
	for _, asset := range []string{"/assets/app.js", "/assets/style.css"} {
		t.Run(path.Base(asset), func(t *testing.T) {
			if r, _ := f.do("GET", asset, nil, nil); r.StatusCode != 200 {
				t.Errorf("%s: %d", asset, r.StatusCode)
			}
		})
	}
}

// liveClient dials the live feed.
func liveClient(t *testing.T, f *fixture, query string) *websocket.Conn {
	t.Helper()
	h := http.Header{"Origin": {f.url}}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+f.addr+"/api/live"+query, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	var hello liveMsg
	ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	if err := ws.ReadJSON(&hello); err != nil || hello.Type != "hello" || hello.Info == nil {
		t.Fatalf("first message %+v, %v; want hello with info", hello, err)
	}
	return ws
}

func readLive(t *testing.T, ws *websocket.Conn, want func(*liveMsg) bool) *liveMsg {
	t.Helper()
	for {
		var m liveMsg
		ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("reading the live feed: %v", err)
		}
		if want(&m) {
			return &m
		}
	}
}

func TestLiveInOrderWithFilterMatch(t *testing.T) {
	f := newFixture(t)
	ws := liveClient(t, f, "?filter=status:5xx")
	var order []string
	wantMatch := map[string]bool{}
	for i := range 30 {
		status := 200
		if i%3 == 0 {
			status = 503
		}
		c := f.deliver("video.process_succeeded", fmt.Sprintf(`{"i":%d}`, i), status)
		order = append(order, c.ID)
		wantMatch[c.ID] = status == 503
	}
	// Each capture: received (unless folded into completed), then
	// completed; captures in the order they came.
	var first []string
	events := map[string][]string{}
	done := 0
	for done < len(order) {
		m := readLive(t, ws, func(m *liveMsg) bool { return m.Type == "capture" })
		id := m.Capture.ID
		if len(events[id]) == 0 {
			first = append(first, id)
		}
		events[id] = append(events[id], m.Event)
		switch m.Event {
		case "received":
			if *m.Match {
				t.Errorf("%s pending matched status:5xx", id)
			}
		case "completed":
			done++
			if *m.Match != wantMatch[id] {
				t.Errorf("%s completed: match %v, want %v", id, *m.Match, wantMatch[id])
			}
		}
	}
	if strings.Join(first, " ") != strings.Join(order, " ") {
		t.Errorf("captures came in the order\n%v\nwant\n%v", first, order)
	}
	for id, evs := range events {
		if e := strings.Join(evs, ","); e != "received,completed" && e != "completed" {
			t.Errorf("%s: events %s", id, e)
		}
	}
	if resp, _ := f.do("GET", "/api/live?filter=status:7xx", nil, nil); resp.StatusCode != 400 {
		t.Errorf("bad filter on the live feed: %d, want 400", resp.StatusCode)
	}
}

func TestFoldEvents(t *testing.T) {
	a := &capture.Capture{Meta: capture.Meta{ID: "a", Seq: 1, State: capture.StatePending}}
	b := &capture.Capture{Meta: capture.Meta{ID: "b", Seq: 2, State: capture.StatePending}}
	aDone := &capture.Capture{Meta: capture.Meta{ID: "a", Seq: 1, State: capture.StateDone, Status: 200}}
	bDone := &capture.Capture{Meta: capture.Meta{ID: "b", Seq: 2, State: capture.StateDone, Status: 200}}
	got := foldEvents([]feed.Event{
		{Kind: capture.Received, Capture: a}, {Kind: capture.Received, Capture: b}, {Kind: capture.Completed, Capture: aDone},
		{Lagged: true, MissedFromSeq: 3}, {Kind: capture.Completed, Capture: bDone},
	}, capture.Filter{})
	var s []string
	for _, m := range got {
		if m.Type == "resync" {
			s = append(s, fmt.Sprint("resync ", *m.FromSeq))
		} else {
			s = append(s, m.Event+" "+m.Capture.ID)
		}
	}
	if want := "completed a|received b|resync 3|completed b"; strings.Join(s, "|") != want {
		t.Errorf("folded = %s, want %s", strings.Join(s, "|"), want)
	}
}

func TestLiveSlowReaderIsToldToResync(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.liveBuffer = 16 })
	ws := liveClient(t, f, "")
	// Publish far more than the buffer and the socket hold, without
	// reading: the publisher must not block.
	const n = 30000
	pad := strings.Repeat("x", 2000)
	start := time.Now()
	for i := 1; i <= n; i++ {
		f.bus.Publish(capture.Received, &capture.Capture{Meta: capture.Meta{ID: fmt.Sprint("c", i), Seq: int64(i), EventType: pad, State: capture.StatePending}})
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("publishing to a stalled page took %v", d)
	}
	seen := map[int64]bool{}
	var resyncs []int64
	// Read until every capture was either sent or is covered by a resync.
	for !allAccounted(seen, resyncs, n) {
		var m liveMsg
		ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("reading: %v (seen %d, resyncs %v): a gap, never told", err, len(seen), resyncs)
		}
		switch m.Type {
		case "resync":
			if *m.FromSeq < 1 {
				t.Fatalf("resync from %d: the lowest missed Seq is known", *m.FromSeq)
			}
			resyncs = append(resyncs, *m.FromSeq)
		case "capture":
			seen[m.Capture.Seq] = true
		}
	}
	if len(resyncs) == 0 {
		t.Fatal("no resync message, yet the page could not have kept up")
	}
}

// allAccounted: every seq 1..n was sent, or is at or after a resync's from.
func allAccounted(seen map[int64]bool, resyncs []int64, n int64) bool {
	low := n + 1
	for _, r := range resyncs {
		low = min(low, r)
	}
	for s := int64(1); s <= n; s++ {
		if !seen[s] && s < low {
			return false
		}
	}
	return true
}

func TestLivePingTimeoutAndReadLimit(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.pongWait, o.pingPeriod = 300*time.Millisecond, 100*time.Millisecond })

	// A peer that reads but never answers pings is dropped.
	ws := liveClient(t, f, "")
	ws.SetPingHandler(func(string) error { return nil })
	ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	waitFor(t, "the silent connection to be dropped", func() bool {
		f.srv.mu.Lock()
		defer f.srv.mu.Unlock()
		return len(f.srv.conns) == 0
	})

	// A peer that sends more than the read limit is closed with 1009.
	// (Default timing: this part is not about pings.)
	f2 := newFixture(t)
	ws2 := liveClient(t, f2, "")
	if err := ws2.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("a", readLimit+1))); err != nil {
		t.Fatal(err)
	}
	ws2.SetReadDeadline(time.Now().Add(15 * time.Second))
	var err error
	for err == nil {
		_, _, err = ws2.ReadMessage()
	}
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Errorf("oversized message: %v, want close 1009", err)
	}
}

func TestLiveStateNoticeAndCounters(t *testing.T) {
	f := newFixture(t)
	ws := liveClient(t, f, "")
	f.deliver("video.process_succeeded", `{}`, 200)
	f.deliver("video.process_succeeded", `{}`, 500)
	f.deliver("video.process_succeeded", `{}`, 0)
	readLive(t, ws, func(m *liveMsg) bool {
		return m.Type == "state" && m.Stats != nil && m.Stats.Total == 3 && m.Stats.OK == 1 && m.Stats.AppError == 1 && m.Stats.Pending == 1
	})
	// The listener's news reaches the page through the same stream.
	f.stream.SetTunnel(feed.TunnelState{Provider: "ngrok", State: "disconnected", Err: "EOF"})
	readLive(t, ws, func(m *liveMsg) bool {
		return m.Type == "state" && m.Info.TunnelState == "reconnecting" && m.Info.TunnelError == "EOF"
	})
	f.stream.Notice("captures are NOT being recorded", true)
	readLive(t, ws, func(m *liveMsg) bool { return m.Type == "notice" && m.Warn && strings.Contains(m.Text, "NOT") })
	f.stream.Note(feed.Note{Kind: feed.Step, Text: "Deleting endpoint…", Pending: true})
	f.stream.Step("Deleted endpoint e1.")
	readLive(t, ws, func(m *liveMsg) bool {
		if m.Type == "notice" && strings.Contains(m.Text, "Deleting") {
			t.Errorf("a step being taken reached the page: %q", m.Text)
		}
		return m.Type == "notice" && m.Text == "Deleted endpoint e1."
	})
}

func TestHARExport(t *testing.T) {
	f := newFixture(t)
	a := f.deliver("video.process_succeeded", `{"a":1}`, 200)
	f.deliver("video.deleted", `{"b":2}`, 500)
	for _, tt := range []struct {
		name  string
		query string
		n     int
	}{{"everything", "", 2}, {"a filter", "?filter=status:5xx", 1}, {"one capture", "?id=" + a.ID, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := f.do("GET", "/api/export.har"+tt.query, nil, nil)
			var doc struct {
				Log struct {
					Entries []json.RawMessage `json:"entries"`
				} `json:"log"`
			}
			if resp.StatusCode != 200 || json.Unmarshal(b, &doc) != nil || len(doc.Log.Entries) != tt.n {
				t.Errorf("HAR %s: %d, %d entries, want %d: %.200s", tt.query, resp.StatusCode, len(doc.Log.Entries), tt.n, b)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
				t.Errorf("HAR %s is not a download", tt.query)
			}
		})
	}
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("X-A", "b")
	f.Add("Bad Name", "v")
	f.Add("X", "a\r\nB: c")
	f.Fuzz(func(t *testing.T, k, v string) {
		h, err := parseHeaders([][2]string{{k, v}})
		if err != nil {
			return
		}
		for name, vals := range h {
			if !validToken(name) || name == "" {
				t.Fatalf("accepted name %q", name)
			}
			for _, val := range vals {
				if strings.ContainsAny(val, "\r\n\x00") {
					t.Fatalf("accepted value %q", val)
				}
			}
		}
	})
}
