package session

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/text"
)

// One listener per data dir. The listener holds an exclusive lock on
// <data-dir>/listener.lock for as long as it runs; the kernel drops it when
// the process dies, however it dies. That lock, not a process ID (which
// can be reused), is how other commands tell a running listener from a
// session file left behind.
const lockName = "listener.lock"

// Lock is a held data-dir lock.
type Lock struct{ f *os.File }

// ErrBusy: another listener holds the data dir.
var ErrBusy = errors.New("the data dir is in use by another omega-listen")

func openLockFile(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data dir %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the listener lock in %s: %w", dir, err)
	}
	return f, nil
}

// LockDataDir takes the data dir for this listener, or says which
// listener has it and how to run a second one. Session files found once
// the lock is ours are of listeners that died: they are removed.
func LockDataDir(dir string) (*Lock, error) {
	f, err := openLockFile(dir)
	if err != nil {
		return nil, err
	}
	ok, err := capture.TryLockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	if !ok {
		f.Close()
		return nil, busyError(dir)
	}
	removeAll(dir)
	return &Lock{f: f}, nil
}

func (l *Lock) Release() {
	if l != nil && l.f != nil {
		l.f.Close() // closing drops the lock
	}
}

// Running reports whether a listener holds dir's lock. Where
// locks are not available it reports true, and session files are trusted.
func Running(dir string) (bool, error) {
	if !capture.FileLocks {
		return true, nil
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close() // and with it the lock, if we took it
	ok, err := capture.TryLockFile(f)
	if err != nil {
		return false, err
	}
	return !ok, nil
}

// busyError names the listener that holds dir and how to run a second.
func busyError(dir string) error {
	who := "another omega-listen"
	if si, err := ReadAll(dir); err == nil && len(si) > 0 {
		s := si[0]
		who = fmt.Sprintf("omega-listen (pid %d, forwarding to %s, since %s)", s.PID, text.Sanitize(s.Forward), s.Started.Local().Format(time.DateTime))
	}
	second := filepath.Join(os.TempDir(), "omega-listen-2")
	return fmt.Errorf("%w: %s is running with data dir %s.\n"+
		"  One listener per data dir, so that trigger, wait and the lines know whose deliveries are whose.\n"+
		"  Stop it, or run a second one with a store of its own:  omega-listen --data-dir %s %s",
		ErrBusy, who, dir, text.ShellQuote(second), strings.Join(redactedArgs(), " "))
}

// redactedArgs are this command's arguments minus --data-dir (and the
// secrets), for the hint.
var redactedArgs = func() []string {
	var out []string
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasVal := strings.Cut(a, "=")
		switch name {
		case "--data-dir", "--api-key", "--ngrok-authtoken", "--token":
			if !hasVal {
				i++
			}
			continue
		}
		out = append(out, text.ShellQuote(a))
	}
	return out
}
