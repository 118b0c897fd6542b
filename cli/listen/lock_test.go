package listen_test

import (
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
)

// TestOneListenerPerDataDir: a second listener on the same data dir is
// refused with who holds it and how to run a second one.
func TestOneListenerPerDataDir(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := clitest.StartInProc(t, env, "--emulate", "--print")
	code, _, errs := clitest.Run(t, env, "--emulate", "--print")
	if code != cmdutil.ExitFailure {
		t.Fatalf("second listener: exit %d, %s", code, errs)
	}
	for _, want := range []string{"is running with data dir " + env["OMEGA_LISTEN_HOME"], "pid ", "forwarding to http://127.0.0.1:", "--data-dir"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, errs)
		}
	}
	p.Stop(t)
	// Once it is gone the data dir is free again.
	p = clitest.StartInProc(t, env, "--emulate", "--print")
	p.Stop(t)
}
