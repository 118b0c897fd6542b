package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/cli"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
)

// TestFormatJSONEverywhere: --format json works where --json does (which
// stays), and listen's JSON delivery lines carry the event.
func TestFormatJSONEverywhere(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := clitest.StartInProc(t, env, "--emulate", "--format", "json")
	code, out, errs := clitest.Run(t, env, "trigger", "video.process_succeeded", "--format", "json")
	if code != 0 || !json.Valid([]byte(strings.TrimSpace(out))) {
		t.Fatalf("trigger --format json: %d %q %s", code, out, errs)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.Out.String(), `"type":"delivery"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop(t)
	var line struct {
		Type  string `json:"type"`
		Event struct {
			Type string `json:"type"`
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		} `json:"event"`
	}
	found := false
	for l := range strings.Lines(p.Out.String()) {
		if strings.Contains(l, `"type":"delivery"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	if !found || line.Event.Type != "video.process_succeeded" || line.Event.Data.ID == "" {
		t.Errorf("the delivery line does not carry the event: %+v\n%s", line, p.Out)
	}
	for _, args := range [][]string{
		{"captures", "list", "--format", "json"},
		{"captures", "list", "--json"},
		{"events", "list", "--format", "json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errs := clitest.Run(t, env, args...)
			if args[0] == "events" {
				// No listener now: events needs --endpoint; the flag itself parses.
				if code != cli.ExitUsage || strings.Contains(errs, "unknown flag") {
					t.Errorf("%v: %d %s", args, code, errs)
				}
				return
			}
			if code != 0 || !json.Valid([]byte(out)) {
				t.Errorf("%v: %d %q %s", args, code, out, errs)
			}
		})
	}
	if code, _, errs := clitest.Run(t, env, "captures", "list", "--format", "yaml"); code != cli.ExitUsage {
		t.Errorf("--format yaml: %d %s", code, errs)
	}
}
