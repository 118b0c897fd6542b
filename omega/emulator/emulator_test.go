package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/omega"
)

var (
	objectIDRe = regexp.MustCompile(`^[0-9a-f]{24}$`)
	apiKeyRe   = regexp.MustCompile(`^omega_emu_[0-9a-f]{32}$`)
	coidRe     = regexp.MustCompile(`^omega-cop-[A-Za-z0-9_-]{10}$`)
)

// startEmu starts an emulator on loopback, closed when the test ends.
func startEmu(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := Start("", o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// message returns the "message" of a JSON error body.
func (a answer) message(t *testing.T) string {
	t.Helper()
	var m struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(a.body, &m); err != nil || m.Message == nil {
		t.Fatalf("answer %d is not {\"message\": ...}: %s (%v)", a.status, a.body, err)
	}
	return *m.Message
}

// call sends a request with the emulator's key to path (from the server
// root, e.g. "/company/client/webhooks") and checks every answer is JSON.
func call(t *testing.T, s *Server, method, path, body string) answer {
	t.Helper()
	return callKey(t, s, method, path, body, "Bearer "+s.APIKey())
}

func callKey(t *testing.T, s *Server, method, path, body, auth string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+s.Addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type = %q, want application/json", method, path, ct)
	}
	if !json.Valid(b) {
		t.Errorf("%s %s: answer is not JSON: %q", method, path, b)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, a.body, err)
	}
	return v
}

// create registers an endpoint through the API and returns it.
func create(t *testing.T, s *Server, url string, events ...string) omega.Endpoint {
	t.Helper()
	a := call(t, s, "POST", "/company/client/webhooks", mustJSON(t, omega.EndpointInput{URL: url, Events: events}))
	if a.status != http.StatusOK {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	return decode[omega.Endpoint](t, a)
}

func TestOptionDefaults(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	if !apiKeyRe.MatchString(a.APIKey()) {
		t.Errorf("default APIKey = %q", a.APIKey())
	}
	if a.APIKey() == b.APIKey() {
		t.Errorf("two emulators share key %q", a.APIKey())
	}
	if !coidRe.MatchString(a.COID()) {
		t.Errorf("default COID = %q", a.COID())
	}
	c := New(Options{APIKey: "k", COID: "omega-cop-fixed12345"})
	if c.APIKey() != "k" || c.COID() != "omega-cop-fixed12345" {
		t.Errorf("options not kept: %q %q", c.APIKey(), c.COID())
	}
}

func TestAuth(t *testing.T) {
	s := startEmu(t, Options{APIKey: "secret-key"})
	tests := []struct {
		name   string
		auth   string
		method string
		path   string
		want   int
	}{
		{"missing on list", "", "GET", "/company/client/webhooks/all", 401},
		{"missing on create", "", "POST", "/company/client/webhooks", 401},
		{"missing on unknown path", "", "GET", "/company/nope", 401},
		{"missing on control route", "", "POST", "/company/_emulator/deliver", 401},
		{"wrong key", "Bearer other-key", "GET", "/company/client/webhooks/all", 401},
		{"key prefix only", "Bearer secret", "GET", "/company/client/webhooks/all", 401},
		{"basic scheme", "Basic secret-key", "GET", "/company/client/webhooks/all", 401},
		{"bare key", "secret-key", "GET", "/company/client/webhooks/all", 401},
		{"empty bearer", "Bearer ", "GET", "/company/client/webhooks/all", 401},
		{"right key", "Bearer secret-key", "GET", "/company/client/webhooks/all", 200},
		{"scheme case-insensitive", "bearer secret-key", "GET", "/company/client/webhooks/all", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := callKey(t, s, tt.method, tt.path, "", tt.auth)
			if a.status != tt.want {
				t.Fatalf("status = %d, want %d (%s)", a.status, tt.want, a.body)
			}
			if tt.want == 401 {
				if got := a.message(t); got != "invalid or missing API key" {
					t.Errorf("message = %q", got)
				}
				if got := a.header.Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			}
		})
	}
}

