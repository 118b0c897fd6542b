package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/omega"
)

type received struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// receiver is a webhook receiver that records what it got and answers
// with a fixed status and body.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []received
}

func newReceiver(t *testing.T, status int, body string) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		rc.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func (rc *receiver) paths() []string {
	var out []string
	for _, r := range rc.requests() {
		out = append(out, r.path)
	}
	slices.Sort(out)
	return out
}

// envelope decodes a delivery body keeping data's exact bytes.
type envelope struct {
	ID         string          `json:"id"`
	COID       string          `json:"coid"`
	APIVersion string          `json:"api_version"`
	Created    int64           `json:"created"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	EndpointID string          `json:"endpoint_id"`
}

func TestDeliverRecordsAnswer(t *testing.T) {
	rc := newReceiver(t, http.StatusCreated, "webhook received\n")
	s := startEmu(t, Options{COID: "omega-cop-OyJrgi5-fx"})
	ep := create(t, s, rc.URL+"/webhook?src=omega", omega.TypeProcessSucceeded, omega.TypeProcessFailed)

	before := time.Now().Unix()
	ds, err := s.Deliver(context.Background(), omega.TypeProcessSucceeded)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if len(ds) != 1 {
		t.Fatalf("deliveries = %+v, want 1", ds)
	}
	d := ds[0]
	wantResp := omega.EventResponse{
		StatusCode: 201,
		Status:     "201 Created",
		Body:       "webhook received\n",
		Message:    "webhook event with type video.process_succeeded succeeded",
	}
	if d.Response != wantResp || d.Err != "" || d.EndpointID != ep.ID || d.Type != omega.TypeProcessSucceeded ||
		d.URL != ep.URL || !objectIDRe.MatchString(d.EventID) || d.Duration <= 0 {
		t.Errorf("delivery = %+v", d)
	}

	// What the receiver got: one POST, the right headers, the sample body.
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests", len(got))
	}
	r := got[0]
	if r.method != "POST" || r.path != "/webhook" || r.query != "src=omega" {
		t.Errorf("request = %s %s?%s", r.method, r.path, r.query)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if ua := r.header.Get("User-Agent"); ua != "Omega-Webhooks/1.0 (emulator)" {
		t.Errorf("User-Agent = %q", ua)
	}
	var env envelope
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("body is not an envelope: %v\n%s", err, r.body)
	}
	if env.ID != d.EventID || env.COID != "omega-cop-OyJrgi5-fx" || env.APIVersion != "v1" ||
		env.Type != omega.TypeProcessSucceeded || env.EndpointID != ep.ID || env.Created < before {
		t.Errorf("envelope = %+v", env)
	}
	var keys []string
	var top map[string]json.RawMessage
	_ = json.Unmarshal(r.body, &top)
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if strings.Join(keys, ",") != "api_version,coid,created,data,endpoint_id,id,type" {
		t.Errorf("body keys = %v", keys)
	}
	var v omega.Video
	if err := json.Unmarshal(env.Data, &v); err != nil || v.Status != "process-completed" || v.COID != "omega-cop-OyJrgi5-fx" {
		t.Errorf("data = %s (%v)", env.Data, err)
	}

	// What the emulator recorded: the same event, with the real answer.
	h := s.History(ep.ID)
	if len(h) != 1 {
		t.Fatalf("history = %+v", h)
	}
	ev := h[0]
	if ev.ID != env.ID || ev.COID != env.COID || ev.APIVersion != "v1" || ev.Created != env.Created ||
		ev.Type != env.Type || ev.EndpointID != ep.ID || !bytes.Equal(ev.Data, env.Data) {
		t.Errorf("recorded event differs from the delivered body:\n%+v\n%s", ev, r.body)
	}
	if ev.Response == nil || *ev.Response != wantResp {
		t.Errorf("recorded response = %+v", ev.Response)
	}
	if ev.CreatedAt.IsZero() || ev.CreatedAt.Unix() < before {
		t.Errorf("recorded created_at = %v", ev.CreatedAt)
	}

	// The same through the API's single-event route.
	a := call(t, s, "GET", "/company/client/webhooks/"+ep.ID+"/events/"+ev.ID, "")
	if a.status != 200 {
		t.Fatalf("get event = %d %s", a.status, a.body)
	}
	raw := decode[map[string]json.RawMessage](t, a)
	for _, k := range []string{"id", "coid", "api_version", "created", "created_at", "type", "data", "endpoint_id", "response"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("event lacks %q", k)
		}
	}
	full := decode[omega.Event](t, a)
	if full.ID != ev.ID || full.COID != ev.COID || !full.CreatedAt.Equal(ev.CreatedAt) || full.Created != ev.Created ||
		full.Response == nil || *full.Response != wantResp {
		t.Errorf("GET event = %+v", full)
	}
	if !bytes.Equal(compact(t, full.Data), compact(t, env.Data)) {
		t.Errorf("GET event data differs from delivered data")
	}
	checkMessage(t, call(t, s, "GET", "/company/client/webhooks/"+ep.ID+"/events/000000000000000000000000", ""), 404, "webhook event not found")
	checkMessage(t, call(t, s, "GET", "/company/client/webhooks/000000000000000000000000/events/"+ev.ID, ""), 404, "webhook endpoint not found")
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHistoryListQuirks(t *testing.T) {
	rc := newReceiver(t, 200, "ok")
	s := startEmu(t, Options{})
	ep := create(t, s, rc.URL+"/hook", omega.TypeDeleted, omega.TypeUploaded)

	a := call(t, s, "GET", "/company/client/webhooks/"+ep.ID, "")
	if a.status != 200 || strings.TrimSpace(string(a.body)) != "[]" {
		t.Fatalf("empty history = %d %s, want []", a.status, a.body)
	}

	for _, typ := range []string{omega.TypeDeleted, omega.TypeUploaded, omega.TypeDeleted} {
		if _, err := s.Deliver(context.Background(), typ); err != nil {
			t.Fatal(err)
		}
	}
	full := s.History(ep.ID)
	if len(full) != 3 || full[0].Type != omega.TypeDeleted || full[1].Type != omega.TypeUploaded {
		t.Fatalf("History = %+v", full)
	}

	a = call(t, s, "GET", "/company/client/webhooks/"+ep.ID, "")
	if a.status != 200 {
		t.Fatalf("history = %d %s", a.status, a.body)
	}
	list := decode[[]map[string]json.RawMessage](t, a)
	if len(list) != 3 {
		t.Fatalf("history list = %s", a.body)
	}
	for i, item := range list {
		var id, ocid string
		_ = json.Unmarshal(item["id"], &id)
		_ = json.Unmarshal(item["ocid"], &ocid)
		if id != full[i].ID {
			t.Errorf("item %d id = %q, want %q (newest first)", i, id, full[i].ID)
		}
		if ocid != s.COID() {
			t.Errorf("item %d ocid = %q, want %q", i, ocid, s.COID())
		}
		if _, ok := item["coid"]; ok {
			t.Errorf("item %d has coid; the list form says ocid", i)
		}
		if got := string(item["created_at"]); got != `"0001-01-01T00:00:00Z"` {
			t.Errorf("item %d created_at = %s, want the zero time", i, got)
		}
		if got := string(item["data"]); got != "null" {
			t.Errorf("item %d data = %s, want null", i, got)
		}
		if got := string(item["response"]); got != "null" {
			t.Errorf("item %d response = %s, want null", i, got)
		}
	}
	// Decoded with the project's type, When falls back to created.
	evs := decode[[]omega.Event](t, a)
	for i, ev := range evs {
		if ev.Created != full[i].Created || ev.Type != full[i].Type || ev.EndpointID != ep.ID || ev.APIVersion != "v1" ||
			ev.When().Unix() != full[i].Created {
			t.Errorf("item %d = %+v", i, ev)
		}
	}
	checkMessage(t, call(t, s, "GET", "/company/client/webhooks/000000000000000000000000", ""), 404, "webhook endpoint not found")
	if h := s.History("000000000000000000000000"); h != nil {
		t.Errorf("History(unknown) = %+v", h)
	}
}

func TestDeliverReceiverDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String() + "/webhook"
	ln.Close() // nothing listens there now: connection refused

	s := startEmu(t, Options{})
	ep := create(t, s, deadURL, omega.TypeProcessFailed)
	ds, err := s.Deliver(context.Background(), omega.TypeProcessFailed)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("deliveries = %+v", ds)
	}
	d := ds[0]
	const prefix = "webhook event with type video.process_failed failed: "
	if d.Response.StatusCode != 0 || d.Response.Status != "" || d.Response.Body != "" ||
		!strings.HasPrefix(d.Response.Message, prefix) || !strings.Contains(d.Response.Message, "connection refused") {
		t.Errorf("response = %+v", d.Response)
	}
	if !strings.Contains(d.Err, "connection refused") {
		t.Errorf("Err = %q", d.Err)
	}
	h := s.History(ep.ID)
	if len(h) != 1 || h[0].Response == nil || *h[0].Response != d.Response || h[0].ID != d.EventID {
		t.Errorf("history = %+v", h)
	}
	// The emulator keeps serving.
	if a := call(t, s, "GET", "/company/client/webhooks/all", ""); a.status != 200 {
		t.Errorf("list after failed delivery = %d", a.status)
	}
}

func TestDeliverFailureStatuses(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{200, "webhook event with type video.uploaded succeeded"},
		{204, "webhook event with type video.uploaded succeeded"},
		{302, "webhook event with type video.uploaded failed with status 302"},
		{404, "webhook event with type video.uploaded failed with status 404"},
		{500, "webhook event with type video.uploaded failed with status 500"},
		{502, "webhook event with type video.uploaded failed with status 502"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			other := newReceiver(t, 200, "redirect target")
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 302 {
					w.Header().Set("Location", other.URL+"/elsewhere")
				}
				w.WriteHeader(tt.status)
				if tt.status != 204 {
					_, _ = io.WriteString(w, "answer")
				}
			}))
			defer srv.Close()
			s := startEmu(t, Options{})
			ep := create(t, s, srv.URL, omega.TypeUploaded)
			d, err := s.DeliverTo(context.Background(), ep.ID, omega.TypeUploaded)
			if err != nil {
				t.Fatal(err)
			}
			if d.Response.StatusCode != tt.status || d.Response.Message != tt.want || d.Err != "" ||
				d.Response.Status != fmt.Sprintf("%d %s", tt.status, http.StatusText(tt.status)) {
				t.Errorf("response = %+v err %q", d.Response, d.Err)
			}
			if len(other.requests()) != 0 {
				t.Errorf("redirect was followed")
			}
		})
	}
}

func TestDeliverAnswerBodyCapped(t *testing.T) {
	big := strings.Repeat("x", maxResponseBody+1000)
	rc := newReceiver(t, 200, big)
	s := startEmu(t, Options{})
	ep := create(t, s, rc.URL, omega.TypeUploaded)
	d, err := s.DeliverTo(context.Background(), ep.ID, omega.TypeUploaded)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Response.Body) != maxResponseBody || d.Response.StatusCode != 200 || d.Err != "" {
		t.Errorf("body length %d, status %d, err %q; want %d bytes", len(d.Response.Body), d.Response.StatusCode, d.Err, maxResponseBody)
	}
}

func TestDeliverCancelledWhileReceiverHangs(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	s := startEmu(t, Options{})
	ep := create(t, s, srv.URL, omega.TypeDeleted)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		// While the delivery hangs, the API still answers: no lock is held.
		req, _ := http.NewRequest("GET", s.BaseURL+"/client/webhooks/all", nil)
		req.Header.Set("Authorization", "Bearer "+s.APIKey())
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Errorf("API during a hanging delivery: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		cancel()
	}()
	ds, err := s.Deliver(ctx, omega.TypeDeleted)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Response.StatusCode != 0 || !strings.Contains(ds[0].Err, "context canceled") ||
		!strings.Contains(ds[0].Response.Message, "webhook event with type video.deleted failed: ") {
		t.Errorf("deliveries = %+v", ds)
	}
	if h := s.History(ep.ID); len(h) != 1 || h[0].Response.StatusCode != 0 {
		t.Errorf("history = %+v", h)
	}
}

func TestDeliverSkipsInactiveAndUnsubscribed(t *testing.T) {
	rc := newReceiver(t, 200, "ok")
	s := startEmu(t, Options{})
	active := create(t, s, rc.URL+"/active", omega.TypeProcessSucceeded)
	inactive := create(t, s, rc.URL+"/inactive", omega.TypeProcessSucceeded)
	other := create(t, s, rc.URL+"/other", omega.TypeProcessFailed)
	both := create(t, s, rc.URL+"/both", omega.TypeProcessFailed, omega.TypeProcessSucceeded)
	if a := call(t, s, "POST", "/company/client/webhooks/"+inactive.ID+"/status", `{"active":false}`); a.status != 200 {
		t.Fatalf("deactivate = %d", a.status)
	}

	ds, err := s.Deliver(context.Background(), omega.TypeProcessSucceeded)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.EndpointID)
	}
	if !slices.Equal(ids, []string{active.ID, both.ID}) {
		t.Errorf("delivered to %v, want %v (creation order)", ids, []string{active.ID, both.ID})
	}
	if got := rc.paths(); !slices.Equal(got, []string{"/active", "/both"}) {
		t.Errorf("receiver paths = %v", got)
	}
	for _, id := range []string{inactive.ID, other.ID} {
		if h := s.History(id); len(h) != 0 {
			t.Errorf("history of skipped endpoint %s = %+v", id, h)
		}
	}

	ds, err = s.Deliver(context.Background(), omega.TypeReadyToWatch)
	if err != nil || ds == nil || len(ds) != 0 {
		t.Errorf("Deliver to no subscribers = %#v, %v; want an empty slice", ds, err)
	}
}

func TestDeliverTo(t *testing.T) {
	rc := newReceiver(t, 200, "ok")
	s := startEmu(t, Options{})
	ep := create(t, s, rc.URL+"/x", omega.TypeProcessFailed)
	if a := call(t, s, "POST", "/company/client/webhooks/"+ep.ID+"/status", `{"active":false}`); a.status != 200 {
		t.Fatal(a.status)
	}

	// Inactive and not subscribed, but named: delivered.
	d, err := s.DeliverTo(context.Background(), ep.ID, omega.TypeReadyToWatch)
	if err != nil {
		t.Fatal(err)
	}
	if d.Response.StatusCode != 200 || d.Type != omega.TypeReadyToWatch || len(rc.requests()) != 1 {
		t.Errorf("DeliverTo = %+v", d)
	}
	if h := s.History(ep.ID); len(h) != 1 || h[0].Type != omega.TypeReadyToWatch {
		t.Errorf("history = %+v", h)
	}

	if _, err := s.DeliverTo(context.Background(), "000000000000000000000000", omega.TypeDeleted); !errors.Is(err, ErrEndpointNotFound) {
		t.Errorf("unknown endpoint: err = %v", err)
	}
	var ute *omega.UnknownTypeError
	if _, err := s.DeliverTo(context.Background(), ep.ID, "video.exploded"); !errors.As(err, &ute) {
		t.Errorf("unknown type: err = %v", err)
	}
	if _, err := s.Deliver(context.Background(), "video.exploded"); !errors.As(err, &ute) || ute.Type != "video.exploded" {
		t.Errorf("Deliver unknown type: err = %v", err)
	}
	if len(rc.requests()) != 1 {
		t.Errorf("errors sent requests: %d", len(rc.requests()))
	}
}

func TestDeliverConcurrently(t *testing.T) {
	const n = 4
	var mu sync.Mutex
	waiting := 0
	all := make(chan struct{})
	// Each request waits until all n have arrived: only concurrent delivery
	// gets every one answered 200; a sequential sender gets 504s.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		waiting++
		if waiting == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			w.WriteHeader(200)
		case <-time.After(10 * time.Second):
			w.WriteHeader(http.StatusGatewayTimeout)
		}
	}))
	defer srv.Close()
	s := startEmu(t, Options{})
	for range n {
		create(t, s, srv.URL, omega.TypeUploaded)
	}
	ds, err := s.Deliver(context.Background(), omega.TypeUploaded)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != n {
		t.Fatalf("deliveries = %d", len(ds))
	}
	for _, d := range ds {
		if d.Response.StatusCode != 200 {
			t.Errorf("delivery to %s = %+v: deliveries were not concurrent", d.EndpointID, d.Response)
		}
	}
}

func TestHistoryCapped(t *testing.T) {
	rc := newReceiver(t, 200, "ok")
	s := startEmu(t, Options{})
	s.historyLimit = 3
	ep := create(t, s, rc.URL, omega.TypeUploaded)
	var ids []string
	for range 5 {
		d, err := s.DeliverTo(context.Background(), ep.ID, omega.TypeUploaded)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.EventID)
	}
	h := s.History(ep.ID)
	var got []string
	for _, ev := range h {
		got = append(got, ev.ID)
	}
	want := []string{ids[4], ids[3], ids[2]}
	if !slices.Equal(got, want) {
		t.Errorf("history ids = %v, want the newest three %v", got, want)
	}
	checkMessage(t, call(t, s, "GET", "/company/client/webhooks/"+ep.ID+"/events/"+ids[0], ""), 404, "webhook event not found")
}

func TestDeleteDropsHistory(t *testing.T) {
	rc := newReceiver(t, 200, "ok")
	s := startEmu(t, Options{})
	ep := create(t, s, rc.URL, omega.TypeUploaded)
	if _, err := s.DeliverTo(context.Background(), ep.ID, omega.TypeUploaded); err != nil {
		t.Fatal(err)
	}
	checkMessage(t, call(t, s, "DELETE", "/company/client/webhooks/"+ep.ID, ""), 200, "webhook endpoint deleted")
	if h := s.History(ep.ID); h != nil {
		t.Errorf("history after delete = %+v", h)
	}
	// A delivery whose endpoint vanished meanwhile is not recorded anywhere.
	s.record(omega.Event{ID: "x", EndpointID: ep.ID})
	if h := s.History(ep.ID); h != nil {
		t.Errorf("record on a deleted endpoint resurrected it: %+v", h)
	}
}

func TestControlRoute(t *testing.T) {
	rc := newReceiver(t, 200, "ok")
	s := startEmu(t, Options{})
	a1 := create(t, s, rc.URL+"/a", omega.TypeProcessSucceeded)
	b1 := create(t, s, rc.URL+"/b", omega.TypeProcessSucceeded)
	c1 := create(t, s, rc.URL+"/c", omega.TypeDeleted)

	const path = "/company/_emulator/deliver"
	a := call(t, s, "POST", path, `{"type":"video.process_succeeded"}`)
	if a.status != 200 {
		t.Fatalf("deliver = %d %s", a.status, a.body)
	}
	raw := decode[map[string][]map[string]json.RawMessage](t, a)
	if len(raw["deliveries"]) != 2 {
		t.Fatalf("deliveries = %s", a.body)
	}
	var keys []string
	for k := range raw["deliveries"][0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if strings.Join(keys, ",") != "duration,endpoint_id,err,event_id,response,type,url" {
		t.Errorf("delivery keys = %v", keys)
	}
	out := decode[struct{ Deliveries []Delivery }](t, a)
	if out.Deliveries[0].EndpointID != a1.ID || out.Deliveries[1].EndpointID != b1.ID ||
		out.Deliveries[0].Response.StatusCode != 200 || out.Deliveries[0].Duration <= 0 {
		t.Errorf("deliveries = %+v", out.Deliveries)
	}

	// count repeats the delivery; endpoint_id picks one endpoint even if it
	// is not subscribed.
	a = call(t, s, "POST", path, `{"type":"video.process_succeeded","count":3}`)
	if out := decode[struct{ Deliveries []Delivery }](t, a); len(out.Deliveries) != 6 {
		t.Errorf("count 3 over 2 endpoints = %d deliveries", len(out.Deliveries))
	}
	a = call(t, s, "POST", path, mustJSON(t, map[string]any{"type": omega.TypeUploaded, "endpoint_id": c1.ID, "count": 2}))
	out = decode[struct{ Deliveries []Delivery }](t, a)
	if len(out.Deliveries) != 2 || out.Deliveries[0].EndpointID != c1.ID || out.Deliveries[1].EndpointID != c1.ID {
		t.Errorf("targeted = %d %s", a.status, a.body)
	}
	if len(s.History(a1.ID)) != 4 || len(s.History(b1.ID)) != 4 || len(s.History(c1.ID)) != 2 {
		t.Errorf("history lengths = %d %d %d", len(s.History(a1.ID)), len(s.History(b1.ID)), len(s.History(c1.ID)))
	}

	a = call(t, s, "POST", path, `{"type":"video.ready_to_watch"}`)
	if a.status != 200 || strings.TrimSpace(string(a.body)) != `{"deliveries":[]}` {
		t.Errorf("no subscribers = %d %s", a.status, a.body)
	}

	for _, tt := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"unknown type", `{"type":"video.exploded"}`, 422, `unknown event type "video.exploded"*`},
		{"missing type", `{}`, 422, `unknown event type ""*`},
		{"count too big", `{"type":"video.deleted","count":1001}`, 422, "count must be between 1 and 1000"},
		{"count negative", `{"type":"video.deleted","count":-1}`, 422, "count must be between 1 and 1000"},
		{"count not a number", `{"type":"video.deleted","count":"2"}`, 400, "request body is not valid JSON for this call: *"},
		{"unknown endpoint", `{"type":"video.deleted","endpoint_id":"000000000000000000000000"}`, 404, "webhook endpoint not found"},
		{"not JSON", `type=video.deleted`, 400, "request body is not valid JSON for this call: *"},
		{"empty", ``, 400, "request body is empty; send a JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkMessage(t, call(t, s, "POST", path, tt.body), tt.status, tt.msg)
		})
	}
	if n := len(rc.requests()); n != 10 {
		t.Errorf("receiver got %d requests, want 10", n)
	}
}
