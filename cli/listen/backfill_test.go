package listen_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
	"github.com/omega-listen/omega-listen/tunnel"
)

// TestBackfillAtStartAndAfterReconnect: what Omega failed to deliver is
// delivered once at start; a reconnect delivers only what failed since,
// and nothing twice.
func TestBackfillAtStartAndAfterReconnect(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{} // event id → deliveries the app saw
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			ID string `json:"id"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &ev)
		mu.Lock()
		got[ev.ID]++
		mu.Unlock()
	}))
	defer app.Close()
	seen := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		m := map[string]int{}
		for k, v := range got {
			m[k] = v
		}
		return m
	}

	emu, env := clitest.EmuEnv(t, emulator.Options{})
	ctx := context.Background()
	c, err := omega.NewClient(omega.Options{BaseURL: emu.BaseURL, APIKey: emu.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	// Staging's endpoint, pointing at a dead URL: Omega's deliveries fail.
	ep, err := c.CreateEndpoint(ctx, omega.EndpointInput{URL: "http://127.0.0.1:9/dead", Events: omega.AllTypes()})
	if err != nil {
		t.Fatal(err)
	}
	var missed []string
	for _, typ := range []string{omega.TypeProcessSucceeded, omega.TypeDeleted} {
		d, err := emu.DeliverTo(ctx, ep.ID, typ)
		if err != nil {
			t.Fatal(err)
		}
		missed = append(missed, d.EventID)
	}

	st := make(chan tunnel.Status, 8)
	env["NGROK_AUTHTOKEN"] = "x"
	p := clitest.StartInProcWith(t, clitest.FakeNgrokWithStatus(st), env, "--forward", app.URL, "--endpoint", ep.ID, "--backfill", "1h", "--print")

	waitFor := func(what string, ok func(map[string]int) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok(seen()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: app saw %v\nstdout:\n%s\nstderr:\n%s", what, seen(), p.Out, p.Err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("backfill at start", func(m map[string]int) bool { return m[missed[0]] == 1 && m[missed[1]] == 1 })
	for !strings.Contains(p.Err.String(), "Backfill (start): delivered 2 event(s)") {
		time.Sleep(10 * time.Millisecond)
	}

	// While the tunnel is down, Omega's delivery fails again: simulate it
	// with a delivery to a URL nobody answers (the endpoint points at us).
	if _, err := c.UpdateEndpoint(ctx, ep.ID, omega.EndpointInput{URL: "http://127.0.0.1:9/dead", Events: omega.AllTypes()}); err != nil {
		t.Fatal(err)
	}
	d, err := emu.DeliverTo(ctx, ep.ID, omega.TypeUploaded)
	if err != nil {
		t.Fatal(err)
	}
	st <- tunnel.Status{State: tunnel.Disconnected}
	st <- tunnel.Status{State: tunnel.Reconnected, URL: "https://a.test"}
	waitFor("backfill after reconnect", func(m map[string]int) bool { return m[d.EventID] == 1 })
	for !strings.Contains(p.Err.String(), "Backfill (reconnect)") {
		time.Sleep(10 * time.Millisecond)
	}
	// A second reconnect finds nothing new.
	st <- tunnel.Status{State: tunnel.Disconnected}
	st <- tunnel.Status{State: tunnel.Reconnected, URL: "https://a.test"}
	for strings.Count(p.Err.String(), "Backfill (reconnect)") < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop(t)
	for id, n := range seen() {
		if n != 1 {
			t.Errorf("event %s delivered %d times, want once", id, n)
		}
	}
	if len(seen()) != 3 {
		t.Errorf("app saw %v, want the 3 missed events", seen())
	}
	if !strings.Contains(p.Err.String(), "Backfill (reconnect): nothing Omega failed to deliver") {
		t.Errorf("the second reconnect should find nothing:\n%s", p.Err)
	}
	if !strings.Contains(p.Out.String(), "video.uploaded ["+d.EventID+"] (backfill)") {
		t.Errorf("backfilled delivery not printed:\n%s", p.Out)
	}
}