func TestCreateAndList(t *testing.T) {
	s := startEmu(t, Options{COID: "omega-cop-OyJrgi5-fx"})

	a := call(t, s, "GET", "/company/client/webhooks/all", "")
	if a.status != 200 || strings.TrimSpace(string(a.body)) != "[]" {
		t.Fatalf("empty list = %d %s, want 200 []", a.status, a.body)
	}

	before := time.Now().UTC()
	a = call(t, s, "POST", "/company/client/webhooks",
		`{"url":"http://localhost:6060/webhook","events":["video.process_failed","video.process_succeeded"]}`)
	if a.status != 200 {
		t.Fatalf("create = %d %s", a.status, a.body)
	}
	raw := decode[map[string]any](t, a)
	for _, k := range []string{"id", "created_at", "updated_at", "coid", "url", "description", "events", "active"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("endpoint lacks %q: %s", k, a.body)
		}
	}
	if raw["description"] != nil {
		t.Errorf("description = %v, want null when not given", raw["description"])
	}
	for _, k := range []string{"created_at", "updated_at"} {
		ts, _ := raw[k].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") {
			t.Errorf("%s = %q, want RFC3339Nano UTC", k, ts)
		}
	}
	ep := decode[omega.Endpoint](t, a)
	if !objectIDRe.MatchString(ep.ID) {
		t.Errorf("id = %q, want an ObjectID", ep.ID)
	}
	if ep.COID != "omega-cop-OyJrgi5-fx" || ep.URL != "http://localhost:6060/webhook" || !ep.Active {
		t.Errorf("endpoint = %+v", ep)
	}
	if strings.Join(ep.Events, ",") != "video.process_failed,video.process_succeeded" {
		t.Errorf("events = %v", ep.Events)
	}
	if ep.CreatedAt.Before(before) || !ep.UpdatedAt.Equal(ep.CreatedAt) {
		t.Errorf("created_at %v updated_at %v, want equal and after %v", ep.CreatedAt, ep.UpdatedAt, before)
	}

	a = call(t, s, "POST", "/company/client/webhooks",
		`{"url":"https://example.test/hook","description":"omega-listen session","events":["video.deleted"]}`)
	ep2 := decode[omega.Endpoint](t, a)
	if ep2.Desc() != "omega-listen session" {
		t.Errorf("description = %v", ep2.Description)
	}
	if ep2.ID == ep.ID {
		t.Errorf("two endpoints share id %q", ep.ID)
	}

	a = call(t, s, "GET", "/company/client/webhooks/all", "")
	list := decode[[]omega.Endpoint](t, a)
	if len(list) != 2 || list[0].ID != ep.ID || list[1].ID != ep2.ID {
		t.Errorf("list = %+v, want both in creation order", list)
	}
	if snap := s.Endpoints(); len(snap) != 2 || snap[1].Desc() != "omega-listen session" {
		t.Errorf("Endpoints() = %+v", snap)
	}
}

func TestEndpointsSnapshotIsACopy(t *testing.T) {
	s := startEmu(t, Options{})
	create(t, s, "http://127.0.0.1:1/x", omega.TypeDeleted)
	snap := s.Endpoints()
	snap[0].Events[0] = "mutated"
	if got := s.Endpoints()[0].Events[0]; got != omega.TypeDeleted {
		t.Errorf("mutating a snapshot changed the emulator: %q", got)
	}
}

