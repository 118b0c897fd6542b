//go:build windows

package journal

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// FileLocks reports whether TryLockFile really locks on this platform.
const FileLocks = true

// TryLockFile takes an exclusive lock on f without waiting: false when
// another handle holds it. It lasts until f is closed or the process dies.
// The locked byte is far past the end, so the file stays readable.
func TryLockFile(f *os.File) (bool, error) {
	ol := new(windows.Overlapped)
	ol.OffsetHigh = 0x7fffffff
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	}
	return false, err
}

// journalLocks is off on Windows: a store's journals are renamed once
// indexed, which Windows refuses for a file another handle holds, so a
// store never replays another's journal here (its own records are indexed
// before it closes).
const journalLocks = false
