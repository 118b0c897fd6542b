package omega_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

// receiver is a local app that records the deliveries it gets.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, b)
		rc.mu.Unlock()
		io.WriteString(w, "webhook received\n")
	}))
	t.Cleanup(rc.Close)
	return rc
}

func newEmulatorClient(t *testing.T, base, key string) *omega.Client {
	t.Helper()
	c, err := omega.NewClient(omega.Options{BaseURL: base, APIKey: key, UserAgent: "omega-listen/test",
		Retry: omega.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientAgainstEmulator(t *testing.T) {
	srv, err := emulator.Start("", emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	rc := newReceiver(t)
	c := newEmulatorClient(t, srv.BaseURL, srv.APIKey())
	ctx := context.Background()

	ep, err := c.CreateEndpoint(ctx, omega.EndpointInput{URL: rc.URL + "/webhook", Description: "omega-listen test",
		Events: []string{omega.TypeProcessSucceeded}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if ep.ID == "" || !ep.Active || ep.Desc() != "omega-listen test" || ep.COID != srv.COID() {
		t.Fatalf("created endpoint = %+v", ep)
	}

	eps, err := c.ListEndpoints(ctx)
	if err != nil || len(eps) != 1 || eps[0].ID != ep.ID {
		t.Fatalf("list = %+v, %v", eps, err)
	}

	up, err := c.UpdateEndpoint(ctx, ep.ID, omega.EndpointInput{URL: rc.URL + "/hook2",
		Events: []string{omega.TypeProcessSucceeded, omega.TypeProcessFailed}})
	if err != nil || up == nil || up.URL != rc.URL+"/hook2" || len(up.Events) != 2 {
		t.Fatalf("update = %+v, %v", up, err)
	}

	off, err := c.SetEndpointActive(ctx, ep.ID, false)
	if err != nil || off == nil || off.Active {
		t.Fatalf("deactivate = %+v, %v", off, err)
	}
	on, err := c.SetEndpointActive(ctx, ep.ID, true)
	if err != nil || on == nil || !on.Active {
		t.Fatalf("activate = %+v, %v", on, err)
	}

	d, err := srv.DeliverTo(ctx, ep.ID, omega.TypeProcessFailed)
	if err != nil || d.Err != "" {
		t.Fatalf("deliver = %+v, %v", d, err)
	}
	rc.mu.Lock()
	got := rc.bodies
	rc.mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("receiver got %d deliveries, want 1", len(got))
	}
	env, err := omega.ParseEnvelope(got[0])
	if err != nil {
		t.Fatalf("delivered body: %v", err)
	}
	if env.Type != omega.TypeProcessFailed || env.EndpointID != ep.ID || env.Video == nil || env.CreatedTime().IsZero() {
		t.Errorf("delivered envelope = %+v", env)
	}

	evs, err := c.ListEvents(ctx, ep.ID)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events = %+v, %v", evs, err)
	}
	if evs[0].ID != env.ID || evs[0].COID != srv.COID() || evs[0].When().IsZero() || evs[0].Data != nil || evs[0].Response != nil {
		t.Errorf("listed event = %+v (the list says ocid and a zero created_at)", evs[0])
	}

	ev, err := c.GetEvent(ctx, ep.ID, env.ID)
	if err != nil {
		t.Fatalf("get event: %v", err)
	}
	if ev.Response == nil || ev.Response.StatusCode != 200 || ev.Response.Body != "webhook received\n" {
		t.Errorf("event response = %+v", ev.Response)
	}
	if v := ev.Video(); v == nil || v.ID != env.Video.ID {
		t.Errorf("event video = %+v, want id %s", v, env.Video.ID)
	}

	if _, err := c.GetEvent(ctx, ep.ID, "000000000000000000000000"); !omega.IsNotFound(err) {
		t.Errorf("get unknown event: err = %v, want not found", err)
	}

	if err := c.DeleteEndpoint(ctx, ep.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if eps, err := c.ListEndpoints(ctx); err != nil || len(eps) != 0 {
		t.Errorf("list after delete = %+v, %v", eps, err)
	}
	if err := c.DeleteEndpoint(ctx, ep.ID); !omega.IsNotFound(err) {
		t.Errorf("second delete: err = %v, want not found", err)
	}
}

func TestClientEmulatorErrors(t *testing.T) {
	srv, err := emulator.Start("", emulator.Options{APIKey: "right-key-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()

	bad := newEmulatorClient(t, srv.BaseURL, "wrong-key-0123456789")
	_, err = bad.ListEndpoints(ctx)
	var ae *omega.AuthError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("wrong key: err = %v, want AuthError 401", err)
	}
	if strings.Contains(err.Error(), "wrong-key-0123456789") || !strings.Contains(err.Error(), "Omega rejected the API key") {
		t.Errorf("wrong key: error = %q", err)
	}

	c := newEmulatorClient(t, srv.BaseURL, srv.APIKey())
	_, err = c.CreateEndpoint(ctx, omega.EndpointInput{URL: "not a url", Events: []string{omega.TypeProcessFailed}})
	var api *omega.APIError
	if !errors.As(err, &api) || api.Status != 422 || api.Message == "" || !strings.Contains(err.Error(), api.Message) {
		t.Errorf("bad url: err = %v, want APIError 422 with the emulator's message", err)
	}
}

// TestClientEmulatorPathFallback runs against an emulator that serves
// update, delete and status only under client/, as Omega might.
func TestClientEmulatorPathFallback(t *testing.T) {
	emu := emulator.New(emulator.Options{OnlyClientPaths: true})
	var mu sync.Mutex
	var paths []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	c := newEmulatorClient(t, hs.URL+"/company", emu.APIKey())
	ctx := context.Background()

	ep, err := c.CreateEndpoint(ctx, omega.EndpointInput{URL: "http://127.0.0.1:1/webhook", Events: []string{omega.TypeProcessFailed}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetEndpointActive(ctx, ep.ID, false); err != nil {
		t.Fatalf("status: %v", err)
	}
	if _, err := c.UpdateEndpoint(ctx, ep.ID, omega.EndpointInput{URL: "http://127.0.0.1:2/webhook", Events: []string{omega.TypeProcessFailed}}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if err := c.DeleteEndpoint(ctx, ep.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	want := []string{
		"POST /company/client/webhooks",
		"POST /company/company/webhooks/" + ep.ID + "/status",
		"POST /company/client/webhooks/" + ep.ID + "/status",
		"PUT /company/client/webhooks/" + ep.ID,
		"DELETE /company/client/webhooks/" + ep.ID,
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n got %q\nwant %q", paths, want)
	}
}