// validationCases are bodies create and update must both reject.
var validationCases = []struct {
	name   string
	body   string
	status int
	msg    string // exact, or a prefix when it ends in "*"
}{
	{"empty body", "", 400, "request body is empty; send a JSON object"},
	{"not JSON", "url=http://x", 400, "request body is not valid JSON for this call: *"},
	{"truncated JSON", `{"url":"http://x/"`, 400, "request body is not valid JSON for this call: *"},
	{"array", `["http://x/"]`, 400, "request body is not valid JSON for this call: *"},
	{"url not a string", `{"url":5,"events":["video.deleted"]}`, 400, "request body is not valid JSON for this call: *"},
	{"trailing data", `{"url":"http://x/","events":["video.deleted"]} {}`, 400, "request body is not valid JSON for this call: unexpected data after the JSON value"},
	{"url missing", `{"events":["video.deleted"]}`, 422, "url must be an absolute http(s) URL"},
	{"url relative", `{"url":"/webhook","events":["video.deleted"]}`, 422, "url must be an absolute http(s) URL"},
	{"url no scheme", `{"url":"localhost:8080/webhook","events":["video.deleted"]}`, 422, "url must be an absolute http(s) URL"},
	{"url ftp", `{"url":"ftp://example.test/x","events":["video.deleted"]}`, 422, "url must be an absolute http(s) URL"},
	{"url no host", `{"url":"http:///webhook","events":["video.deleted"]}`, 422, "url must be an absolute http(s) URL"},
	{"url port only", `{"url":"http://:8080/webhook","events":["video.deleted"]}`, 422, "url must be an absolute http(s) URL"},
	{"url unparsable", `{"url":"http://exa mple.test/","events":["video.deleted"]}`, 422, "url must be an absolute http(s) URL"},
	{"events missing", `{"url":"http://x.test/"}`, 422, "events must list at least one event type"},
	{"events empty", `{"url":"http://x.test/","events":[]}`, 422, "events must list at least one event type"},
	{"event unknown", `{"url":"http://x.test/","events":["video.deleted","video.exploded"]}`, 422, `unknown event type "video.exploded"`},
	{"event wrong case", `{"url":"http://x.test/","events":["VIDEO.DELETED"]}`, 422, `unknown event type "VIDEO.DELETED"`},
	{"too large", `{"url":"http://x.test/","description":"` + strings.Repeat("a", maxRequestBody) + `","events":["video.deleted"]}`, 413, "request body is larger than 1048576 bytes"},
}

func checkMessage(t *testing.T, a answer, status int, msg string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d (%s)", a.status, status, a.body)
	}
	got := a.message(t)
	if p, ok := strings.CutSuffix(msg, "*"); ok {
		if !strings.HasPrefix(got, p) {
			t.Errorf("message = %q, want prefix %q", got, p)
		}
	} else if got != msg {
		t.Errorf("message = %q, want %q", got, msg)
	}
}

func TestCreateValidation(t *testing.T) {
	s := startEmu(t, Options{})
	for _, tt := range validationCases {
		t.Run(tt.name, func(t *testing.T) {
			checkMessage(t, call(t, s, "POST", "/company/client/webhooks", tt.body), tt.status, tt.msg)
		})
	}
	if n := len(s.Endpoints()); n != 0 {
		t.Errorf("%d endpoints created by invalid requests", n)
	}
}

func TestUpdateBothSpellings(t *testing.T) {
	for _, prefix := range []string{"/company/company/webhooks/", "/company/client/webhooks/"} {
		t.Run(prefix, func(t *testing.T) {
			s := startEmu(t, Options{})
			ep := create(t, s, "http://old.test/hook", omega.TypeDeleted)

			a := call(t, s, "PUT", prefix+ep.ID,
				`{"url":"https://new.test/hook","description":"renamed","events":["video.uploaded","video.process_failed"]}`)
			if a.status != 200 {
				t.Fatalf("update = %d %s", a.status, a.body)
			}
			got := decode[omega.Endpoint](t, a)
			if got.ID != ep.ID || got.URL != "https://new.test/hook" || got.Desc() != "renamed" ||
				strings.Join(got.Events, ",") != "video.uploaded,video.process_failed" || !got.Active || got.COID != ep.COID {
				t.Errorf("updated = %+v", got)
			}
			if !got.CreatedAt.Equal(ep.CreatedAt) {
				t.Errorf("created_at changed: %v -> %v", ep.CreatedAt, got.CreatedAt)
			}
			if !got.UpdatedAt.After(ep.UpdatedAt) {
				t.Errorf("updated_at not bumped: %v -> %v", ep.UpdatedAt, got.UpdatedAt)
			}
			if snap := s.Endpoints(); len(snap) != 1 || snap[0].URL != "https://new.test/hook" {
				t.Errorf("Endpoints() = %+v", snap)
			}

			// Clearing the description makes it null again.
			a = call(t, s, "PUT", prefix+ep.ID, `{"url":"https://new.test/hook","description":"","events":["video.uploaded"]}`)
			if raw := decode[map[string]any](t, a); raw["description"] != nil {
				t.Errorf("description = %v, want null", raw["description"])
			}

			checkMessage(t, call(t, s, "PUT", prefix+"000000000000000000000000", `{"url":"http://x.test/","events":["video.deleted"]}`),
				404, "webhook endpoint not found")
			for _, tt := range validationCases {
				t.Run(tt.name, func(t *testing.T) {
					checkMessage(t, call(t, s, "PUT", prefix+ep.ID, tt.body), tt.status, tt.msg)
				})
			}
		})
	}
}

