package omega

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "sk_test_0123456789abcdef"

// seen is one request as the stub server received it.
type seen struct {
	Method, Path         string // Path is the escaped path
	Auth, CT, Accept, UA string
	Body                 string
}

// stub is an httptest server that records requests and answers with reply.
type stub struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []seen
	reply func(w http.ResponseWriter, r *http.Request, n int) // n counts from 1
}

func newStub(t *testing.T, reply func(w http.ResponseWriter, r *http.Request, n int)) *stub {
	t.Helper()
	s := &stub{reply: reply}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{
			Method: r.Method, Path: r.URL.EscapedPath(),
			Auth: r.Header.Get("Authorization"), CT: r.Header.Get("Content-Type"),
			Accept: r.Header.Get("Accept"), UA: r.Header.Get("User-Agent"),
			Body: string(b),
		})
		n := len(s.reqs)
		s.mu.Unlock()
		s.reply(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stub) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

func (s *stub) paths() []string {
	var out []string
	for _, r := range s.requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// testClient returns a client for base whose waits are recorded, not slept.
func testClient(t *testing.T, base string, mod ...func(*Options)) (*Client, *[]time.Duration) {
	t.Helper()
	o := Options{BaseURL: base + "/company", APIKey: testKey, UserAgent: "omega-listen/test",
		Retry: RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 8 * time.Millisecond}}
	for _, m := range mod {
		m(&o)
	}
	c, err := NewClient(o)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	var mu sync.Mutex
	waits := &[]time.Duration{}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return c, waits
}

const endpointJSON = `{"id":"6323940afc8e1c02d9f3b155","created_at":"2022-09-15T21:07:22.823797Z",
 "updated_at":"2022-09-15T21:07:22.824194Z","coid":"omega-cop-OyJrgi5-fx",
 "url":"http://localhost:6060/webhook","description":null,
 "events":["video.process_failed","video.process_succeeded"],"active":true}`

const eventJSON = `{"id":"630fac88bd5bb64cf8b24b99","coid":"omega-cop-OyJrgi5-fx","api_version":"v1",
 "created":1661971592,"created_at":"0001-01-01T00:00:00Z","type":"video.process_failed",
 "data":{"video":{"id":"v1","status":"process-failed"}},"endpoint_id":"ep 1/x",
 "response":{"status_code":200,"status":"200 OK","body":"webhook received\n","message":"ok"}}`

