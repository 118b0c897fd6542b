package listen_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/tui"
)

// TestEventIDsNameCaptures: replay and captures show take the Omega event
// ID the screen and lines show (and prefixes of it), pick the newest
// capture of that event and say which.
func TestEventIDsNameCaptures(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"OMEGA_LISTEN_HOME": dir}
	app := clitest.NewApp(t, 200)
	caps := clitest.SeedCaptures(t, dir, app.URL+"/webhook", 500)
	ev := caps[0].EventID

	code, out, errs := clitest.Run(t, env, "replay", ev)
	if code != 0 || !strings.Contains(out, "(replay of "+caps[0].ID+")") {
		t.Fatalf("replay by event ID: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "event "+ev+": its capture is "+caps[0].ID) {
		t.Errorf("replay did not say what it picked: %q", errs)
	}
	// Now the event has two captures; a prefix picks the newest, the replay.
	code, out, errs = clitest.Run(t, env, "captures", "show", ev[:10], "--json")
	if code != 0 || !strings.Contains(errs, "has 2 captures: picked the newest") || !strings.Contains(out, `"replay_of": "`+caps[0].ID) {
		t.Errorf("captures show by event prefix: exit %d\n%s%s", code, out, errs)
	}
	// The short capture ID the lines and rows show works too.
	code, _, errs = clitest.Run(t, env, "captures", "show", tui.ShortID(caps[0].ID))
	if code != 0 {
		t.Errorf("captures show %s: exit %d %s", tui.ShortID(caps[0].ID), code, errs)
	}
	code, _, errs = clitest.Run(t, env, "replay", "ffffffffffff")
	if code != 1 || !strings.Contains(errs, "no capture or event ID") {
		t.Errorf("unknown ID: exit %d %q", code, errs)
	}
}

func TestLinesShowShortCaptureID(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"OMEGA_LISTEN_HOME": dir}
	app := clitest.NewApp(t, 200)
	caps := clitest.SeedCaptures(t, dir, app.URL+"/webhook", 500)
	_, out, _ := clitest.Run(t, env, "replay", caps[0].ID)
	short := regexp.MustCompile(`  c_[0-9a-z]{12}$`)
	n := 0
	for line := range strings.Lines(out) {
		if strings.Contains(line, "<--") {
			n++
			if !short.MatchString(strings.TrimRight(line, "\n")) {
				t.Errorf("line does not end with a short capture ID: %q", line)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d delivery lines:\n%s", n, out)
	}
}
