package inspector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/text"
)

func binaryBody() []byte {
	b := make([]byte, 3*256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestDeliveryArrivesByteExact(t *testing.T) {
	r := newRig(t, nil, func(_ *HandlerOptions, fo *ForwarderOptions) {
		fo.Headers = http.Header{"x-extra": {"added"}, "X-Override": {"replaced"}}
	})
	body := binaryBody()
	req := "POST " + r.h.Path() + " HTTP/1.1\r\n" +
		"Host: example.ngrok.app\r\n" +
		"Content-Type: application/octet-stream\r\n" +
		"X-Multi: one\r\n" +
		"X-Multi: two\r\n" +
		"Connection: keep-alive, X-Hop\r\n" +
		"X-Hop: drop me\r\n" +
		"Keep-Alive: timeout=5\r\n" +
		"Proxy-Authorization: Basic eA==\r\n" +
		"Te: trailers\r\n" +
		"Upgrade: something\r\n" +
		"X-Override: original\r\n" +
		"X-Forwarded-For: 203.0.113.9\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"\r\n" + string(body)
	resp, answer := rawRequest(t, r.srv.Listener.Addr().String(), req)
	if err := r.h.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(answer) != "ok" {
		t.Fatalf("answer = %d %q, want 200 \"ok\"", resp.StatusCode, answer)
	}

	reqs := r.app.requests()
	if len(reqs) != 1 {
		t.Fatalf("app got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	c := r.rec.only(t, "finished")
	want := http.Header{
		"Content-Type":    {"application/octet-stream"},
		"X-Multi":         {"one", "two"},
		"X-Override":      {"replaced"},
		"X-Extra":         {"added"},
		"X-Forwarded-For": {"203.0.113.9"},
		"Content-Length":  {strconv.Itoa(len(body))},
		HeaderCapture:     {c.ID},
	}
	if !equalHeader(got.Header, want) {
		t.Errorf("app got headers\n%v\nwant\n%v", got.Header, want)
	}
	if !bytes.Equal(got.Body, body) {
		t.Errorf("app got a different body: %d bytes, want %d", len(got.Body), len(body))
	}
	if got.Method != "POST" || got.Path != "/webhook" || got.Host != r.target.Host {
		t.Errorf("app got %s %s Host %s, want POST /webhook Host %s", got.Method, got.Path, got.Host, r.target.Host)
	}
	if got.ContentLength != int64(len(body)) || got.TransferEncoding != nil {
		t.Errorf("app got Content-Length %d, Transfer-Encoding %v; want %d, none", got.ContentLength, got.TransferEncoding, len(body))
	}

	// The capture keeps the request as it arrived, hop-by-hop headers and
	// Host included, and where it came from.
	for k, v := range map[string]string{"Host": "example.ngrok.app", "X-Hop": "drop me", "Connection": "keep-alive, X-Hop", "X-Forwarded-For": "203.0.113.9", "X-Override": "original"} {
		if g := c.Headers.Get(k); g != v {
			t.Errorf("capture header %s = %q, want %q", k, g, v)
		}
	}
	if !slices.Equal(c.Headers["X-Multi"], []string{"one", "two"}) {
		t.Errorf("capture X-Multi = %v", c.Headers["X-Multi"])
	}
	if !bytes.Equal(c.Body, body) || !c.Flags.Has(capture.FlagNotJSON) {
		t.Errorf("capture body %d bytes, flags %b; want the body, FlagNotJSON", len(c.Body), c.Flags)
	}
	if !strings.HasPrefix(c.RemoteAddr, "127.0.0.1:") {
		t.Errorf("capture RemoteAddr = %q, want the connection's address", c.RemoteAddr)
	}
	if c.SessionID != "s1" || c.Method != "POST" || c.Path != RedactedPath || c.Target != r.target.String() {
		t.Errorf("capture = %s %s %s → %s, want s1 POST %s → %s", c.SessionID, c.Method, c.Path, c.Target, RedactedPath, r.target)
	}
	if strings.Contains(c.Path, r.h.Path()) {
		t.Errorf("the capture keeps the secret token: %q", c.Path)
	}
}

func TestDeliveryChunkedGetsContentLength(t *testing.T) {
	r := newRig(t, nil)
	body := strings.Repeat("x", 5000)
	// A reader of unknown length makes the client send it chunked.
	resp, _ := r.do("POST", r.h.Path(), nil, io.MultiReader(strings.NewReader(body)))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := r.app.requests()[0]
	if got.ContentLength != 5000 || got.Header.Get("Content-Length") != "5000" || got.TransferEncoding != nil || string(got.Body) != body {
		t.Errorf("app got Content-Length %d %q, TE %v, %d bytes; want 5000, not chunked", got.ContentLength, got.Header.Get("Content-Length"), got.TransferEncoding, len(got.Body))
	}
}

func TestAnswerPassedBackVerbatim(t *testing.T) {
	tests := []struct {
		name       string
		app        http.HandlerFunc
		wantStatus int
		wantHeader http.Header // these must be exactly so
		absent     []string
		wantBody   string
		outcome    capture.Outcome
	}{
		{
			name: "created with custom headers",
			app: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-App", "yes")
				w.Header()["Set-Cookie"] = []string{"a=1", "b=2"}
				w.WriteHeader(201)
				io.WriteString(w, `{"id":1}`)
			},
			wantStatus: 201,
			wantHeader: http.Header{"Content-Type": {"application/json"}, "X-App": {"yes"}, "Set-Cookie": {"a=1", "b=2"}, "Content-Length": {"8"}},
			wantBody:   `{"id":1}`,
			outcome:    capture.OutcomeOK,
		},
		{
			name: "server error with body",
			app: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "boom", 500)
			},
			wantStatus: 500,
			wantHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}},
			wantBody:   "boom\n",
			outcome:    capture.OutcomeAppError,
		},
		{
			name: "no content",
			app: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(204)
			},
			wantStatus: 204,
			absent:     []string{"Content-Type"},
			outcome:    capture.OutcomeOK,
		},
		{
			name: "nothing added that the app did not send",
			app: func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Date"] = nil
				w.Header()["Content-Type"] = nil
				io.WriteString(w, "<html>looks like HTML")
			},
			wantStatus: 200,
			absent:     []string{"Content-Type", "Date"},
			wantBody:   "<html>looks like HTML",
			outcome:    capture.OutcomeOK,
		},
		{
			name: "hop-by-hop answer headers dropped",
			app: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Connection", "X-Hop")
				w.Header().Set("X-Hop", "1")
				w.Header().Set("Keep-Alive", "timeout=1")
				w.Header().Set("X-Kept", "1")
				w.WriteHeader(202)
			},
			wantStatus: 202,
			wantHeader: http.Header{"X-Kept": {"1"}},
			absent:     []string{"X-Hop", "Keep-Alive"},
			outcome:    capture.OutcomeOK,
		},
		{
			name: "streamed answer",
			app: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "part one, ")
				w.(http.Flusher).Flush()
				io.WriteString(w, "part two")
			},
			wantStatus: 200,
			wantHeader: http.Header{"Content-Length": {"18"}},
			wantBody:   "part one, part two",
			outcome:    capture.OutcomeOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.app)
			resp, body := r.post(`{"id":"e1","type":"video.process_succeeded"}`)
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("answer %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header[k]; !slices.Equal(got, v) {
					t.Errorf("answer header %s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.absent {
				if v, ok := resp.Header[k]; ok {
					t.Errorf("answer has header %s: %q, want none", k, v)
				}
			}
			c := r.rec.only(t, "finished")
			if c.Status != tt.wantStatus || c.SentStatus != tt.wantStatus || string(c.RespBody) != tt.wantBody || c.Outcome() != tt.outcome || c.Error != "" {
				t.Errorf("capture: status %d sent %d body %q outcome %s error %q; want %d %q %s",
					c.Status, c.SentStatus, c.RespBody, c.Outcome(), c.Error, tt.wantStatus, tt.wantBody, tt.outcome)
			}
		})
	}
}