func TestDeleteBothSpellings(t *testing.T) {
	for _, prefix := range []string{"/company/company/webhooks/", "/company/client/webhooks/"} {
		t.Run(prefix, func(t *testing.T) {
			s := startEmu(t, Options{})
			ep := create(t, s, "http://a.test/hook", omega.TypeDeleted)
			keep := create(t, s, "http://b.test/hook", omega.TypeDeleted)

			checkMessage(t, call(t, s, "DELETE", prefix+ep.ID, ""), 200, "webhook endpoint deleted")
			checkMessage(t, call(t, s, "DELETE", prefix+ep.ID, ""), 404, "webhook endpoint not found")
			list := decode[[]omega.Endpoint](t, call(t, s, "GET", "/company/client/webhooks/all", ""))
			if len(list) != 1 || list[0].ID != keep.ID {
				t.Errorf("list after delete = %+v", list)
			}
			checkMessage(t, call(t, s, "GET", "/company/client/webhooks/"+ep.ID, ""), 404, "webhook endpoint not found")
		})
	}
}

func TestStatusBothSpellings(t *testing.T) {
	for _, prefix := range []string{"/company/company/webhooks/", "/company/client/webhooks/"} {
		t.Run(prefix, func(t *testing.T) {
			s := startEmu(t, Options{})
			ep := create(t, s, "http://a.test/hook", omega.TypeDeleted)

			prev := ep.UpdatedAt
			for _, active := range []bool{false, false, true} {
				a := call(t, s, "POST", prefix+ep.ID+"/status", mustJSON(t, map[string]bool{"active": active}))
				if a.status != 200 {
					t.Fatalf("status %v = %d %s", active, a.status, a.body)
				}
				got := decode[omega.Endpoint](t, a)
				if got.Active != active || got.ID != ep.ID || got.URL != ep.URL {
					t.Errorf("after active=%v: %+v", active, got)
				}
				if !got.UpdatedAt.After(prev) {
					t.Errorf("updated_at not bumped: %v -> %v", prev, got.UpdatedAt)
				}
				prev = got.UpdatedAt
				if s.Endpoints()[0].Active != active {
					t.Errorf("Endpoints() active = %v, want %v", !active, active)
				}
			}

			for _, tt := range []struct{ name, body string }{
				{"empty object", `{}`},
				{"null", `{"active":null}`},
				{"string", `{"active":"false"}`},
				{"number", `{"active":0}`},
				{"json null", `null`},
			} {
				t.Run(tt.name, func(t *testing.T) {
					a := call(t, s, "POST", prefix+ep.ID+"/status", tt.body)
					if a.status != 400 || a.message(t) == "" {
						t.Errorf("= %d %s, want 400 with a message", a.status, a.body)
					}
				})
			}
			checkMessage(t, call(t, s, "POST", prefix+ep.ID+"/status", `{}`), 400,
				`active is required: send {"active": true} or {"active": false}`)
			checkMessage(t, call(t, s, "POST", prefix+ep.ID+"/status", ""), 400, "request body is empty; send a JSON object")
			checkMessage(t, call(t, s, "POST", prefix+"000000000000000000000000/status", `{"active":true}`), 404, "webhook endpoint not found")
		})
	}
}

