package capture

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/omega-listen/omega-listen/capture/internal/journal"
)

// DefaultRetain is how many captures a store keeps when Options.Retain is 0.
const DefaultRetain = 10000

// segmentMax is the size past which appends move to a new journal file, so
// that the bodies of pruned captures can be dropped by deleting whole
// files. (A variable so tests can make many files.)
var segmentMax int64 = 8 << 20

// ErrClosed is returned by writes to a closed Store.
var ErrClosed = journal.ErrClosed

// dbName is the SQLite file in the data dir; SQLite adds -wal and -shm.
const dbName = "captures.db"

// indexDelay is how long the indexer lets records gather after the first
// one arrives, so one SQLite transaction covers a burst instead of each
// record paying for its own. Readers do not wait for it (see Flush).
const indexDelay = 100 * time.Millisecond

// Options configure a Store.
type Options struct {
	// Retain is how many captures to keep; the oldest (by Seq) beyond it
	// are deleted as new ones are indexed. 0 means DefaultRetain, a
	// negative number keeps everything.
	Retain int
	// Logger receives indexing problems and journal recovery notes. Nil
	// discards them.
	Logger *slog.Logger
	// Bus, if set, is told of every capture this Store writes: Begin
	// publishes Received, Finish publishes Completed, and Record publishes
	// both (the Received already done). It publishes
	// also when the write failed (the disk is full, say), so what arrived
	// still shows; the caller gets the error as well.
	Bus *Bus

	// noIndexer leaves the index alone, for benchmarks of the write path.
	noIndexer bool
}

// Store is the durable record of captures: an append-only journal that
// Begin and Finish write synchronously, and a SQLite index that a
// background goroutine brings up to date and every read consults. See the
// package documentation for what survives what.
type Store struct {
	dir    string
	dbPath string
	db     *sql.DB
	log    *slog.Logger
	retain int
	j      *journal.Journal
	bus    *Bus // may be nil

	kick   chan struct{} // something was appended
	urgent chan struct{} // a reader is waiting: index now
	stop   chan struct{} // Close: index everything, then exit
	kill   chan struct{} // tests: exit at once, as if the process died
	done   chan struct{} // the indexer has exited

	prog struct {
		sync.Mutex
		indexed uint64        // journal position committed to SQLite
		err     error         // why the last indexing attempt failed; nil after a success
		changed chan struct{} // closed and replaced whenever indexed or err changes
	}

	// Indexer only (Open, then indexLoop):
	rows  int            // how many rows captures has, as far as we know
	ix    *indexConn     // connection and statements
	pos   uint64         // journal position indexed up to
	buf   []byte         // journal bytes being indexed
	dec   frameDecoder   // decodes buf
	begun map[string]int // see coalesce

	noIndexer bool // see Options.noIndexer

	closeOnce sync.Once
	closeErr  error
}

// Open opens the store in dir, creating dir (mode 0700) and the store
// files (mode 0600) as needed, and indexes whatever journals of stores that
// died (crashed or killed) left behind.
func Open(dir string, o Options) (*Store, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	s := &Store{
		dir:    dir,
		dbPath: filepath.Join(dir, dbName),
		log:    o.Logger,
		retain: o.Retain,
		bus:    o.Bus,
		kick:   make(chan struct{}, 1),
		urgent: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		kill:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.retain == 0 {
		s.retain = DefaultRetain
	}
	s.prog.changed = make(chan struct{})
	db, err := openDB(s.dbPath)
	if err != nil {
		return nil, err
	}
	s.db = db
	if err := s.db.QueryRow("SELECT count(*) FROM captures").Scan(&s.rows); err != nil {
		db.Close()
		return nil, s.dbError("count captures", err)
	}
	if err := s.recover(); err != nil {
		s.closeIndexConn()
		db.Close()
		return nil, err
	}
	s.dropSegments(context.Background()) // what a store that died left to drop
	if s.j, err = journal.New(dir, segmentMax); err != nil {
		s.closeIndexConn()
		db.Close()
		return nil, err
	}
	s.noIndexer = o.noIndexer
	if o.noIndexer {
		go func() {
			defer close(s.done)
			select {
			case <-s.stop:
			case <-s.kill:
			}
		}()
	} else {
		go s.indexLoop()
	}
	return s, nil
}

// makeDir creates dir as 0700 if it does not exist. An existing dir is the
// user's and keeps its mode.
func makeDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return &StoreError{Problem: NotADirectory, Path: dir}
	case err == nil:
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("capture store: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create capture store: %w", err)
	}
	// MkdirAll's mode passes through the umask; make it exactly 0700.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("create capture store: %w", err)
	}
	return nil
}