func TestNewClientOptions(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		key     string
		want    string // BaseURL(), if no error
		wantErr string
	}{
		{"default base", "", testKey, DefaultBaseURL, ""},
		{"trailing slash trimmed", "https://api.example.com/company/", testKey, "https://api.example.com/company", ""},
		{"loopback http", "http://127.0.0.1:8080", testKey, "http://127.0.0.1:8080", ""},
		{"relative", "api.example.com/company", testKey, "", "scheme must be http or https"},
		{"ftp", "ftp://example.com", testKey, "", "scheme must be http or https"},
		{"no host", "https:///company", testKey, "", "no host"},
		{"query", "https://example.com/company?x=1", testKey, "", "query"},
		{"fragment", "https://example.com/company#x", testKey, "", "fragment"},
		{"credentials", "https://u:p@example.com/company", testKey, "", "credentials"},
		{"unparsable", "https://exa mple.com", testKey, "", "invalid Omega base URL"},
		{"no key", "", "", "", "no Omega API key"},
		{"blank key", "", " \n", "", "no Omega API key"},
		{"key with space", "", "abc def", "", "spaces or control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(Options{BaseURL: tt.base, APIKey: tt.key})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				var be *BaseURLError
				switch {
				case strings.TrimSpace(tt.key) == "" && !errors.Is(err, ErrNoAPIKey):
					t.Errorf("err = %v, want ErrNoAPIKey", err)
				case tt.key == "abc def" && !errors.Is(err, ErrBadAPIKey):
					t.Errorf("err = %v, want ErrBadAPIKey", err)
				case tt.key == testKey && (!errors.As(err, &be) || be.URL != tt.base):
					t.Errorf("err = %v, want a BaseURLError for %q", err, tt.base)
				}
				if strings.Contains(err.Error(), "--") || strings.Contains(err.Error(), "OMEGA_") {
					t.Errorf("err = %q names a flag or variable: the command layer does that", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.BaseURL(); got != tt.want {
				t.Errorf("BaseURL() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	in := EndpointInput{URL: "https://x.example/omega/tok", Description: "omega-listen", Events: []string{TypeProcessSucceeded}}
	inJSON := `{"url":"https://x.example/omega/tok","description":"omega-listen","events":["video.process_succeeded"]}`
	tests := []struct {
		name     string
		call     func(context.Context, *Client) (any, error)
		answer   string
		method   string
		path     string
		body     string
		validate func(t *testing.T, got any)
	}{
		{
			name:   "create",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.CreateEndpoint(ctx, in) },
			answer: endpointJSON, method: "POST", path: "/company/client/webhooks", body: inJSON,
			validate: func(t *testing.T, got any) {
				ep := got.(*Endpoint)
				if ep.ID != "6323940afc8e1c02d9f3b155" || !ep.Active || len(ep.Events) != 2 || ep.Desc() != "" {
					t.Errorf("endpoint = %+v", ep)
				}
			},
		},
		{
			name: "create with nil events sends []",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateEndpoint(ctx, EndpointInput{URL: "u"})
			},
			answer: endpointJSON, method: "POST", path: "/company/client/webhooks", body: `{"url":"u","events":[]}`,
		},
		{
			name:   "list endpoints",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListEndpoints(ctx) },
			answer: "[" + endpointJSON + "," + endpointJSON + "]", method: "GET", path: "/company/client/webhooks/all",
			validate: func(t *testing.T, got any) {
				if eps := got.([]Endpoint); len(eps) != 2 || eps[1].URL != "http://localhost:6060/webhook" {
					t.Errorf("endpoints = %+v", eps)
				}
			},
		},
		{
			name:   "list endpoints null",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListEndpoints(ctx) },
			answer: "null", method: "GET", path: "/company/client/webhooks/all",
			validate: func(t *testing.T, got any) {
				if eps := got.([]Endpoint); eps == nil || len(eps) != 0 {
					t.Errorf("endpoints = %#v, want empty non-nil", eps)
				}
			},
		},
		{
			name:   "update",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.UpdateEndpoint(ctx, "6323940a", in) },
			answer: endpointJSON, method: "PUT", path: "/company/company/webhooks/6323940a", body: inJSON,
			validate: func(t *testing.T, got any) {
				if ep := got.(*Endpoint); ep == nil || ep.ID != "6323940afc8e1c02d9f3b155" {
					t.Errorf("endpoint = %+v", ep)
				}
			},
		},
		{
			name:   "update with message answer",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.UpdateEndpoint(ctx, "6323940a", in) },
			answer: `{"message":"updated"}`, method: "PUT", path: "/company/company/webhooks/6323940a", body: inJSON,
			validate: func(t *testing.T, got any) {
				if ep := got.(*Endpoint); ep != nil {
					t.Errorf("endpoint = %+v, want nil", ep)
				}
			},
		},
		{
			name:   "delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteEndpoint(ctx, "6323940a") },
			answer: `{"message": "webhook endpoint deleted"}`, method: "DELETE", path: "/company/company/webhooks/6323940a",
		},
		{
			name:   "activate",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.SetEndpointActive(ctx, "6323940a", true) },
			answer: endpointJSON, method: "POST", path: "/company/company/webhooks/6323940a/status", body: `{"active":true}`,
			validate: func(t *testing.T, got any) {
				if ep := got.(*Endpoint); ep == nil || ep.ID == "" {
					t.Errorf("endpoint = %+v", ep)
				}
			},
		},
		{
			name:   "deactivate",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.SetEndpointActive(ctx, "6323940a", false) },
			answer: `{"message":"ok"}`, method: "POST", path: "/company/company/webhooks/6323940a/status", body: `{"active":false}`,
			validate: func(t *testing.T, got any) {
				if ep := got.(*Endpoint); ep != nil {
					t.Errorf("endpoint = %+v, want nil", ep)
				}
			},
		},
		{
			name:   "list events",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListEvents(ctx, "ep 1/x") },
			answer: `[{"id":"e1","ocid":"omega-cop-1","type":"video.deleted","created":5,"data":null,"response":null}]`,
			method: "GET", path: "/company/client/webhooks/ep%201%2Fx",
			validate: func(t *testing.T, got any) {
				evs := got.([]Event)
				if len(evs) != 1 || evs[0].COID != "omega-cop-1" || evs[0].Data != nil || evs[0].Response != nil {
					t.Errorf("events = %+v", evs)
				}
			},
		},
		{
			name:   "get event",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.GetEvent(ctx, "ep 1/x", "630f?ac") },
			answer: eventJSON, method: "GET", path: "/company/client/webhooks/ep%201%2Fx/events/630f%3Fac",
			validate: func(t *testing.T, got any) {
				ev := got.(*Event)
				if ev.ID != "630fac88bd5bb64cf8b24b99" || ev.Response == nil || ev.Response.StatusCode != 200 || ev.Video() == nil {
					t.Errorf("event = %+v", ev)
				}
				if !ev.When().Equal(time.Unix(1661971592, 0)) {
					t.Errorf("When() = %v", ev.When())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, tt.answer) })
			c, _ := testClient(t, s.URL)
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := s.requests()
			if len(reqs) != 1 {
				t.Fatalf("requests = %v, want 1", s.paths())
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != tt.path {
				t.Errorf("request = %s %s, want %s %s", r.Method, r.Path, tt.method, tt.path)
			}
			if r.Auth != "Bearer "+testKey {
				t.Errorf("Authorization = %q", r.Auth)
			}
			if r.CT != "application/json" || r.Accept != "application/json" {
				t.Errorf("Content-Type = %q, Accept = %q", r.CT, r.Accept)
			}
			if r.UA != "omega-listen/test" {
				t.Errorf("User-Agent = %q", r.UA)
			}
			if r.Body != tt.body {
				t.Errorf("body = %s, want %s", r.Body, tt.body)
			}
			if tt.validate != nil {
				tt.validate(t, got)
			}
		})
	}
}

