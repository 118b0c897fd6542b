package listen_test

import (
	"strings"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
)

// TestEmulateAloneSucceedsFirstTime: `--emulate` with no --forward and
// nothing else running forwards to the built-in sample app, so the first
// trigger ends in a 200 and the lines say what the app received.
func TestEmulateAloneSucceedsFirstTime(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := clitest.StartInProc(t, env, "--emulate", "--print")
	defer p.Stop(t)
	if out := p.Out.String(); !strings.Contains(out, "the built-in sample app at http://127.0.0.1:") || !strings.Contains(out, "it answers 200") {
		t.Errorf("the ready line does not say where deliveries go:\n%s", out)
	}
	code, out, errs := clitest.Run(t, env, "trigger", "video.process_succeeded")
	if code != 0 || !strings.Contains(out, "→ 200 OK") {
		t.Fatalf("first trigger: exit %d, %q %q", code, out, errs)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.Out.String(), "<-- [200] POST http://127.0.0.1:") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := p.Out.String()
	if !strings.Contains(got, "<-- [200] POST http://127.0.0.1:") {
		t.Errorf("no successful delivery line:\n%s", got)
	}
	if !strings.Contains(got, "sample app received video.process_succeeded [") || !strings.Contains(got, "and answered 200") {
		t.Errorf("the lines do not show what the sample app received:\n%s", got)
	}
}

func TestEmulateAloneJSONReadySaysSampleApp(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := clitest.StartInProc(t, env, "--emulate", "--format", "json")
	defer p.Stop(t)
	if out := p.Out.String(); !strings.Contains(out, `"sample_app":true`) {
		t.Errorf("ready line: %s", out)
	}
}

// Without --emulate, --forward stays required.
func TestForwardRequiredWithoutEmulate(t *testing.T) {
	code, _, errs := clitest.Run(t, map[string]string{"OMEGA_LISTEN_HOME": t.TempDir(), "OMEGA_API_KEY": "k"}, "--tunnel", "none")
	if code != cmdutil.ExitUsage || !strings.Contains(errs, "--forward is required") {
		t.Errorf("exit %d: %s", code, errs)
	}
}
