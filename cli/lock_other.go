//go:build !unix && !windows

package cli

import "os"

// tryLockFile cannot lock here: every listener gets the data dir, and a
// session file counts as running until its listener removes it.
func tryLockFile(f *os.File) (bool, error) { return true, nil }

const canLock = false
