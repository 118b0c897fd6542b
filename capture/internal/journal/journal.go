package journal

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by appends to a closed or stopped Journal. (It is
// also capture.ErrClosed, so its words are the store's.)
var ErrClosed = errors.New("capture store is closed")

// Segment is one journal file a Journal writes or has written.
type Segment struct {
	f     *os.File
	name  string // see Path
	path  string // Path(dir, name)
	start uint64 // journal position of the file's first byte
	size  int64  // bytes of whole frames in the file
	// broken: a failed write left bytes we could not take back, so nothing
	// more may be appended after them.
	broken bool
}

// Name is the segment's name, which its file keeps through its life (see
// Path and BodiesPath).
func (s *Segment) Name() string { return s.name }

// Path is where the file is while it is a journal.
func (s *Segment) Path() string { return s.path }

// ReadAt reads the file as os.File.ReadAt does.
func (s *Segment) ReadAt(b []byte, off int64) (int, error) { return s.f.ReadAt(b, off) }

// Close closes the file, which drops its lock: rename or delete it first.
func (s *Segment) Close() error { return s.f.Close() }

func (s *Segment) end() uint64 { return s.start + uint64(s.size) }

// remove deletes the file before closing it: closing first would drop the
// lock and let another store replay the file while it is being deleted
// (harmless, but wasted work).
func (s *Segment) remove() {
	os.Remove(s.path)
	s.f.Close()
}

// Journal is the append-only write path. Appends are serialised by a lock;
// the reader reads frames back from the files (the page cache, in
// practice) by journal position, so the journal keeps no copies.
type Journal struct {
	dir   string
	owner string // pid-random, unique to this Journal
	max   int64  // see New

	mu       sync.Mutex
	closed   bool
	segs     []*Segment // oldest first; the last is written to
	nextFile int
	appended uint64        // journal position after the last frame
	written  atomic.Uint64 // mirror of appended for lock-free reads
}

// New returns a Journal that writes segment files in dir, moving to a new
// file once one holds max bytes or more. It creates no file until the
// first Append.
func New(dir string, max int64) (*Journal, error) {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("journal name: %w", err)
	}
	return &Journal{dir: dir, max: max, owner: fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(r[:]))}, nil
}

// Append writes frame (StartFrame, the body, EndFrame) as one record, and
// seals it. If seqAt is positive, it first stores a fresh sequence number
// at frame[seqAt:] (8 bytes, little-endian) and returns it: sequence
// numbers are microseconds since 1970, bumped so that they increase within
// the process, and given under the append lock, so their order is the
// journal's. When Append returns nil the frame survives the death of the
// process. On error the frame is not in the journal: a partial write is
// taken back, and if that fails the next Append starts a new file.
func (j *Journal) Append(frame []byte, seqAt int) (int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return 0, ErrClosed
	}
	cur := j.current()
	if cur == nil || cur.broken || cur.size >= j.max {
		var err error
		if cur, err = j.rotate(); err != nil {
			return 0, err
		}
	}
	var seq int64
	if seqAt > 0 {
		seq = nextSeq()
		binary.LittleEndian.PutUint64(frame[seqAt:], uint64(seq))
	}
	Seal(frame)
	if n, err := cur.f.Write(frame); err != nil {
		// Take back a partial write so the frames after it stay readable;
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

// Written is the journal position after the last frame appended.
func (j *Journal) Written() uint64 { return j.written.Load() }

func (j *Journal) current() *Segment {
	if len(j.segs) == 0 {
		return nil
	}
	return j.segs[len(j.segs)-1]
}

// rotate starts a new journal file. The file is created and locked under a
// temporary name and only then given a name other stores look for, so no
// other store can take it for a dead one's.
func (j *Journal) rotate() (*Segment, error) {
	name := fmt.Sprintf("%s-%06d", j.owner, j.nextFile)
	final := Path(j.dir, name)
	tmp := filepath.Join(j.dir, tempPrefix+filepath.Base(final))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create capture journal: %w", err)
	}
	fail := func(err error) (*Segment, error) {
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
	s := &Segment{f: f, name: name, path: final, start: j.appended}
	j.segs = append(j.segs, s)
	return s, nil
}

// Unread finds the frames from journal position pos on: the file holding
// them, the offset of pos in it and how many bytes follow there. n is 0
// when everything is read.
func (j *Journal) Unread(pos uint64) (seg *Segment, off int64, n int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, s := range j.segs {
		if pos < s.end() {
			return s, int64(pos - s.start), int64(s.end() - pos)
		}
	}
	return nil, 0, 0
}

// Release hands back the files other than the one being written whose
// frames are all before journal position upTo (the reader is done with
// them), for the caller to rename or delete and then close. The journal
// forgets them.
func (j *Journal) Release(upTo uint64) []*Segment {
	j.mu.Lock()
	defer j.mu.Unlock()
	var done []*Segment
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

// Close stops appends and hands back every file, for the caller to rename
// or delete (everything is read) or just to close (the files stay, as
// journals nobody holds, for the next store to replay).
func (j *Journal) Close() []*Segment {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	segs := j.segs
	j.segs = nil
	return segs
}

// Stop refuses further appends without touching the files.
func (j *Journal) Stop() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
}

// CloseFileForTest closes the file being written under the journal, as a
// failing disk would make every write fail. For the store's tests.
func (j *Journal) CloseFileForTest() {
	j.mu.Lock()
	j.current().f.Close()
	j.mu.Unlock()
}

// TearForTest marks the file being written as holding bytes a failed
// write could not take back, so the next Append moves to a new file. For
// the store's tests.
func (j *Journal) TearForTest() {
	j.mu.Lock()
	j.current().broken = true
	j.mu.Unlock()
}

// seqState hands out sequence numbers: microseconds since the epoch, bumped
// by one when the clock has not moved on, so they increase within the
// process and roughly follow time across processes sharing a store.
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