func TestDefaultUserAgent(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, "[]") })
	c, err := NewClient(Options{BaseURL: s.URL, APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListEndpoints(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ua := s.requests()[0].UA; ua != DefaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", ua, DefaultUserAgent)
	}
}

func TestBadIDsRejectedWithoutRequest(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, "{}") })
	c, _ := testClient(t, s.URL)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"update empty", func() error { _, err := c.UpdateEndpoint(ctx, "", EndpointInput{}); return err }},
		{"delete dotdot", func() error { return c.DeleteEndpoint(ctx, "..") }},
		{"status dot", func() error { _, err := c.SetEndpointActive(ctx, ".", true); return err }},
		{"list events all", func() error { _, err := c.ListEvents(ctx, "all"); return err }},
		{"get event blank", func() error { _, err := c.GetEvent(ctx, "ep", " "); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
}

func TestAuthError(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantMsg string
	}{
		{"401 with message", 401, `{"message":"invalid token"}`, `401 Unauthorized: "invalid token"`},
		{"403 with error", 403, `{"error":"forbidden"}`, `403 Forbidden: "forbidden"`},
		{"401 empty", 401, ``, `(401 Unauthorized)`},
		{"401 echoing the key", 401, `{"message":"bad key ` + testKey + `"}`, `bad key [redacted]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, tt.status, tt.body) })
			c, _ := testClient(t, s.URL)
			_, err := c.ListEndpoints(context.Background())
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *AuthError", err, err)
			}
			if ae.Status != tt.status {
				t.Errorf("Status = %d", ae.Status)
			}
			msg := err.Error()
			for _, want := range []string{"Omega rejected the API key", "valid Omega API key", tt.wantMsg} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, testKey) {
				t.Errorf("error contains the key: %q", msg)
			}
			if n := len(s.requests()); n != 1 {
				t.Errorf("%d attempts, want 1 (auth errors are not retried)", n)
			}
		})
	}
}

func TestAPIError(t *testing.T) {
	tests := []struct {
		name, ct, body string
		status         int
		wantMessage    string
		wantInError    []string
	}{
		{"message verbatim", "application/json", `{"message":"url is not valid"}`, 422, "url is not valid",
			[]string{"422 Unprocessable Entity", "POST /company/client/webhooks", ": url is not valid"}},
		{"error member", "application/json", `{"error":"events must not be empty"}`, 400, "events must not be empty", nil},
		{"nested error message", "application/json", `{"error":{"message":"nope"}}`, 400, "nope", nil},
		{"plain text", "text/plain", "bad request\n", 400, "bad request", nil},
		{"plain text inner newline", "text/plain", "bad\nrequest", 400, `bad\nrequest`, nil},
		{"html", "text/html", "<html><body>Bad gateway</body></html>", 418, "(an HTML page: <html><body>Bad gateway</body></html>)", nil},
		{"control characters escaped", "application/json", `{"message":"a\u001b[31mb"}`, 400, `a\x1b[31mb`, nil},
		{"empty", "", "", 409, "", []string{"409 Conflict"}},
		{"404 hint", "application/json", `{"message":"no such webhook"}`, 404, "no such webhook", []string{"not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if tt.ct != "" {
					w.Header().Set("Content-Type", tt.ct)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			c, _ := testClient(t, s.URL)
			_, err := c.CreateEndpoint(context.Background(), EndpointInput{URL: "x", Events: []string{TypeProcessFailed}})
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if ae.Status != tt.status || ae.Message != tt.wantMessage || ae.Method != "POST" || ae.Path != "/company/client/webhooks" {
				t.Errorf("APIError = %+v, want status %d message %q", ae, tt.status, tt.wantMessage)
			}
			if ae.Body != tt.body {
				t.Errorf("Body = %q, want %q", ae.Body, tt.body)
			}
			for _, want := range tt.wantInError {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if got, want := IsNotFound(err), tt.status == 404; got != want {
				t.Errorf("IsNotFound = %v, want %v", got, want)
			}
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Redirect(w, r, "https://elsewhere.example/login", http.StatusFound)
	})
	c, _ := testClient(t, s.URL)
	_, err := c.ListEndpoints(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 302 {
		t.Fatalf("err = %v, want APIError 302", err)
	}
	if !strings.Contains(err.Error(), "check the base URL") {
		t.Errorf("error %q does not point at the base URL", err)
	}
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// pathStub answers 404 to every path under /company/company/ unless
// companyWorks, and serves everything else with ok.
func pathStub(t *testing.T, companyWorks bool, ok string) *stub {
	return newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if strings.HasPrefix(r.URL.Path, "/company/company/") && !companyWorks {
			writeJSON(w, 404, `{"message":"Cannot `+r.Method+` `+r.URL.Path+`"}`)
			return
		}
		writeJSON(w, 200, ok)
	})
}

func TestPathFallback(t *testing.T) {
	ctx := context.Background()
	type op struct {
		name string
		call func(*Client) error
		tail string // path after .../webhooks/
		meth string
	}
	ops := []op{
		{"update", func(c *Client) error { _, err := c.UpdateEndpoint(ctx, "ep1", EndpointInput{URL: "u"}); return err }, "ep1", "PUT"},
		{"delete", func(c *Client) error { return c.DeleteEndpoint(ctx, "ep1") }, "ep1", "DELETE"},
		{"status", func(c *Client) error { _, err := c.SetEndpointActive(ctx, "ep1", false); return err }, "ep1/status", "POST"},
	}
	for _, first := range ops {
		t.Run(first.name, func(t *testing.T) {
			s := pathStub(t, false, endpointJSON)
			c, _ := testClient(t, s.URL)
			if err := first.call(c); err != nil {
				t.Fatalf("first call: %v", err)
			}
			want := []string{
				first.meth + " /company/company/webhooks/" + first.tail,
				first.meth + " /company/client/webhooks/" + first.tail,
			}
			// Every later call goes straight to the spelling that worked.
			for _, o := range ops {
				if err := o.call(c); err != nil {
					t.Fatalf("%s: %v", o.name, err)
				}
				want = append(want, o.meth+" /company/client/webhooks/"+o.tail)
			}
			if got := s.paths(); !equal(got, want) {
				t.Errorf("requests:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestPathFallbackBoth404(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 404, `{"message":"webhook not found"}`)
	})
	c, _ := testClient(t, s.URL)
	for range 2 {
		err := c.DeleteEndpoint(context.Background(), "nope")
		if !IsNotFound(err) {
			t.Fatalf("err = %v, want not found", err)
		}
		var ae *APIError
		errors.As(err, &ae)
		if ae.Path != "/company/client/webhooks/nope" || ae.Message != "webhook not found" {
			t.Errorf("APIError = %+v, want the fallback's 404", ae)
		}
	}
	// Nothing was learned, so the second call tried both spellings again.
	want := []string{
		"DELETE /company/company/webhooks/nope", "DELETE /company/client/webhooks/nope",
		"DELETE /company/company/webhooks/nope", "DELETE /company/client/webhooks/nope",
	}
	if got := s.paths(); !equal(got, want) {
		t.Errorf("requests:\n got %q\nwant %q", got, want)
	}
}

func TestPathFallback405KeepsFirst404(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if strings.HasPrefix(r.URL.Path, "/company/client/") {
			writeJSON(w, 405, `{"message":"method not allowed"}`)
			return
		}
		writeJSON(w, 404, `{"message":"webhook not found"}`)
	})
	c, _ := testClient(t, s.URL)
	err := c.DeleteEndpoint(context.Background(), "nope")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Path != "/company/company/webhooks/nope" {
		t.Fatalf("err = %v, want the documented path's 404", err)
	}
}

func TestKnownGoodSpelling404IsNotFound(t *testing.T) {
	tests := []struct {
		name         string
		companyWorks bool
		wantPath     string
	}{
		{"client learned", false, "/company/client/webhooks/gone"},
		{"company learned", true, "/company/company/webhooks/gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gone := false
			var mu sync.Mutex
			s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
				mu.Lock()
				defer mu.Unlock()
				if gone || (strings.HasPrefix(r.URL.Path, "/company/company/") && !tt.companyWorks) {
					writeJSON(w, 404, `{"message":"not found"}`)
					return
				}
				writeJSON(w, 200, `{}`)
			})
			c, _ := testClient(t, s.URL)
			if err := c.DeleteEndpoint(context.Background(), "first"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			gone = true
			mu.Unlock()
			before := len(s.requests())
			err := c.DeleteEndpoint(context.Background(), "gone")
			if !IsNotFound(err) {
				t.Fatalf("err = %v, want not found", err)
			}
			after := s.requests()[before:]
			if len(after) != 1 || after[0].Path != tt.wantPath {
				t.Errorf("requests after learning = %+v, want one to %s", after, tt.wantPath)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		reply        func(w http.ResponseWriter, n int)
		call         func(*Client) error
		wantAttempts int
		wantErr      bool
		wantStatus   int
	}{
		{
			name: "GET 503 twice then 200",
			reply: func(w http.ResponseWriter, n int) {
				if n <= 2 {
					writeJSON(w, 503, `{"message":"busy"}`)
					return
				}
				writeJSON(w, 200, `[]`)
			},
			call:         func(c *Client) error { _, err := c.ListEndpoints(ctx); return err },
			wantAttempts: 3,
		},
		{
			name:         "GET 503 always gives up after MaxAttempts",
			reply:        func(w http.ResponseWriter, n int) { writeJSON(w, 503, `{"message":"busy"}`) },
			call:         func(c *Client) error { _, err := c.ListEvents(ctx, "ep"); return err },
			wantAttempts: 4, wantErr: true, wantStatus: 503,
		},
		{
			name:         "create 503 is not retried",
			reply:        func(w http.ResponseWriter, n int) { writeJSON(w, 503, `{"message":"busy"}`) },
			call:         func(c *Client) error { _, err := c.CreateEndpoint(ctx, EndpointInput{URL: "u"}); return err },
			wantAttempts: 1, wantErr: true, wantStatus: 503,
		},
		{
			name: "PUT 429 then 200",
			reply: func(w http.ResponseWriter, n int) {
				if n == 1 {
					writeJSON(w, 429, `{"message":"slow down"}`)
					return
				}
				writeJSON(w, 200, endpointJSON)
			},
			call:         func(c *Client) error { _, err := c.UpdateEndpoint(ctx, "ep", EndpointInput{URL: "u"}); return err },
			wantAttempts: 2,
		},
		{
			name: "DELETE 502 then 200",
			reply: func(w http.ResponseWriter, n int) {
				if n == 1 {
					writeJSON(w, 502, ``)
					return
				}
				writeJSON(w, 200, `{}`)
			},
			call:         func(c *Client) error { return c.DeleteEndpoint(ctx, "ep") },
			wantAttempts: 2,
		},
		{
			name: "status POST 500 then 200",
			reply: func(w http.ResponseWriter, n int) {
				if n == 1 {
					writeJSON(w, 500, ``)
					return
				}
				writeJSON(w, 200, `{}`)
			},
			call:         func(c *Client) error { _, err := c.SetEndpointActive(ctx, "ep", true); return err },
			wantAttempts: 2,
		},
		{
			name:         "GET 422 is not retried",
			reply:        func(w http.ResponseWriter, n int) { writeJSON(w, 422, `{"message":"bad"}`) },
			call:         func(c *Client) error { _, err := c.GetEvent(ctx, "ep", "ev"); return err },
			wantAttempts: 1, wantErr: true, wantStatus: 422,
		},
		{
			name: "GET connection dropped then 200",
			reply: func(w http.ResponseWriter, n int) {
				if n == 1 {
					hangUp(w)
					return
				}
				writeJSON(w, 200, `[]`)
			},
			call:         func(c *Client) error { _, err := c.ListEndpoints(ctx); return err },
			wantAttempts: 2,
		},
		{
			name:         "create connection dropped is not retried",
			reply:        func(w http.ResponseWriter, n int) { hangUp(w) },
			call:         func(c *Client) error { _, err := c.CreateEndpoint(ctx, EndpointInput{URL: "u"}); return err },
			wantAttempts: 1, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) { tt.reply(w, n) })
			c, waits := testClient(t, s.URL, func(o *Options) {
				// A fresh connection per request, so a dropped one is not
				// mistaken for a stale keep-alive and silently re-sent.
				o.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			})
			err := tt.call(c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got := len(s.requests()); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
			if got := len(*waits); got != tt.wantAttempts-1 {
				t.Errorf("waits = %v, want %d", *waits, tt.wantAttempts-1)
			}
			for _, d := range *waits {
				if d < 0 || d > c.retry.MaxDelay {
					t.Errorf("wait %v outside [0, %v]", d, c.retry.MaxDelay)
				}
			}
			if tt.wantStatus != 0 {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != tt.wantStatus {
					t.Errorf("err = %v, want APIError %d", err, tt.wantStatus)
				}
			}
		})
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   time.Duration // 0: the jittered backoff, checked for range only
	}{
		{"seconds under the cap", "2", 2 * time.Second},
		{"seconds capped", "120", 5 * time.Second},
		{"huge capped", "99999999999999999", 5 * time.Second},
		{"date capped", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 5 * time.Second},
		{"zero falls back to backoff", "0", 0},
		{"garbage falls back to backoff", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					w.Header().Set("Retry-After", tt.header)
					writeJSON(w, 429, `{"message":"slow down"}`)
					return
				}
				writeJSON(w, 200, `[]`)
			})
			c, waits := testClient(t, s.URL, func(o *Options) {
				o.Retry = RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Second}
			})
			if _, err := c.ListEndpoints(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(*waits) != 1 {
				t.Fatalf("waits = %v, want 1", *waits)
			}
			got := (*waits)[0]
			if tt.want != 0 && got != tt.want {
				t.Errorf("wait = %v, want %v", got, tt.want)
			}
			if tt.want == 0 && (got < 0 || got > time.Millisecond) {
				t.Errorf("wait = %v, want the backoff in [0, 1ms]", got)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.withDefaults()
	for n := 1; n <= 70; n++ {
		ceil := min(p.MaxDelay, p.BaseDelay<<min(n-1, 20))
		for range 50 {
			if d := p.backoff(n); d < 0 || d > ceil {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", n, d, ceil)
			}
		}
	}
}

func TestRetryPolicyDefaults(t *testing.T) {
	got := RetryPolicy{}.withDefaults()
	want := RetryPolicy{MaxAttempts: 4, BaseDelay: 250 * time.Millisecond, MaxDelay: 4 * time.Second}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
}

func TestDecodeError(t *testing.T) {
	html := "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body>" + strings.Repeat("x", 300) + "</body></html>"
	tests := []struct {
		name, ct, body string
		call           func(*Client) error
		wantInError    []string
	}{
		{
			name: "html on list", ct: "text/html; charset=utf-8", body: html,
			call: func(c *Client) error { _, err := c.ListEndpoints(context.Background()); return err },
			wantInError: []string{"200 OK", "text/html; charset=utf-8", `<!DOCTYPE html>\n<html><head><title>Welcome to nginx!`, "…", "Is the base URL right?",
				"GET /company/client/webhooks/all"},
		},
		{
			name: "empty on create", ct: "application/json", body: "",
			call: func(c *Client) error {
				_, err := c.CreateEndpoint(context.Background(), EndpointInput{URL: "u"})
				return err
			},
			wantInError: []string{"empty body", "empty answer"},
		},
		{
			name: "object without id on create", ct: "application/json", body: `{"message":"created"}`,
			call: func(c *Client) error {
				_, err := c.CreateEndpoint(context.Background(), EndpointInput{URL: "u"})
				return err
			},
			wantInError: []string{"no endpoint id"},
		},
		{
			name: "object instead of array", ct: "application/json", body: `{"data":[]}`,
			call:        func(c *Client) error { _, err := c.ListEvents(context.Background(), "ep"); return err },
			wantInError: []string{`{"data":[]}`},
		},
		{
			name: "html on update", ct: "text/html", body: "<p>hi</p>",
			call: func(c *Client) error {
				_, err := c.UpdateEndpoint(context.Background(), "ep", EndpointInput{URL: "u"})
				return err
			},
			wantInError: []string{"<p>hi</p>"},
		},
		{
			name: "event without id", ct: "application/json", body: `{"message":"not found"}`,
			call:        func(c *Client) error { _, err := c.GetEvent(context.Background(), "ep", "ev"); return err },
			wantInError: []string{"no event id"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Type", tt.ct)
				io.WriteString(w, tt.body)
			})
			c, _ := testClient(t, s.URL)
			err := tt.call(c)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v (%T), want *DecodeError", err, err)
			}
			if de.Status != 200 || de.ContentType != tt.ct {
				t.Errorf("DecodeError = %+v", de)
			}
			// 120 bytes of input, each escaped to at most 6.
			if len(de.Snippet) > 6*snippetLen+len("…") {
				t.Errorf("snippet is %d bytes long", len(de.Snippet))
			}
			for _, want := range tt.wantInError {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if n := len(s.requests()); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
		})
	}
}

func TestStatusAnswerUndocumented(t *testing.T) {
	tests := []struct {
		name, ct, body string
		wantEndpoint   bool
	}{
		{"endpoint", "application/json", endpointJSON, true},
		{"message", "application/json", `{"message":"status updated"}`, false},
		{"empty", "", "", false},
		{"html", "text/html", "<p>ok</p>", false},
		{"true", "application/json", "true", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Type", tt.ct)
				io.WriteString(w, tt.body)
			})
			c, _ := testClient(t, s.URL)
			ep, err := c.SetEndpointActive(context.Background(), "ep", true)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if (ep != nil) != tt.wantEndpoint {
				t.Errorf("endpoint = %+v, want endpoint: %v", ep, tt.wantEndpoint)
			}
		})
	}
}

func TestAnswerTooLarge(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "[")
		chunk := strings.Repeat(" ", 64<<10)
		for range (maxAnswer / len(chunk)) + 2 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		io.WriteString(w, "]")
	})
	c, _ := testClient(t, s.URL)
	_, err := c.ListEndpoints(context.Background())
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, errBodyTooLarge) {
		t.Fatalf("err = %v, want a DecodeError for a too large answer", err)
	}
}

func TestCallerDeadline(t *testing.T) {
	release := make(chan struct{})
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	c, _ := testClient(t, s.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.ListEndpoints(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded in the chain", err)
	}
	// On a loaded machine the one attempt may not reach the server before
	// the deadline; what must never happen is a second one.
	if n := len(s.requests()); n > 1 {
		t.Errorf("%d attempts, want at most 1: the caller's deadline is not retried", n)
	}
}

func TestCallerCancelStopsBackoff(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 503, `{}`) })
	c, _ := testClient(t, s.URL)
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(ctx context.Context, d time.Duration) error {
		cancel() // the user pressed Ctrl-C while we waited
		return sleepCtx(ctx, time.Hour)
	}
	_, err := c.ListEndpoints(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("err = %v, want it to name the last attempt's 503", err)
	}
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestSleepCtx(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleepCtx on a canceled ctx = %v", err)
	}
	if err := sleepCtx(context.Background(), time.Microsecond); err != nil {
		t.Errorf("sleepCtx = %v", err)
	}
}

func TestPerAttemptTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		writeJSON(w, 200, `[]`)
	})
	defer close(release)
	// The second attempt must answer within the same timeout, on a new
	// connection and under -race: give it a second, not a blink.
	c, _ := testClient(t, s.URL, func(o *Options) { o.Timeout = time.Second })
	if _, err := c.ListEndpoints(context.Background()); err != nil {
		t.Fatalf("err = %v", err)
	}
	if n := len(s.requests()); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}

	// Create is not retried, and its error says the attempt timed out.
	s2 := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c2, _ := testClient(t, s2.URL, func(o *Options) { o.Timeout = 50 * time.Millisecond })
	_, err := c2.CreateEndpoint(context.Background(), EndpointInput{URL: "u"})
	if err == nil || !strings.Contains(err.Error(), "no answer within 50ms") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a per-attempt timeout", err)
	}
}

func TestNetworkErrorNamesMethodAndURL(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	base := s.URL
	s.Close() // nothing listens there now
	c, _ := testClient(t, base, func(o *Options) { o.Retry.MaxAttempts = 1 })
	_, err := c.CreateEndpoint(context.Background(), EndpointInput{URL: "u"})
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "POST "+base+"/company/client/webhooks: ") {
		t.Errorf("error %q does not start with the method and URL", msg)
	}
	if strings.Contains(msg, testKey) {
		t.Errorf("error contains the key: %q", msg)
	}
}

func TestLogNeverHoldsKey(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			writeJSON(w, 503, `{"message":"`+testKey+`"}`)
			return
		}
		writeJSON(w, 200, endpointJSON)
	})
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug})
	c, _ := testClient(t, s.URL, func(o *Options) { o.Logger = slog.New(h) })
	if _, err := c.UpdateEndpoint(context.Background(), "ep", EndpointInput{URL: "https://x/omega/secret-token"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	out := buf.String()
	if !strings.Contains(out, "PUT") || !strings.Contains(out, "retrying") {
		t.Errorf("log lacks the attempts:\n%s", out)
	}
	for _, secret := range []string{testKey, "secret-token"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestConcurrentUse(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/company/company/"):
			writeJSON(w, 404, `{}`)
		case r.Method == "GET":
			writeJSON(w, 200, `[]`)
		default:
			writeJSON(w, 200, `{}`)
		}
	})
	c, _ := testClient(t, s.URL)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := c.DeleteEndpoint(context.Background(), "ep"); err != nil {
				t.Error(err)
			}
			if _, err := c.ListEndpoints(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := c.spelling.Load(); got != spellingClient {
		t.Errorf("spelling = %d, want client", got)
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello world", 5, "hello…"},
		{"a\x00b\x1bc\x7f", 10, `a\x00b\x1bc\x7f`},
		{"tab\there\r\n", 20, `tab\there\r\n`},
		{"\xff\xfe", 10, `\xff\xfe`},
		{"héllo", 2, "h…"}, // does not split é
		{"日本語", 4, "日…"},
		{"\u0085", 10, `\u0085`},
	}
	for _, tt := range tests {
		if got := snippet([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("snippet(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Endpoint JSON written by the client must be what Omega documents.
func TestEncodeInputShape(t *testing.T) {
	b, err := encodeInput(EndpointInput{URL: "u", Events: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, has := m["description"]; has {
		t.Errorf("empty description sent: %s", b)
	}
}

func TestOptionsNeverShowKey(t *testing.T) {
	o := Options{BaseURL: "https://x", APIKey: testKey}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("opts", "options", o)
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%+v", o), fmt.Sprintf("%v", &o), fmt.Sprintf("%#v", o), buf.String()} {
		if strings.Contains(s, testKey) {
			t.Errorf("key shown in %q", s)
		}
		if !strings.Contains(s, "https://x") {
			t.Errorf("base URL missing from %q", s)
		}
	}
}
