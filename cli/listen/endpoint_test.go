package listen

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

// TestEndpointLeaseRelease checks what release decides for each way a
// listen holds its endpoint, by the endpoint's state at Omega afterwards
// and by what it reports.
func TestEndpointLeaseRelease(t *testing.T) {
	const (
		ours   = "https://us.example/hook/tok"
		theirs = "https://app.example/webhooks"
	)
	ourEvents := []string{"video.process_succeeded"}
	theirEvents := []string{"video.process_failed"}

	cases := []struct {
		name     string
		lease    endpointLease
		existing *omega.EndpointInput // an endpoint at Omega before acquire
		inactive bool                 // ... and it is inactive
		replaced bool
		stable   string

		reused   bool     // acquire took the existing endpoint
		gone     bool     // the endpoint is deleted after release
		active   bool     // else: its state after release
		url      string   // ... and URL
		events   []string // ... and events
		progress string
		step     string
		left     string // leftBehind, before release
	}{
		{
			name:     "created is deleted",
			gone:     true,
			progress: "Deleting endpoint %s…",
			step:     "Deleted endpoint %s.",
			left:     "Endpoint %s is left registered: Omega keeps delivering to " + ours + ". Remove it with:\n  omega-listen endpoints delete %s",
		},
		{
			name:     "domain reuses and deactivates",
			lease:    endpointLease{domain: "us.example"},
			stable:   ours,
			existing: &omega.EndpointInput{URL: ours, Events: ourEvents},
			inactive: true,
			reused:   true,
			url:      ours, events: ourEvents,
			progress: "Deactivating endpoint %s…",
			step:     "Deactivated endpoint %s; the next run with --domain us.example reuses it.",
			left:     "Endpoint %s is left active: Omega keeps delivering to " + ours + ". Deactivate it with:\n  omega-listen endpoints disable %s",
		},
		{
			name:     "relay creates and deactivates",
			stable:   ours,
			url:      ours,
			events:   ourEvents,
			progress: "Deactivating endpoint %s…",
			step:     "Deactivated endpoint %s; the next run with --tunnel relay (" + ours + ") reuses it.",
			left:     "Endpoint %s is left registered: Omega keeps delivering to " + ours + ". Remove it with:\n  omega-listen endpoints delete %s",
		},
		{
			name:     "borrowed is given back",
			existing: &omega.EndpointInput{URL: theirs, Events: theirEvents, Description: "their app"},
			inactive: true,
			reused:   true,
			lease:    endpointLease{borrow: "set below"},
			url:      theirs, events: theirEvents,
			progress: "Giving endpoint %s back…",
			step:     "Gave endpoint %s back: " + theirs + " again.",
			left:     "Endpoint %s still points at this listener's URL. Give it back with:\n  omega-listen endpoints update %s --url " + theirs + " --events video.process_failed && omega-listen endpoints disable %s",
		},
		{
			name:   "keep leaves it",
			lease:  endpointLease{keep: true},
			active: true, url: ours, events: ourEvents,
			step: "Left endpoint %s registered (--keep).",
		},
		{
			name:   "delete-on-exit with domain deletes",
			lease:  endpointLease{domain: "us.example", deleteOnExit: true},
			stable: ours,
			gone:   true, progress: "Deleting endpoint %s…",
			step: "Deleted endpoint %s.",
			left: "Endpoint %s is left registered: Omega keeps delivering to " + ours + ". Remove it with:\n  omega-listen endpoints delete %s",
		},
		{
			name:     "replaced relay listener leaves it active",
			stable:   ours,
			replaced: true,
			active:   true, url: ours, events: ourEvents,
			step: "Left endpoint %s as it is: the listener that replaced this one uses the relay name now.",
			left: "Endpoint %s is left registered: Omega keeps delivering to " + ours + ". Remove it with:\n  omega-listen endpoints delete %s",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			emu, err := emulator.Start("", emulator.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { emu.Close() })
			client, err := omega.NewClient(omega.Options{BaseURL: emu.BaseURL, APIKey: emu.APIKey()})
			if err != nil {
				t.Fatal(err)
			}
			var existing *omega.Endpoint
			if tc.existing != nil {
				existing, err = client.CreateEndpoint(ctx, *tc.existing)
				if err != nil {
					t.Fatal(err)
				}
				if tc.inactive {
					if _, err := client.SetEndpointActive(ctx, existing.ID, false); err != nil {
						t.Fatal(err)
					}
				}
			}
			le := tc.lease
			le.client, le.errW = client, io.Discard
			if le.borrow != "" {
				le.borrow = existing.ID
			}
			le.stable = func() string { return tc.stable }
			le.replaced = func() bool { return tc.replaced }

			ep, err := le.acquire(ctx, omega.EndpointInput{URL: ours, Description: "omega-listen test", Events: ourEvents})
			if err != nil {
				t.Fatalf("acquire: %v", err)
			}
			if tc.reused != (existing != nil && ep.ID == existing.ID) {
				t.Fatalf("acquire took %s, existing %+v, want reused=%v", ep.ID, existing, tc.reused)
			}
			if at := emuEndpoint(emu, ep.ID); at == nil || !at.Active || at.URL != ours {
				t.Fatalf("after acquire Omega has %+v, want active at %s", at, ours)
			}
			if le.orig != nil && !slices.Equal(le.events, theirEvents) {
				t.Errorf("borrowed without -e: events in effect %v, want its own %v", le.events, theirEvents)
			}
			id := ep.ID
			sub := func(s string) string { return strings.ReplaceAll(s, "%s", id) }
			if got := le.leftBehind(); got != sub(tc.left) {
				t.Errorf("leftBehind:\n got %q\nwant %q", got, sub(tc.left))
			}

			var steps, progress []string
			le.release(ctx, func(s string) { steps = append(steps, s) }, func(s string) { progress = append(progress, s) })
			if want := []string{sub(tc.step)}; !slices.Equal(steps, want) {
				t.Errorf("steps %q, want %q", steps, want)
			}
			var wantProgress []string
			if tc.progress != "" {
				wantProgress = []string{sub(tc.progress)}
			}
			if !slices.Equal(progress, wantProgress) {
				t.Errorf("progress %q, want %q", progress, wantProgress)
			}
			at := emuEndpoint(emu, id)
			if tc.gone {
				if at != nil {
					t.Errorf("endpoint still at Omega: %+v", at)
				}
				return
			}
			if at == nil {
				t.Fatal("endpoint gone from Omega")
			}
			if at.Active != tc.active || at.URL != tc.url || !slices.Equal(at.Events, tc.events) {
				t.Errorf("at Omega: active %v url %s events %v, want %v %s %v", at.Active, at.URL, at.Events, tc.active, tc.url, tc.events)
			}
			if le.orig != nil && at.Desc() != existing.Desc() {
				t.Errorf("description %q, want %q kept", at.Desc(), existing.Desc())
			}
		})
	}
}

// TestEndpointLeaseNothingHeld: before acquire (a failed start) there is
// nothing to release and nothing left behind; the emulator's endpoint dies
// with it.
func TestEndpointLeaseNothingHeld(t *testing.T) {
	var nilLease *endpointLease
	nilLease.release(context.Background(), func(s string) { t.Errorf("step %q", s) }, func(s string) { t.Errorf("progress %q", s) })
	if s := nilLease.leftBehind(); s != "" {
		t.Errorf("nil lease leaves %q", s)
	}
	emulated := endpointLease{emulated: true, ep: &omega.Endpoint{ID: "x", URL: "https://a.example"}}
	if s := emulated.leftBehind(); s != "" {
		t.Errorf("emulated lease leaves %q", s)
	}
}

func emuEndpoint(emu *emulator.Server, id string) *omega.Endpoint {
	for _, ep := range emu.Endpoints() {
		if ep.ID == id {
			return &ep
		}
	}
	return nil
}
