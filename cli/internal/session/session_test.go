package session

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLivenessIsTheLockNotThePID: a session file left behind whose pid is
// alive (here: reused by this very test process) is not a running
// listener, because nobody holds the lock.
func TestLivenessIsTheLockNotThePID(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, &Info{PID: os.Getpid(), ID: "s_dead", Started: time.Now(), Forward: "http://localhost:1/"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); !errors.Is(err, ErrNone) {
		t.Fatalf("findSession with nobody holding the lock = %v, want ErrNone", err)
	}
	if left, _ := os.ReadDir(sessionsDir(dir)); len(left) != 0 {
		t.Errorf("the dead session's file was kept: %v", left)
	}
	// Held: the session counts.
	lock, err := LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if _, err := Write(dir, &Info{PID: 12345, ID: "s_live", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	si, err := Find(dir)
	if err != nil || si.ID != "s_live" {
		t.Fatalf("findSession with the lock held = %+v, %v", si, err)
	}
	if _, err := LockDataDir(dir); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "pid 12345") {
		t.Errorf("second lock = %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, lockName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v", fi, err)
	}
}
