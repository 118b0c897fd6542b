//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package journal

import (
	"errors"
	"os"
	"syscall"
)

// FileLocks reports whether TryLockFile really locks on this platform.
const FileLocks = true

// TryLockFile takes an exclusive lock on f without waiting. It reports
// false, with no error, when another open file (in this process or another)
// holds it. The lock lasts until f is closed, and the kernel drops it when
// its holder dies, however it dies: that is what tells a live process's
// file from a dead one's (a store's journals, a listener's data dir).
func TryLockFile(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		default:
			return false, err
		}
	}
}

// journalLocks: a store tells live journals from dead ones by TryLockFile.
const journalLocks = true
