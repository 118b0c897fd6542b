package capture

import (
	"bytes"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/omega-listen/omega-listen/capture/internal/journal"
	"modernc.org/sqlite"
)

// retire gives a segment whose records are all in the index its last name:
// bodies-<name>.seg if the index refers to it, none (it is deleted) if not.
// The caller closes the file afterwards: its lock keeps other stores from
// replaying the file while it is still a journal. If the index cannot be
// asked, the file stays a journal, for the next Open to replay (which is
// harmless).
func (s *Store) retire(name string) {
	path := journal.Path(s.dir, name)
	var used bool
	if err := s.db.QueryRow(segmentInUse, name).Scan(&used); err != nil {
		s.log.Error("could not retire a capture journal; the next Open will index it again", "file", path, "err", s.dbError("find segment", err))
		return
	}
	if !used {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Error("could not delete an indexed capture journal", "file", path, "err", err)
		}
		return
	}
	if err := os.Rename(path, journal.BodiesPath(s.dir, name)); err != nil {
		s.log.Error("could not rename an indexed capture journal; the next Open will index it again", "file", path, "err", err)
	}
}

// dropSegments deletes the bodies files no capture refers to any more
// (every capture up to the segment's max_seq is gone) and forgets them. A
// segment still under its journal name is left to its store (or to the
// replay of a dead store's journal), which renames it when done; a later
// call deletes it. Failures are logged: they cost only disk space, and a
// later call tries again.
func (s *Store) dropSegments(ctx context.Context) {
	if err := s.dropUnused(ctx); err != nil {
		s.log.Warn("could not delete unused capture files", "dir", s.dir, "err", s.dbError("drop unused segments", err))
	}
}

func (s *Store) dropUnused(ctx context.Context) error {
	// A write transaction (_txlock): while it lasts no store can commit a
	// row that refers to a segment, so one found unused stays unused until
	// its file is gone.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, unusedSegs)
	if err != nil {
		return err
	}
	var ids []any
	var names []string
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return err
		}
		ids, names = append(ids, id), append(names, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	gone := ids[:0]
	for i, name := range names {
		if s.removeBodies(name) {
			gone = append(gone, ids[i])
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM segments WHERE id IN ("+placeholders(len(gone))+")", gone...); err != nil {
		return err
	}
	return tx.Commit()
}

// removeBodies deletes segment name's bodies file and reports whether the
// segment is now gone for good (false while it is still a journal).
func (s *Store) removeBodies(name string) bool {
	path := journal.BodiesPath(s.dir, name)
	for range 2 {
		err := os.Remove(path)
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			if err != nil {
				s.log.Warn("could not delete an unused capture file", "file", path, "err", err)
			}
			return err == nil
		}
		if _, err := os.Stat(journal.Path(s.dir, name)); err == nil {
			return false
		}
		// Neither name: gone, unless renamed between the two looks, which
		// the second round sees.
	}
	return true
}

// segmentFiles reads headers and bodies from segment files, opening each
// file once.
type segmentFiles struct {
	journal.Files
}

// read returns the headers and body that n bytes at off in segment name
// encode.
func (sf *segmentFiles) read(name string, off, n int64) (http.Header, []byte, error) {
	b, path, err := sf.Read(name, off, n)
	if err != nil {
		return nil, nil, err
	}
	h, body, err := decodeBlob(b)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s at %d: %w", path, off, err)
	}
	return h, body, nil
}

// bodyContainsFunc is the SQL function behind Query.Text:
// bodyContainsFunc(dir, segment, off, len, needle) reports whether the
// request body stored there contains needle.
const bodyContainsFunc = "omega_listen_body_contains"

var registerFuncs = sync.OnceValue(func() error {
	return sqlite.RegisterScalarFunction(bodyContainsFunc, 5, bodyContains)
})

func bodyContains(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	dir, _ := args[0].(string)
	name, _ := args[1].(string)
	off, _ := args[2].(int64)
	n, _ := args[3].(int64)
	var needle []byte
	switch v := args[4].(type) {
	case []byte:
		needle = v
	case string:
		needle = []byte(v)
	}
	if name == "" || n == 0 {
		return int64(0), nil
	}
	sf := segmentFiles{journal.Files{Dir: dir}}
	defer sf.Close()
	_, body, err := sf.read(name, off, n)
	if errors.Is(err, journal.ErrGone) {
		return int64(0), nil // being pruned: it will not be listed
	}
	if err != nil {
		return nil, err
	}
	if bytes.Contains(body, needle) {
		return int64(1), nil
	}
	return int64(0), nil
}
