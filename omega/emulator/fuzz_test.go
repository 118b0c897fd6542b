package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/omega"
)

// refuseAll keeps fuzzed deliveries off the network.
type refuseAll struct{}

func (refuseAll) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("fuzz: network disabled")
}

// FuzzAPI sends arbitrary bodies to every body-taking route and checks the
// emulator always answers JSON with a deliberate status, and that whatever
// it accepted is valid.
func FuzzAPI(f *testing.F) {
	for _, seed := range []struct {
		route uint8
		body  string
	}{
		{0, `{"url":"http://a.test/x","events":["video.deleted"]}`},
		{0, `{"url":"https://a.test","description":"d","events":["video.uploaded","video.process_failed"]}`},
		{0, `{"url":"ftp://a.test","events":["video.deleted"]}`},
		{0, `{"url":5}`},
		{1, `{"url":"http://b.test/","events":["video.ready_to_watch"]}`},
		{2, `{"active":false}`},
		{2, `{"active":"no"}`},
		{3, `{"type":"video.deleted","count":2}`},
		{3, `{"type":"video.deleted","endpoint_id":"x"}`},
		{0, `{} {}`},
		{0, ``},
		{0, `null`},
	} {
		f.Add(seed.route, seed.body)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		e := New(Options{APIKey: "k", DeliveryClient: &http.Client{Transport: refuseAll{}}})
		// One existing endpoint so update, status and deliver reach their
		// validation and state changes.
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/company/client/webhooks", strings.NewReader(`{"url":"http://a.test/","events":["video.deleted"]}`))
		req.Header.Set("Authorization", "Bearer k")
		e.ServeHTTP(rec, req)
		id := e.Endpoints()[0].ID

		method, path := "POST", "/company/client/webhooks"
		switch route % 4 {
		case 1:
			method, path = "PUT", "/company/company/webhooks/"+id
		case 2:
			path = "/company/client/webhooks/" + id + "/status"
		case 3:
			path = "/company/_emulator/deliver"
		}
		rec = httptest.NewRecorder()
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		e.ServeHTTP(rec, req)

		switch rec.Code {
		case 200, 400, 404, 413, 422:
		default:
			t.Fatalf("%s %s with %q: status %d %s", method, path, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer not JSON: %q %q", ct, rec.Body)
		}
		for _, ep := range e.Endpoints() {
			if !strings.HasPrefix(ep.URL, "http://") && !strings.HasPrefix(ep.URL, "https://") {
				t.Fatalf("accepted url %q", ep.URL)
			}
			if len(ep.Events) == 0 {
				t.Fatalf("accepted an endpoint with no events")
			}
			for _, typ := range ep.Events {
				if !omega.Known(typ) {
					t.Fatalf("accepted unknown type %q", typ)
				}
			}
		}
	})
}
