package listen_test

import (
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
)

// TestMissingCredentialsTogether: with neither the Omega key nor the
// ngrok authtoken, one message names both and where to get each.
func TestMissingCredentialsTogether(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	code, _, errs := clitest.Run(t, env, "--forward", "8888")
	if code != cmdutil.ExitFailure {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"OMEGA_API_KEY", "--api-key", "NGROK_AUTHTOKEN", "dashboard.ngrok.com", "--emulate", "--tunnel none"} {
		if !strings.Contains(errs, want) {
			t.Errorf("message lacks %q:\n%s", want, errs)
		}
	}
	// Only the key missing (no ngrok needed): the key alone.
	code, _, errs = clitest.Run(t, env, "--forward", "8888", "--tunnel", "none")
	if code != cmdutil.ExitFailure || !strings.Contains(errs, "OMEGA_API_KEY") || strings.Contains(errs, "NGROK") {
		t.Errorf("key only: exit %d %s", code, errs)
	}
}
