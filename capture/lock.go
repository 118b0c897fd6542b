package capture

import (
	"os"

	"github.com/omega-listen/omega-listen/capture/internal/journal"
)

// FileLocks reports whether TryLockFile really locks on this platform.
const FileLocks = journal.FileLocks

// TryLockFile takes an exclusive lock on f without waiting. It reports
// false, with no error, when another open file (in this process or another)
// holds it. The lock lasts until f is closed, and the kernel drops it when
// its holder dies, however it dies: that is what tells a live process's
// file from a dead one's (a store's journals, a listener's data dir). Where
// FileLocks is false it cannot lock, and reports every lock as taken.
func TryLockFile(f *os.File) (bool, error) { return journal.TryLockFile(f) }