// Begin records c as received, before it is forwarded: when Begin returns
// nil, c survives the death of this process. It sets c.ID (if empty), c.Seq,
// c.State (pending) and c.ReceivedAt (if zero). On error (disk full,
// read-only) nothing is recorded; the caller may still forward c.
func (s *Store) Begin(ctx context.Context, c *Capture) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	if c.ReceivedAt.IsZero() {
		c.ReceivedAt = time.Now()
	}
	c.State = StatePending
	err := s.appendCapture(kindBegin, c)
	s.publish(Received, c)
	return err
}

// Finish records the outcome of a capture that Begin recorded: when it
// returns nil the outcome survives the death of this process. It sets
// c.State (done) and c.CompletedAt (if zero). Only the outcome fields are
// written: State, CompletedAt, Flags, Target (when not empty), Status,
// RespHeaders, RespBody, Duration, Error and SentStatus.
func (s *Store) Finish(ctx context.Context, c *Capture) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.ID == "" {
		return errors.New("finish capture: capture has no ID (was it passed to Begin?)")
	}
	c.State = StateDone
	if c.CompletedAt.IsZero() {
		c.CompletedAt = time.Now()
	}
	err := s.appendCapture(kindFinish, c)
	s.publish(Completed, c)
	return err
}

// Record stores a finished capture in one write: a rejected request, or the
// result of a replay. It sets what Begin and Finish set. Recording an ID
// that exists overwrites it (keeping its Seq in the index).
func (s *Store) Record(ctx context.Context, c *Capture) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	if c.ID == "" {
		c.ID = NewID()
	}
	if c.ReceivedAt.IsZero() {
		c.ReceivedAt = now
	}
	if c.CompletedAt.IsZero() {
		c.CompletedAt = now
	}
	c.State = StateDone
	err := s.appendCapture(kindRecord, c)
	s.publish(Received, c)
	s.publish(Completed, c)
	return err
}

// publish tells the bus, if any, what was just written. Bus.Publish takes
// its own copy and never blocks, so this costs the delivery path nothing
// more than the copy.
func (s *Store) publish(kind EventKind, c *Capture) {
	if s.bus != nil {
		s.bus.Publish(kind, c)
	}
}

// framePool recycles encoding buffers: the journal keeps no reference to a
// frame once it is written.
var framePool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledFrame keeps an occasional huge body from pinning its buffer.
const maxPooledFrame = 64 << 10

