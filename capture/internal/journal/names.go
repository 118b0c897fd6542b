package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A segment's file is journal-<name>.seg while it is written and
// bodies-<name>.seg once the store is done with it as a journal.
const (
	journalPrefix = "journal-"
	suffix        = ".seg"
	tempPrefix    = ".journal-tmp-"
	bodiesPrefix  = "bodies-"
)

// Path is segment name's file while it is a journal.
func Path(dir, name string) string {
	return filepath.Join(dir, journalPrefix+name+suffix)
}

// BodiesPath is segment name's file once it is no longer a journal.
func BodiesPath(dir, name string) string {
	return filepath.Join(dir, bodiesPrefix+name+suffix)
}

// Orphans returns the names of the segments in dir that are journals, in
// the order their stores wrote them; those no live store holds (Claim
// tells) are the journals of stores that died. It deletes the temporary
// files of journals dead stores never got to name, which hold nothing.
func Orphans(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read capture store %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		base := e.Name()
		if strings.HasPrefix(base, tempPrefix) {
			removeIfDead(filepath.Join(dir, base))
		}
		if strings.HasPrefix(base, journalPrefix) && strings.HasSuffix(base, suffix) {
			names = append(names, base)
		}
	}
	sort.Strings(names) // one store's files in the order it wrote them
	for i, base := range names {
		names[i] = strings.TrimSuffix(strings.TrimPrefix(base, journalPrefix), suffix)
	}
	return names, nil
}

func removeIfDead(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if ok, err := tryLock(f); err == nil && ok {
		os.Remove(path)
	}
}

// Claim opens and locks the journal of segment name for replay, if no live
// store holds it. It returns nil, with no error, when a live store holds
// it, or another store claimed it first (it is gone, or renamed). The
// caller reads it, renames or deletes it, and then closes it.
func Claim(dir, name string) (*os.File, error) {
	path := Path(dir, name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // another store replayed it first
	}
	if err != nil {
		return nil, fmt.Errorf("open capture journal %s: %w", path, err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock capture journal %s: %w", path, err)
	}
	if !ok || !stillAt(f, path) {
		// A live store's, or another store replayed it between our open
		// and our lock.
		f.Close()
		return nil, nil
	}
	return f, nil
}

// stillAt reports whether path still names the file f has open.
func stillAt(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	pi, err := os.Stat(path)
	return err == nil && os.SameFile(fi, pi)
}