func TestRedirectReturnedNotFollowed(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	resp, _ := r.post(`{}`)
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/elsewhere" {
		t.Errorf("answer %d Location %q, want 302 /elsewhere", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(r.app.requests()); n != 1 {
		t.Errorf("app got %d requests, want 1 (the redirect not followed)", n)
	}
	if c := r.rec.only(t, "finished"); c.Status != 302 || c.Outcome() != capture.OutcomeAppError {
		t.Errorf("capture status %d outcome %s, want 302 app_error", c.Status, c.Outcome())
	}
}

func deadURL(t *testing.T) *url.URL {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	u, _ := url.Parse(s.URL + "/webhook")
	s.Close()
	return u
}

func TestAppDownAnswers502(t *testing.T) {
	dead := deadURL(t)
	r := newRig(t, nil, func(_ *HandlerOptions, fo *ForwarderOptions) { fo.Target = dead })
	resp, body := r.post(`{"id":"e1","type":"video.process_failed"}`)
	wantBody := "omega-listen: could not reach " + dead.String() + ": connection refused\n"
	if resp.StatusCode != 502 || string(body) != wantBody {
		t.Errorf("answer %d %q, want 502 %q", resp.StatusCode, body, wantBody)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	c := r.rec.only(t, "finished")
	if c.Outcome() != capture.OutcomeFailed || c.SentStatus != 502 || c.Status != 0 || c.Error != strings.TrimSuffix(wantBody[len("omega-listen: "):], "\n") {
		t.Errorf("capture outcome %s sent %d status %d error %q", c.Outcome(), c.SentStatus, c.Status, c.Error)
	}
	if s := r.h.Stats(); s.Failed != 1 || s.Received != 1 || s.OK != 0 {
		t.Errorf("stats %+v, want 1 received, 1 failed", s)
	}
	// The listener keeps running: the next delivery is handled the same way.
	if resp, _ := r.post(`{}`); resp.StatusCode != 502 {
		t.Errorf("second delivery answered %d, want 502", resp.StatusCode)
	}
}

func TestAppTooSlowAnswers504(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the Forwarder gives up
	}, func(_ *HandlerOptions, fo *ForwarderOptions) { fo.Timeout = 50 * time.Millisecond })
	resp, body := r.post(`{}`)
	wantBody := "omega-listen: " + r.target.String() + " did not answer within 50ms\n"
	if resp.StatusCode != 504 || string(body) != wantBody {
		t.Errorf("answer %d %q, want 504 %q", resp.StatusCode, body, wantBody)
	}
	c := r.rec.only(t, "finished")
	if c.Outcome() != capture.OutcomeFailed || c.SentStatus != 504 || !strings.Contains(c.Error, "did not answer within 50ms") {
		t.Errorf("capture outcome %s sent %d error %q", c.Outcome(), c.SentStatus, c.Error)
	}
}