func (s *Store) appendCapture(kind byte, c *Capture) error {
	bp := framePool.Get().(*[]byte)
	frame := encodeFrame(slices.Grow((*bp)[:0], frameSizeHint(c)), kind, c)
	seq, err := s.j.Append(frame, seqAt(kind))
	if cap(frame) <= maxPooledFrame {
		*bp = frame
		framePool.Put(bp)
	}
	if err != nil {
		return fmt.Errorf("record capture %s: %w", c.ID, err)
	}
	if kind != kindFinish {
		c.Seq = seq
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

// Flush waits until everything appended to this store's journal so far is
// in the SQLite index. Reads call it, so a read sees every write that
// returned before it. It returns early with the indexer's error when the
// last attempt to index failed (the indexer keeps retrying).
func (s *Store) Flush(ctx context.Context) error {
	target := s.j.Written()
	for {
		s.prog.Lock()
		indexed, err, changed := s.prog.indexed, s.prog.err, s.prog.changed
		s.prog.Unlock()
		if indexed >= target {
			return nil
		}
		if err != nil {
			return fmt.Errorf("capture index %s is behind (the records are safe in the journal and indexing is retried): %w", s.dbPath, err)
		}
		select {
		case s.urgent <- struct{}{}:
		default:
		}
		select {
		case <-changed:
		case <-s.done:
			s.prog.Lock()
			indexed = s.prog.indexed
			s.prog.Unlock()
			if indexed >= target {
				return nil
			}
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Store) setProgress(indexed uint64, err error) {
	s.prog.Lock()
	defer s.prog.Unlock()
	if indexed > s.prog.indexed {
		s.prog.indexed = indexed
	}
	s.prog.err = err
	close(s.prog.changed)
	s.prog.changed = make(chan struct{})
}

// Close indexes everything written, renames the journal files to bodies
// files (or deletes those the index does not refer to) and closes the
// store. If indexing fails, the journal is kept for the next Open to replay
// and Close says so.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.j.Stop()
		close(s.stop)
		<-s.done
		s.prog.Lock()
		indexed, err := s.prog.indexed, s.prog.err
		s.prog.Unlock()
		all := indexed >= s.j.Written()
		for _, seg := range s.j.Close() {
			if all {
				s.retire(seg.Name())
			}
			seg.Close()
		}
		s.closeIndexConn()
		if !all {
			if err == nil {
				err = errors.New("indexer stopped")
			}
			s.closeErr = fmt.Errorf("close capture store: some captures are only in the journal in %s and will be indexed when the store is next opened: %w", s.dir, err)
		}
		if err := s.db.Close(); err != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("close capture store %s: %w", s.dbPath, err)
		}
	})
	return s.closeErr
}

// crash stops the store the way the death of its process would: no more
// indexing, journal files left in place and unlocked. For tests.
func (s *Store) crash() {
	s.closeOnce.Do(func() {
		s.j.Stop()
		close(s.kill)
		<-s.done
		for _, seg := range s.j.Close() {
			seg.Close()
		}
		s.closeIndexConn()
		s.db.Close()
		s.closeErr = ErrClosed
	})
}

// batchMax bounds how much of the journal the indexer reads (and holds in
// memory) for one transaction.
const batchMax = 1 << 20

// indexLoop moves journal records into SQLite, reading them back from the
// journal files, one transaction per batch of whatever is pending.
func (s *Store) indexLoop() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		failures int
		stopping bool
	)
	for {
		if !stopping {
			select {
			case <-s.kill:
				return
			case <-s.stop:
				stopping = true
			case <-s.urgent:
			case <-s.kick:
				timer.Reset(indexDelay)
				select {
				case <-timer.C:
				case <-s.urgent:
					timer.Stop()
				case <-s.stop:
					timer.Stop()
					stopping = true
				case <-s.kill:
					return
				}
			}
		}
		for {
			err := s.indexAvailable()
			if err == nil {
				failures = 0
				break
			}
			failures++
			s.setProgress(0, err)
			s.log.Error("indexing captures failed; they are kept in the journal and indexing will be retried",
				"db", s.dbPath, "attempt", failures, "err", err)
			if stopping && failures >= 3 {
				return
			}
			timer.Reset(min(50*time.Millisecond<<min(failures-1, 7), 5*time.Second))
			select {
			case <-timer.C:
			case <-s.stop:
				timer.Stop()
				stopping = true
			case <-s.kill:
				return
			}
		}
		if stopping {
			return
		}
	}
}

