package capture

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Journal files live in the data dir as journal-<name>.seg, where a
// segment's name is <pid>-<random>-<n>. Each Store writes only its own and
// holds an flock on each while it may still need it. Once everything in one
// is committed to SQLite (and the store has moved on to another), the
// store renames it bodies-<name>.seg: the index keeps the location of each
// capture's headers and bodies in it rather than the bytes. A journal file
// nobody holds belongs to a store that died; Open replays it and renames it
// the same way. A bodies file is deleted once the captures it holds are
// (see Store.dropSegments); one holding none is deleted at once.
const (
	journalPrefix = "journal-"
	journalSuffix = ".seg"
	journalTemp   = ".journal-tmp-"
	bodiesPrefix  = "bodies-"
)

// journalPath and bodiesPath are the two names a segment has in its life.
func journalPath(dir, name string) string {
	return filepath.Join(dir, journalPrefix+name+journalSuffix)
}

func bodiesPath(dir, name string) string {
	return filepath.Join(dir, bodiesPrefix+name+journalSuffix)
}

// segmentName is the name of the segment in the journal file base.
func segmentName(base string) string {
	return strings.TrimSuffix(strings.TrimPrefix(base, journalPrefix), journalSuffix)
}

// segmentMax is the size past which appends move to a new file, so that
// committed records can be dropped by deleting whole files. (A variable so
// tests can make many files.)
var segmentMax int64 = 8 << 20

// ErrClosed is returned by writes to a closed Store.
var ErrClosed = errors.New("capture store is closed")

// segment is one journal file this store writes or has written.
type segment struct {
	f     *os.File
	name  string // see journalPath
	path  string // journalPath
	start uint64 // journal position of the file's first byte
	size  int64  // bytes of whole records in the file
	// broken: a failed write left bytes we could not take back, so nothing
	// more may be appended after them.
	broken bool
}

func (s *segment) end() uint64 { return s.start + uint64(s.size) }

// journal is the append-only write path. Appends are serialised by mu; a
// write(2) that returns is in the page cache and survives the death of the
// process, which is the durability this store promises.
//
// A journal position counts the bytes of whole records appended by this
// Store since it opened, across all its files. The indexer reads records
// back from the files (the page cache, in practice) by position, so the
// write path keeps no copies and memory stays bounded when SQLite falls
// behind.
type journal struct {
	dir   string
	owner string // pid-random, unique to this Store

	mu       sync.Mutex
	closed   bool
	segs     []*segment // oldest first; the last is written to
	nextFile int
	appended uint64        // journal position after the last record
	written  atomic.Uint64 // mirror of appended for lock-free reads
}

func newJournal(dir string) (*journal, error) {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("journal name: %w", err)
	}
	return &journal{dir: dir, owner: fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(r[:]))}, nil
}

// append writes one frame made by encodeFrame. For whole-capture frames it
// assigns the Seq under the lock, so Seq order is journal order and index
// order within this store; it returns the Seq (0 for finish frames).
func (j *journal) append(frame []byte) (int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return 0, ErrClosed
	}
	cur := j.current()
	if cur == nil || cur.broken || cur.size >= segmentMax {
		var err error
		if cur, err = j.rotate(); err != nil {
			return 0, err
		}
	}
	var seq int64
	if frame[frameHeaderLen+1] != kindFinish {
		seq = nextSeq()
	}
	sealFrame(frame, seq)
	if n, err := cur.f.Write(frame); err != nil {
		// Take back a partial write so the records after it stay readable;
		// if even that fails, the next append starts a new file.
		if n > 0 {
			if terr := cur.f.Truncate(cur.size); terr != nil {
				cur.broken = true
			} else if _, serr := cur.f.Seek(cur.size, 0); serr != nil {
				cur.broken = true
			}
		}
		return 0, fmt.Errorf("write capture journal %s: %w", cur.path, err)
	}
	cur.size += int64(len(frame))
	j.appended += uint64(len(frame))
	j.written.Store(j.appended)
	return seq, nil
}

func (j *journal) current() *segment {
	if len(j.segs) == 0 {
		return nil
	}
	return j.segs[len(j.segs)-1]
}

// rotate starts a new journal file. The file is created and locked under a
// temporary name and only then given a name other stores look for, so no
// other store can take it for a dead one's.
func (j *journal) rotate() (*segment, error) {
	name := fmt.Sprintf("%s-%06d", j.owner, j.nextFile)
	final := journalPath(j.dir, name)
	tmp := filepath.Join(j.dir, journalTemp+filepath.Base(final))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create capture journal: %w", err)
	}
	fail := func(err error) (*segment, error) {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("create capture journal %s: %w", final, err)
	}
	if err := f.Chmod(0o600); err != nil { // the umask may have taken bits; make it exact
		return fail(err)
	}
	if _, err := tryLock(f); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	j.nextFile++
	if cur := j.current(); cur != nil && cur.size == 0 {
		cur.remove()
		j.segs = j.segs[:len(j.segs)-1]
	}
	s := &segment{f: f, name: name, path: final, start: j.appended}
	j.segs = append(j.segs, s)
	return s, nil
}

// unread finds the records from journal position pos on: the file holding
// them, the offset of pos in it and how many bytes follow there. n is 0
// when everything is read.
func (j *journal) unread(pos uint64) (seg *segment, off int64, n int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, s := range j.segs {
		if pos < s.end() {
			return s, int64(pos - s.start), int64(s.end() - pos)
		}
	}
	return nil, 0, 0
}

// release hands back, for the store to retire, the files other than the
// one being written whose records are all before journal position upTo
// (that is, indexed). The journal forgets them.
func (j *journal) release(upTo uint64) []*segment {
	j.mu.Lock()
	defer j.mu.Unlock()
	var done []*segment
	keep := j.segs[:0]
	for i, s := range j.segs {
		if i < len(j.segs)-1 && s.end() <= upTo {
			done = append(done, s)
		} else {
			keep = append(keep, s)
		}
	}
	clear(j.segs[len(keep):])
	j.segs = keep
	return done
}

// close stops appends and hands back every file, for the store to retire
// (everything is indexed) or to close (the files stay, unlocked, for the
// next Open to replay).
func (j *journal) close() []*segment {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	segs := j.segs
	j.segs = nil
	return segs
}

// stop refuses further appends without touching the files.
func (j *journal) stop() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
}

// remove deletes the file before closing it: closing first would drop the
// lock and let another store replay the file while it is being deleted
// (harmless, but wasted work).
func (s *segment) remove() {
	os.Remove(s.path)
	s.f.Close()
}

// seqState hands out Seqs: microseconds since the epoch, bumped by one when
// the clock has not moved on, so they increase within the process and
// roughly follow time across processes sharing a store.
var seqState struct {
	mu   sync.Mutex
	last int64
}

func nextSeq() int64 {
	now := time.Now().UnixMicro()
	seqState.mu.Lock()
	defer seqState.mu.Unlock()
	if now <= seqState.last {
		now = seqState.last + 1
	}
	seqState.last = now
	return now
}

// isJournalName reports whether name is a journal file (not a temporary one).
func isJournalName(name string) bool {
	return strings.HasPrefix(name, journalPrefix) && strings.HasSuffix(name, journalSuffix)
}
