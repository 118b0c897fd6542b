package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOneListenerPerDataDir: a second listener on the same data dir is
// refused with who holds it and how to run a second one.
func TestOneListenerPerDataDir(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := startInProc(t, env, "--emulate", "--print")
	code, _, errs := run(t, env, "--emulate", "--print")
	if code != ExitFailure {
		t.Fatalf("second listener: exit %d, %s", code, errs)
	}
	for _, want := range []string{"is running with data dir " + env["OMEGA_LISTEN_HOME"], "pid ", "forwarding to http://127.0.0.1:", "--data-dir"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, errs)
		}
	}
	p.stop(t)
	// Once it is gone the data dir is free again.
	p = startInProc(t, env, "--emulate", "--print")
	p.stop(t)
}

// TestLivenessIsTheLockNotThePID: a session file left behind whose pid is
// alive (here: reused by this very test process) is not a running
// listener, because nobody holds the lock.
func TestLivenessIsTheLockNotThePID(t *testing.T) {
	dir := t.TempDir()
	if _, err := writeSession(dir, &sessionInfo{PID: os.Getpid(), ID: "s_dead", Started: time.Now(), Forward: "http://localhost:1/"}); err != nil {
		t.Fatal(err)
	}
	if _, err := findSession(dir); !errors.Is(err, errNoSession) {
		t.Fatalf("findSession with nobody holding the lock = %v, want errNoSession", err)
	}
	if left, _ := os.ReadDir(sessionsDir(dir)); len(left) != 0 {
		t.Errorf("the dead session's file was kept: %v", left)
	}
	// Held: the session counts.
	lock, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.release()
	if _, err := writeSession(dir, &sessionInfo{PID: 12345, ID: "s_live", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	si, err := findSession(dir)
	if err != nil || si.ID != "s_live" {
		t.Fatalf("findSession with the lock held = %+v, %v", si, err)
	}
	if _, err := lockDataDir(dir); !errors.Is(err, errDirBusy) || !strings.Contains(err.Error(), "pid 12345") {
		t.Errorf("second lock = %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, lockName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v", fi, err)
	}
}
