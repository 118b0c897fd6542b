//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly || windows)

package journal

import "os"

// FileLocks reports whether TryLockFile really locks on this platform.
const FileLocks = false

// TryLockFile cannot lock here: it reports every lock as taken.
func TryLockFile(f *os.File) (bool, error) { return true, nil }

// journalLocks is off: without locks a store cannot tell a live journal
// from a dead one's, so it never replays another's.
const journalLocks = false