func TestAppClosesConnectionAnswers502(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	resp, body := r.post(`{}`)
	want := "omega-listen: forwarding to " + r.target.String() + " failed: "
	if resp.StatusCode != 502 || !strings.HasPrefix(string(body), want) {
		t.Errorf("answer %d %q, want 502 %q...", resp.StatusCode, body, want)
	}
	if n := len(r.app.requests()); n != 1 {
		t.Errorf("app got %d requests, want 1 (a POST is not retried)", n)
	}
	if c := r.rec.only(t, "finished"); c.Outcome() != capture.OutcomeFailed {
		t.Errorf("capture outcome %s, want failed", c.Outcome())
	}
}

func TestWrongPathIs404AndRecorded(t *testing.T) {
	paths := []struct{ name, p string }{
		{"root", "/"},
		{"no token", "/omega/"},
		{"trailing slash", "/omega/" + testToken + "/"},
		{"token and more", "/omega/" + testToken + "x"},
		{"token cut short", "/omega/" + testToken[:len(testToken)-1]},
		{"upper-case prefix", "/OMEGA/" + testToken},
		{"token's first letter escaped", "/omega/%74" + testToken[1:]},
		{"double slash", "/omega//" + testToken},
		{"dot-dot", "/x/../omega/" + testToken},
		{"a probe", "/wp-login.php?probe=1"},
	}
	for _, tc := range paths {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			req := "POST " + tc.p + " HTTP/1.1\r\nHost: x\r\nX-Probe: yes\r\nContent-Length: 2\r\n\r\n{}"
			resp, body := rawRequest(t, r.srv.Listener.Addr().String(), req)
			r.h.Wait(context.Background())
			if resp.StatusCode != 404 || string(body) != "not found\n" {
				t.Errorf("answer %d %q, want 404 \"not found\\n\"", resp.StatusCode, body)
			}
			if n := len(r.app.requests()); n != 0 {
				t.Errorf("app got %d requests, want none", n)
			}
			c := r.rec.only(t, "recorded")
			if !c.Flags.Has(capture.FlagRejected) || c.RejectReason != "wrong path" || c.Path != tc.p || c.Method != "POST" ||
				c.Body != nil || c.Headers.Get("X-Probe") != "yes" || c.RemoteAddr == "" || c.SentStatus != 404 ||
				c.State != capture.StateDone || c.Outcome() != capture.OutcomeRejected {
				t.Errorf("recorded %+v", c)
			}
			if b, f, _ := r.rec.counts(); b != 0 || f != 0 {
				t.Errorf("Begin/Finish called %d/%d times for a rejection", b, f)
			}
			if s := r.h.Stats(); s.Rejected != 1 || s.Received != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestQueryStringOnRightPathIsDelivered(t *testing.T) {
	r := newRig(t, nil)
	resp, _ := r.do("POST", r.h.Path()+"?attempt=2", nil, strings.NewReader("{}"))
	if resp.StatusCode != 200 || len(r.app.requests()) != 1 {
		t.Errorf("answer %d, app requests %d; want 200, 1", resp.StatusCode, len(r.app.requests()))
	}
}

func TestOtherMethodsAre405(t *testing.T) {
	for _, m := range []string{"GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"} {
		t.Run(m, func(t *testing.T) {
			r := newRig(t, nil)
			resp, _ := r.do(m, r.h.Path(), nil, nil)
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
				t.Errorf("answer %d Allow %q, want 405 POST", resp.StatusCode, resp.Header.Get("Allow"))
			}
			if n := len(r.app.requests()); n != 0 {
				t.Errorf("app got %d requests", n)
			}
			c := r.rec.only(t, "recorded")
			if c.Outcome() != capture.OutcomeRejected || c.RejectReason != "method "+m+" not allowed" || c.SentStatus != 405 {
				t.Errorf("recorded %s %q %d", c.Outcome(), c.RejectReason, c.SentStatus)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	tests := []struct {
		name       string
		maxBody    int64
		size       int
		chunked    bool
		wantStatus int
		wantBody   string
		wantReason string
	}{
		{"11 MiB declared", 0, 11 << 20, false, 413, "request body too large (limit 10 MiB)\n", "request body of 11 MiB (11534336 bytes) is over the limit of 10 MiB"},
		{"chunked over limit", 1024, 2048, true, 413, "request body too large (limit 1 KiB)\n", "request body is over the limit of 1 KiB (more than 1024 bytes sent)"},
		{"declared at limit", 1024, 1024, false, 200, "ok", ""},
		{"chunked at limit", 1024, 1024, true, 200, "ok", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil, func(ho *HandlerOptions, _ *ForwarderOptions) { ho.MaxBody = tt.maxBody })
			var body io.Reader = bytes.NewReader(bytes.Repeat([]byte("a"), tt.size))
			if tt.chunked {
				body = io.MultiReader(body)
			}
			resp, got := r.do("POST", r.h.Path(), nil, body)
			if resp.StatusCode != tt.wantStatus || string(got) != tt.wantBody {
				t.Errorf("answer %d %q, want %d %q", resp.StatusCode, got, tt.wantStatus, tt.wantBody)
			}
			if tt.wantStatus == 200 {
				if reqs := r.app.requests(); len(reqs) != 1 || len(reqs[0].Body) != tt.size {
					t.Errorf("app did not get the %d-byte body", tt.size)
				}
				return
			}
			if n := len(r.app.requests()); n != 0 {
				t.Errorf("app got %d requests", n)
			}
			c := r.rec.only(t, "recorded")
			if c.Outcome() != capture.OutcomeRejected || c.RejectReason != tt.wantReason || c.SentStatus != 413 || c.Body != nil {
				t.Errorf("recorded %s %q %d body %d bytes; want reason %q", c.Outcome(), c.RejectReason, c.SentStatus, len(c.Body), tt.wantReason)
			}
		})
	}
}

func TestBodyKindsForwardedAndFlagged(t *testing.T) {
	envelope := `{"id":"630fac88bd5bb64cf8b24b99","coid":"omega-cop-OyJrgi5-fx","api_version":"v1","created":1661971592,` +
		`"type":"video.process_failed","data":{"id":"v1"},"endpoint_id":"6307b4d6570090479813a762"}`
	tests := []struct {
		name  string
		body  string
		flags capture.Flags
		check func(t *testing.T, c capture.Capture)
	}{
		{"envelope", envelope, 0, func(t *testing.T, c capture.Capture) {
			if c.EventID != "630fac88bd5bb64cf8b24b99" || c.EventType != "video.process_failed" ||
				c.EndpointID != "6307b4d6570090479813a762" || !c.EventCreated.Equal(time.Unix(1661971592, 0)) {
				t.Errorf("envelope fields: %q %q %q %v", c.EventID, c.EventType, c.EndpointID, c.EventCreated)
			}
		}},
		{"not JSON", "this is not JSON {", capture.FlagNotJSON, nil},
		{"empty", "", capture.FlagNotJSON, nil},
		{"JSON, not an envelope", `{"hello":"world"}`, capture.FlagNotOmega, nil},
		{"JSON array", `[1,2]`, capture.FlagNotOmega, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			resp, _ := r.post(tt.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := r.app.requests()[0]
			if string(got.Body) != tt.body || got.Header.Get("Content-Length") != strconv.Itoa(len(tt.body)) {
				t.Errorf("app got %q (Content-Length %q), want %q", got.Body, got.Header.Get("Content-Length"), tt.body)
			}
			c := r.rec.only(t, "finished")
			if c.Flags != tt.flags {
				t.Errorf("flags %b, want %b", c.Flags, tt.flags)
			}
			if tt.flags != 0 && (c.EventID != "" || c.EventType != "") {
				t.Errorf("event fields set on a flagged body: %q %q", c.EventID, c.EventType)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestStoreFailureStillForwardsAndAnswers(t *testing.T) {
	errDisk := errors.New("disk full")
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		io.WriteString(w, "made")
	})
	r.rec.failBegin, r.rec.failFinish, r.rec.failRecd = errDisk, errDisk, errDisk

	resp, body := r.post(`{}`)
	if resp.StatusCode != 201 || string(body) != "made" || len(r.app.requests()) != 1 {
		t.Errorf("answer %d %q, app requests %d; want 201 \"made\", 1", resp.StatusCode, body, len(r.app.requests()))
	}
	resp, _ = r.do("GET", "/nope", nil, nil)
	if resp.StatusCode != 404 {
		t.Errorf("rejection answered %d, want 404", resp.StatusCode)
	}

	r.mu.Lock()
	errs := r.storeErrs
	r.mu.Unlock()
	if len(errs) != 3 {
		t.Fatalf("OnStoreError called %d times, want 3 (Begin, Finish, Record): %v", len(errs), errs)
	}
	for _, err := range errs {
		if !errors.Is(err, errDisk) {
			t.Errorf("store error %v does not wrap the cause", err)
		}
	}
	if s := r.h.Stats(); s.StoreErrors != 3 || s.OK != 1 || s.Rejected != 1 {
		t.Errorf("stats %+v", s)
	}
	if n := len(r.pub.completed); n != 2 {
		t.Errorf("published %d completions, want 2", n)
	}
}

func TestOrderOfOneDelivery(t *testing.T) {
	r := newRig(t, nil)
	r.post(`{"id":"e1","type":"video.process_succeeded"}`)
	id := r.rec.only(t, "finished").ID
	events := r.log.all()
	pos := func(e string) int {
		i := slices.Index(events, e)
		if i < 0 {
			t.Fatalf("no %q in %q", e, events)
		}
		return i
	}
	order := []string{"begin " + id, "received " + id, "app " + id, "finish " + id, "answered"}
	for i := 1; i < len(order); i++ {
		if pos(order[i-1]) > pos(order[i]) {
			t.Errorf("%q happened after %q: %q", order[i-1], order[i], events)
		}
	}
	if pos("completed "+id) < pos("finish "+id) {
		t.Errorf("completed published before finish: %q", events)
	}

	if len(r.pub.received) != 1 || len(r.pub.completed) != 1 {
		t.Fatalf("published %d received, %d completed", len(r.pub.received), len(r.pub.completed))
	}
	if rc := r.pub.received[0]; rc.State != capture.StatePending || rc.Seq != 1 || rc.Status != 0 {
		t.Errorf("Received got state %s seq %d status %d, want a pending snapshot with its seq", rc.State, rc.Seq, rc.Status)
	}
	if cc := r.pub.completed[0]; cc.State != capture.StateDone || cc.Status != 200 || cc.CompletedAt.Before(cc.ReceivedAt) {
		t.Errorf("Completed got state %s status %d", cc.State, cc.Status)
	}
	// Begin saw the capture before the app answered.
	if b := r.rec.begun[id]; b.State != capture.StatePending || b.Status != 0 || b.Body == nil {
		t.Errorf("Begin got state %s status %d body %q", b.State, b.Status, b.Body)
	}
}

func TestConcurrentDeliveriesAllRecorded(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-N"))
	})
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"id":"e%d","type":"video.process_succeeded"}`, i)
			req, _ := http.NewRequest("POST", r.url(), strings.NewReader(body))
			req.Header.Set("X-N", strconv.Itoa(i))
			resp, err := plainClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != strconv.Itoa(i) {
				errs <- fmt.Errorf("delivery %d answered %d %q", i, resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := r.h.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	begun, finished, _ := r.rec.counts()
	if begun != n || finished != n || len(r.app.requests()) != n {
		t.Errorf("begun %d, finished %d, app got %d; want %d each", begun, finished, len(r.app.requests()), n)
	}
	events := map[string]bool{}
	r.rec.mu.Lock()
	for _, c := range r.rec.finished {
		events[c.EventID] = true
		if string(c.RespBody) != c.Headers.Get("X-N") {
			t.Errorf("capture %s has answer %q for request %q", c.ID, c.RespBody, c.Headers.Get("X-N"))
		}
	}
	r.rec.mu.Unlock()
	if len(events) != n {
		t.Errorf("%d distinct events recorded, want %d", len(events), n)
	}
	if s := r.h.Stats(); s.Received != n || s.OK != n {
		t.Errorf("stats %+v", s)
	}
}

func TestWaitForDeliveriesInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	if err := r.h.Wait(context.Background()); err != nil {
		t.Fatalf("Wait with nothing in flight = %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := plainClient.Post(r.url(), "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.h.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait while in flight = %v, want context.Canceled", err)
	}
	close(release)
	if err := r.h.Wait(context.Background()); err != nil {
		t.Errorf("Wait = %v", err)
	}
	if _, finished, _ := r.rec.counts(); finished != 1 {
		t.Errorf("Wait returned before the delivery was finished")
	}
	<-done
}

func TestSenderHangingUpDoesNotCancelForward(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "late")
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel() // the sender gives up while the app works
	}()
	req, _ := http.NewRequestWithContext(ctx, "POST", r.url(), strings.NewReader("{}"))
	if _, err := plainClient.Do(req); err == nil {
		t.Fatal("request not canceled")
	}
	close(release)
	if err := r.h.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := r.rec.only(t, "finished"); c.Status != 200 || string(c.RespBody) != "late" || c.Error != "" {
		t.Errorf("capture status %d body %q error %q; want the app's answer recorded", c.Status, c.RespBody, c.Error)
	}
}

// TestLongAnswerPassesThroughWhole: the sender gets all of a long answer,
// whatever its framing; only the stored copy stops at MaxResponseBody.
func TestLongAnswerPassesThroughWhole(t *testing.T) {
	big := bytes.Repeat([]byte("z"), MaxResponseBody+10)
	big[len(big)-1] = 'e'
	for _, withLength := range []bool{true, false} {
		t.Run(fmt.Sprintf("length %v", withLength), func(t *testing.T) {
			r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
				if withLength {
					w.Header().Set("Content-Length", strconv.Itoa(len(big)))
				}
				w.Write(big[:100])
				w.(http.Flusher).Flush() // no length: chunked
				w.Write(big[100:])
			})
			resp, body := r.post(`{}`)
			if resp.StatusCode != 200 || !bytes.Equal(body, big) {
				t.Errorf("answer %d, %d bytes; want 200 and all %d bytes", resp.StatusCode, len(body), len(big))
			}
			if want := int64(-1); withLength {
				if resp.ContentLength != int64(len(big)) {
					t.Errorf("Content-Length %d, want %d", resp.ContentLength, len(big))
				}
			} else if resp.ContentLength != want {
				t.Errorf("Content-Length %d, want none (chunked)", resp.ContentLength)
			}
			c := r.rec.only(t, "finished")
			if !c.Flags.Has(capture.FlagTruncated) || len(c.RespBody) != MaxResponseBody || c.Outcome() != capture.OutcomeOK {
				t.Errorf("capture flags %b, %d bytes, outcome %s", c.Flags, len(c.RespBody), c.Outcome())
			}
		})
	}
}

func TestNewHandlerPanicsOnMissingParts(t *testing.T) {
	fwd := NewForwarder(ForwarderOptions{})
	for name, o := range map[string]HandlerOptions{
		"bad token":    {Token: "short", Forwarder: fwd, Recorder: &fakeRecorder{}},
		"no forwarder": {Token: testToken, Recorder: &fakeRecorder{}},
		"no recorder":  {Token: testToken, Forwarder: fwd},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: NewHandler did not panic", name)
				}
			}()
			NewHandler(o)
		})
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		10 << 20: "10 MiB", 11 << 20: "11 MiB", 1536 << 10: "1.5 MiB", 1024: "1 KiB",
		1500: "1.5 KiB", 999: "999 bytes", 0: "0 bytes",
	} {
		t.Run(want, func(t *testing.T) {
			if got := text.Bytes(n); got != want {
				t.Errorf("text.Bytes(%d) = %q, want %q", n, got, want)
			}
		})
	}
}

// FuzzPathCheck: only the exact path is delivered; everything else is a
// recorded 404 that reaches no app.
func FuzzPathCheck(f *testing.F) {
	for _, p := range []string{"/omega/" + testToken, "/omega/" + testToken + "/", "/", "/omega/%74est-token_0123456789abcdef", "//omega/" + testToken, "/omega/" + testToken + "?x=1"} {
		f.Add(p)
	}
	fwd := NewForwarder(ForwarderOptions{Target: &url.URL{Scheme: "http", Host: "app"}, Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok"))}, nil
	})})
	f.Fuzz(func(t *testing.T, target string) {
		req, err := http.ReadRequest(bufioReader("POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"))
		if err != nil {
			return // not something a server would hand to a handler
		}
		rec := &fakeRecorder{}
		h := NewHandler(HandlerOptions{Token: testToken, Forwarder: fwd, Recorder: rec})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		exact := req.URL.EscapedPath() == "/omega/"+testToken
		begun, _, recorded := rec.counts()
		switch {
		case exact && (w.Code != 200 || begun != 1):
			t.Fatalf("%q: answered %d, begun %d; want delivered", target, w.Code, begun)
		case !exact && (w.Code != 404 || begun != 0 || recorded != 1):
			t.Fatalf("%q (path %q): answered %d, begun %d, recorded %d; want a recorded 404", target, req.URL.EscapedPath(), w.Code, begun, recorded)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