func TestOnlyClientPaths(t *testing.T) {
	s := startEmu(t, Options{OnlyClientPaths: true})
	ep := create(t, s, "http://a.test/hook", omega.TypeDeleted)
	doc := "/company/company/webhooks/" + ep.ID
	cli := "/company/client/webhooks/" + ep.ID

	for _, tt := range []struct{ method, path, body string }{
		{"PUT", doc, `{"url":"http://b.test/","events":["video.deleted"]}`},
		{"POST", doc + "/status", `{"active":false}`},
		{"DELETE", doc, ""},
	} {
		a := call(t, s, tt.method, tt.path, tt.body)
		if a.status != 404 || a.message(t) == "" {
			t.Errorf("%s %s = %d %s, want 404 with a message", tt.method, tt.path, a.status, a.body)
		}
	}
	if got := s.Endpoints()[0]; got.URL != "http://a.test/hook" || !got.Active {
		t.Fatalf("documented spelling changed the endpoint: %+v", got)
	}

	if a := call(t, s, "PUT", cli, `{"url":"http://b.test/","events":["video.deleted"]}`); a.status != 200 {
		t.Errorf("client-path update = %d %s", a.status, a.body)
	}
	if a := call(t, s, "POST", cli+"/status", `{"active":false}`); a.status != 200 {
		t.Errorf("client-path status = %d %s", a.status, a.body)
	}
	checkMessage(t, call(t, s, "DELETE", cli, ""), 200, "webhook endpoint deleted")
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	s := startEmu(t, Options{})
	ep := create(t, s, "http://a.test/hook", omega.TypeDeleted)
	id := ep.ID

	for _, path := range []string{
		"/",
		"/company",
		"/company/",
		"/company/webhooks",
		"/company/client",
		"/company/client/webhooks/",
		"/company/client/webhooks//status",
		"/company/client/webhooks/" + id + "/nope",
		"/company/client/webhooks/" + id + "/events",
		"/company/client/webhooks/" + id + "/events/x/y",
		"/company/company/webhooks",
		"/company/company/webhooks/" + id + "/events/x",
		"/company/_emulator",
		"/other/client/webhooks/all",
		"/client/webhooks/all",
	} {
		a := call(t, s, "GET", path, "")
		if a.status != 404 || a.message(t) == "" {
			t.Errorf("GET %s = %d %s, want 404 JSON", path, a.status, a.body)
		}
	}

	for _, tt := range []struct{ method, path, allow string }{
		{"GET", "/company/client/webhooks", "POST"},
		{"PUT", "/company/client/webhooks", "POST"},
		{"POST", "/company/client/webhooks/all", "GET"},
		{"DELETE", "/company/client/webhooks/all", "GET"},
		{"POST", "/company/client/webhooks/" + id, "DELETE, GET, PUT"},
		{"PATCH", "/company/client/webhooks/" + id, "DELETE, GET, PUT"},
		{"GET", "/company/company/webhooks/" + id, "DELETE, PUT"},
		{"GET", "/company/company/webhooks/" + id + "/status", "POST"},
		{"PUT", "/company/client/webhooks/" + id + "/status", "POST"},
		{"DELETE", "/company/client/webhooks/" + id + "/events/x", "GET"},
		{"GET", "/company/_emulator/deliver", "POST"},
	} {
		a := call(t, s, tt.method, tt.path, "")
		if a.status != 405 || a.message(t) == "" {
			t.Errorf("%s %s = %d %s, want 405 JSON", tt.method, tt.path, a.status, a.body)
		}
		if got := a.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
	if len(s.Endpoints()) != 1 {
		t.Errorf("wrong-method requests changed state: %+v", s.Endpoints())
	}
}

func TestStartListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if s, err := Start(ln.Addr().String(), Options{}); err == nil {
		s.Close()
		t.Fatalf("Start on a busy address succeeded")
	} else if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not name the address", err)
	}
}

func TestStartBaseURL(t *testing.T) {
	s := startEmu(t, Options{})
	if want := "http://" + s.Addr + "/company"; s.BaseURL != want || !strings.HasPrefix(s.Addr, "127.0.0.1:") {
		t.Errorf("BaseURL = %q Addr = %q", s.BaseURL, s.Addr)
	}
	req, _ := http.NewRequest("GET", s.BaseURL+"/client/webhooks/all", nil)
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET BaseURL/client/webhooks/all = %d", resp.StatusCode)
	}
}

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:80":  "127.0.0.1:80",
		"0.0.0.0:8080":  "127.0.0.1:8080",
		"[::]:8080":     "127.0.0.1:8080",
		"[::1]:8080":    "[::1]:8080",
		"localhost:123": "localhost:123",
		"garbage":       "garbage",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestServeHTTPDirect(t *testing.T) {
	// The handler works without Start, mounted anywhere that keeps the path.
	e := New(Options{APIKey: "k"})
	req, _ := http.NewRequest("POST", "/company/client/webhooks", bytes.NewReader([]byte(`{"url":"http://a.test/","events":["video.deleted"]}`)))
	req.Header.Set("Authorization", "Bearer k")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != 200 || len(e.Endpoints()) != 1 {
		t.Errorf("direct create = %d %s", rec.Code, rec.Body.String())
	}
}
