package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

func startEmulator(t *testing.T) (*emulator.Server, *omega.Client) {
	t.Helper()
	emu, err := emulator.Start("", emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	c, err := omega.NewClient(omega.Options{BaseURL: emu.BaseURL, APIKey: emu.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	return emu, c
}

func TestFromOmegaRebuildsTheDelivery(t *testing.T) {
	emu, client := startEmulator(t)
	a := newApp(t, 500)
	ep, err := client.CreateEndpoint(ctx, omega.EndpointInput{URL: a.URL + "/hook", Events: []string{omega.TypeProcessFailed}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := emu.DeliverTo(ctx, ep.ID, omega.TypeProcessFailed)
	if err != nil {
		t.Fatal(err)
	}
	sent := a.received()[0].Body

	c, err := FromOmega(ctx, client, ep.ID, d.EventID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Body, sent) {
		t.Errorf("rebuilt body differs from the delivery:\n got %s\nsent %s", c.Body, sent)
	}
	if c.ID != "" || c.Method != "POST" || c.Headers.Get("Content-Type") != "application/json" || !c.Flags.Has(capture.FlagBackfill) {
		t.Errorf("template %+v", c.Summary())
	}
	if c.EventID != d.EventID || c.EventType != omega.TypeProcessFailed || c.EndpointID != ep.ID || c.EventCreated.IsZero() {
		t.Errorf("envelope fields %+v", c.Summary())
	}

	// Sent through a Replayer it is a delivery, not a replay.
	s := openStore(t)
	res, err := newReplayer(t, s, Options{}).One(ctx, c, a.URL+"/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := a.received()[1]
	if !bytes.Equal(got.Body, sent) || got.Header.Get(inspector.HeaderReplay) != "" || res.ReplayOf != "" || !res.Flags.Has(capture.FlagBackfill) {
		t.Errorf("delivered %s with replay header %q, capture replay_of %q flags %b", got.Body, got.Header.Get(inspector.HeaderReplay), res.ReplayOf, res.Flags)
	}

	if _, err := FromOmega(ctx, client, ep.ID, "630fac88bd5bb64cf8b24b99"); err == nil || !strings.Contains(err.Error(), "630fac88bd5bb64cf8b24b99") {
		t.Errorf("unknown event: %v", err)
	}
}

func TestDeliveryBodyShapes(t *testing.T) {
	video := `{"id":"v1","title":"A & B <c>","status":"process-failed"}`
	base := omega.Event{ID: "e1", COID: "omega-cop-1", APIVersion: "v1", Created: 1661971592, Type: omega.TypeProcessFailed, EndpointID: "ep1"}
	want := `{"id":"e1","coid":"omega-cop-1","api_version":"v1","created":1661971592,"type":"video.process_failed","data":` + video + `,"endpoint_id":"ep1"}`
	tests := []struct {
		name string
		mod  func(*omega.Event)
		want string
	}{
		{"video as data", func(e *omega.Event) { e.Data = json.RawMessage(video) }, want},
		{"wrapped as on the events page", func(e *omega.Event) { e.Data = json.RawMessage(`{"video": ` + video + `}`) }, want},
		{"created only as created_at", func(e *omega.Event) {
			e.Data, e.Created, e.CreatedAt = json.RawMessage(video), 0, time.Unix(1661971592, 0)
		}, want},
		{"endpoint and version missing", func(e *omega.Event) {
			e.Data, e.EndpointID, e.APIVersion = json.RawMessage(video), "", ""
		}, want},
		{"no data", func(e *omega.Event) {}, strings.Replace(want, video, "null", 1)},
		{"an object with a video member is not unwrapped", func(e *omega.Event) { e.Data = json.RawMessage(`{"id":"x","video":{}}`) },
			strings.Replace(want, video, `{"id":"x","video":{}}`, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := base
			tc.mod(&ev)
			got, err := DeliveryBody(&ev, "ep1")
			if err != nil || string(got) != tc.want {
				t.Errorf("%s:\n got %s (%v)\nwant %s", tc.name, got, err, tc.want)
			}
		})
	}
	if _, err := DeliveryBody(&omega.Event{Type: "x"}, "ep1"); err == nil {
		t.Error("an event without an id was accepted")
	}
}

func TestBackfill(t *testing.T) {
	emu, client := startEmulator(t)

	// One endpoint at a dead URL: everything Omega sent it failed.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	deadEP, err := client.CreateEndpoint(ctx, omega.EndpointInput{URL: deadURL, Events: []string{omega.TypeProcessSucceeded}})
	if err != nil {
		t.Fatal(err)
	}
	// Another whose app was fixed half way: only the failures come back.
	flaky := newApp(t, 200)
	flakyEP, err := client.CreateEndpoint(ctx, omega.EndpointInput{URL: flaky.URL, Events: []string{omega.TypeProcessFailed}})
	if err != nil {
		t.Fatal(err)
	}
	var deadEvents, flakyFailed []string
	for range 3 {
		d, err := emu.DeliverTo(ctx, deadEP.ID, omega.TypeProcessSucceeded)
		if err != nil || d.Err == "" {
			t.Fatalf("delivery to a dead URL: %+v %v", d, err)
		}
		deadEvents = append(deadEvents, d.EventID)
	}
	for i, status := range []int{200, 500, 204, 404} {
		flaky.status.Store(int32(status))
		d, err := emu.DeliverTo(ctx, flakyEP.ID, omega.TypeProcessFailed)
		if err != nil {
			t.Fatal(err)
		}
		if status >= 300 {
			flakyFailed = append(flakyFailed, d.EventID)
		}
		_ = i
	}
	flaky.status.Store(200)

	s := openStore(t)
	app := newApp(t, 200)
	r := newReplayer(t, s, Options{})
	delivered := map[string]int{}
	deliver := func(ctx context.Context, c *capture.Capture) error {
		delivered[c.EventID]++
		_, err := r.One(ctx, c, app.URL, nil)
		return err
	}
	// already as the listener backs it: the store, by event id.
	already := func(id string) bool {
		n, err := s.Count(ctx, capture.Query{EventID: id})
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}

	for _, tc := range []struct {
		name string
		ep   string
		want []string
	}{{"every event of a dead endpoint", deadEP.ID, deadEvents}, {"only the failures of a fixed one", flakyEP.ID, flakyFailed}} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Backfill(ctx, client, tc.ep, time.Hour, time.Now(), already, deliver)
			if err != nil || n != len(tc.want) {
				t.Fatalf("backfill %s: %d, %v; want %d", tc.ep, n, err, len(tc.want))
			}
		})
	}
	var order []string
	for _, g := range app.received() {
		var ev struct{ ID string }
		json.Unmarshal(g.Body, &ev)
		order = append(order, ev.ID)
	}
	if want := append(slices.Clone(deadEvents), flakyFailed...); !slices.Equal(order, want) {
		t.Errorf("app got events %v, want %v (oldest first)", order, want)
	}
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	caps, _ := s.ListFull(ctx, capture.Query{})
	for _, c := range caps {
		if !c.Flags.Has(capture.FlagBackfill) || c.ReplayOf != "" || c.Outcome() != capture.OutcomeOK {
			t.Errorf("stored backfill %+v", c.Summary())
		}
	}

	// After a reconnect the listener backfills again: nothing twice.
	for _, ep := range []string{deadEP.ID, flakyEP.ID} {
		n, err := Backfill(ctx, client, ep, time.Hour, time.Now(), already, deliver)
		if err != nil || n != 0 {
			t.Errorf("second backfill of %s: %d, %v", ep, n, err)
		}
	}
	if len(app.received()) != len(deadEvents)+len(flakyFailed) {
		t.Errorf("app got %d deliveries after the second backfill", len(app.received()))
	}

	// The window: an hour from now, an hour back reaches none of them.
	n, err := Backfill(ctx, client, deadEP.ID, time.Hour, time.Now().Add(2*time.Hour), nil, deliver)
	if err != nil || n != 0 {
		t.Errorf("out of window: %d, %v", n, err)
	}
	// Without already, each event still goes at most once per call.
	n, err = Backfill(ctx, client, deadEP.ID, time.Hour, time.Now(), nil, func(context.Context, *capture.Capture) error { return nil })
	if err != nil || n != len(deadEvents) {
		t.Errorf("without already: %d, %v", n, err)
	}
	if _, err := Backfill(ctx, client, "6323940afc8e1c02d9f3b155", time.Hour, time.Now(), nil, deliver); err == nil {
		t.Error("unknown endpoint: no error")
	}
}