// indexAvailable indexes everything appended to the journal so far.
func (s *Store) indexAvailable() error {
	for {
		seg, off, n := s.j.Unread(s.pos)
		if n == 0 {
			s.setProgress(s.pos, nil)
			return nil
		}
		var next uint64
		var err error
		s.buf, next, err = s.indexSegment(seg, off, n, s.buf)
		if cap(s.buf) > batchMax {
			s.buf = nil // a huge record passed; do not keep its buffer
		}
		if err != nil {
			return err
		}
		s.pos += next
		s.setProgress(s.pos, nil)
		for _, seg := range s.j.Release(s.pos) {
			s.retire(seg.Name())
			seg.Close()
		}
	}
}

// indexSegment indexes records from the n bytes at off in seg, returning
// how many bytes it consumed (whole records; at least one unless err).
func (s *Store) indexSegment(seg *journal.Segment, off, n int64, buf []byte) ([]byte, uint64, error) {
	size := min(n, batchMax)
	for {
		buf = slices.Grow(buf[:0], int(size))[:size]
		if _, err := seg.ReadAt(buf, off); err != nil {
			return buf, 0, fmt.Errorf("read capture journal %s: %w", seg.Path(), err)
		}
		recs, good, derr := s.dec.decode(buf)
		if good == 0 && errors.Is(derr, journal.ErrTorn) && size < n && len(buf) >= journal.HeaderLen {
			// One record bigger than a batch: read exactly it.
			size = min(n, journal.Size(buf))
			continue
		}
		if derr != nil && !(errors.Is(derr, journal.ErrTorn) && good > 0) {
			// We wrote these bytes; unreadable means the disk or memory is
			// failing. Index what came before and skip the file's rest
			// rather than retry forever.
			s.log.Error("capture journal is unreadable; captures in the rest of it are not indexed",
				"file", seg.Path(), "offset", off+int64(good), "err", derr)
			good = int(n)
		}
		for i := range recs {
			recs[i].req.off += off
			recs[i].resp.off += off
		}
		if err := s.apply(seg.Name(), recs); err != nil {
			return buf, 0, err
		}
		return buf, uint64(good), nil
	}
}

// recover indexes the journals of stores that are gone and deletes them.
// A journal still locked belongs to a live store and is left alone.
func (s *Store) recover() error {
	names, err := journal.Orphans(s.dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := s.replay(name); err != nil {
			return err
		}
	}
	return nil
}

// replay indexes the journal of segment name if no live store holds it,
// then renames it as a store does a journal it has indexed (see retire). A
// record cut short at the end (the process died mid-write) is dropped;
// damage before the end leaves a copy of the file, as *.damaged, for
// inspection.
func (s *Store) replay(name string) error {
	f, err := journal.Claim(s.dir, name)
	if err != nil || f == nil {
		return err // nil: a live store's, or another store replayed it first
	}
	defer f.Close()
	path := journal.Path(s.dir, name)
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read capture journal %s: %w", path, err)
	}
	recs, good, derr := decodeFrames(b, false)
	if err := s.apply(name, recs); err != nil {
		return fmt.Errorf("index capture journal %s: %w", path, err)
	}
	switch {
	case derr != nil && !errors.Is(derr, journal.ErrTorn) && !journal.LastFrame(b, good):
		kept := path + ".damaged"
		s.log.Warn("capture journal is damaged; indexed the records before the damage and kept a copy of the file",
			"file", kept, "records", len(recs), "err", derr)
		if err := os.WriteFile(kept, b, 0o600); err != nil {
			return fmt.Errorf("capture journal %s is damaged (%v) and could not be copied aside: %w; move it out of %s", path, derr, err, s.dir)
		}
	case derr != nil:
		s.log.Info("dropped an incomplete record at the end of a capture journal", "file", path, "records", len(recs), "err", derr)
	}
	if len(recs) > 0 {
		s.log.Info("indexed captures left in the journal of a store that did not close", "file", path, "records", len(recs))
	}
	s.retire(name)
	return nil
}
