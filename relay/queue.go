package relay

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omega-listen/omega-listen/relay/wire"
)

// A name's queue is a directory of three files:
//
//	queue.log  records appended in order: [u32 length][u32 CRC-32C][Deliver frame]
//	acked      the highest ID delivered and recorded by the listener
//	epoch      random, made with the directory: IDs compare within one epoch only
//
// A record is fsynced before the sender is told 202, so an accepted
// delivery survives SIGKILL and power loss. acked is written without
// fsync: losing it to a power cut redelivers deliveries the client then
// recognises (it keeps its own mark) rather than losing any. When every
// record is acked, queue.log is truncated.
type queue struct {
	dir   string
	epoch string

	mu      sync.Mutex
	log     *os.File
	ackF    *os.File
	size    int64   // bytes of whole records in log
	entries []entry // unacked, in ID order; entries[head:] are live
	head    int
	bytes   int64 // body bytes of the unacked entries
	next    uint64
	acked   uint64
	broken  error // a failed write or sync: no more appends

	// written counts every byte ever appended (it survives truncation), so
	// that a sync knows what it covers.
	written atomic.Int64
	syncMu  sync.Mutex
	synced  int64 // written is durable up to here
}

type entry struct {
	id  uint64
	off int64 // of the record's header
	n   int32 // record length, header included
	at  int64 // AcceptedAt, unix nanoseconds
	sz  int32 // body bytes
}

const recHeader = 8

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func openQueue(dir string) (*queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating queue directory: %w", err)
	}
	q := &queue{dir: dir}
	ep := filepath.Join(dir, "epoch")
	if b, err := os.ReadFile(ep); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		q.epoch = strings.TrimSpace(string(b))
	} else {
		var r [8]byte
		_, _ = rand.Read(r[:])
		q.epoch = hex.EncodeToString(r[:])
		if err := writeFileSync(ep, []byte(q.epoch+"\n")); err != nil {
			return nil, err
		}
	}
	var err error
	q.ackF, err = os.OpenFile(filepath.Join(dir, "acked"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening queue: %w", err)
	}
	var ab [32]byte
	n, _ := q.ackF.ReadAt(ab[:], 0)
	if s := strings.TrimSpace(string(ab[:n])); s != "" {
		q.acked, _ = strconv.ParseUint(s, 10, 64)
	}
	q.log, err = os.OpenFile(filepath.Join(dir, "queue.log"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		q.ackF.Close()
		return nil, fmt.Errorf("opening queue: %w", err)
	}
	if err := q.scan(); err != nil {
		q.close()
		return nil, err
	}
	q.next = q.acked + 1
	if len(q.entries) > 0 {
		q.next = max(q.next, q.entries[len(q.entries)-1].id+1)
	}
	return q, nil
}

// scan reads the log, keeping the unacked records, and cuts off a torn
// last record (one never answered 202: it was not synced).
func (q *queue) scan() error {
	st, err := q.log.Stat()
	if err != nil {
		return err
	}
	total := st.Size()
	var off int64
	var hdr [recHeader]byte
	for off+recHeader <= total {
		if _, err := q.log.ReadAt(hdr[:], off); err != nil {
			return fmt.Errorf("reading queue: %w", err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		if off+recHeader+n > total {
			break
		}
		payload := make([]byte, n)
		if _, err := q.log.ReadAt(payload, off+recHeader); err != nil {
			return fmt.Errorf("reading queue: %w", err)
		}
		if crc32.Checksum(payload, crcTable) != binary.BigEndian.Uint32(hdr[4:]) {
			break
		}
		v, err := wire.Decode(payload)
		d, ok := v.(*wire.Deliver)
		if err != nil || !ok {
			break
		}
		if d.ID > q.acked {
			q.entries = append(q.entries, entry{id: d.ID, off: off, n: int32(recHeader + n), at: d.AcceptedAt.UnixNano(), sz: int32(len(d.Body))})
			q.bytes += int64(len(d.Body))
		}
		off += recHeader + n
	}
	if off != total {
		if err := q.log.Truncate(off); err != nil {
			return fmt.Errorf("cutting a torn record off the queue: %w", err)
		}
	}
	q.size = off
	return nil
}

// limits are a queue's bounds.
type limits struct {
	count int
	bytes int64
	age   time.Duration
}

// fullError says which limit a delivery met.
type fullError struct{ reason string }

func (e *fullError) Error() string { return e.reason }

// append stores d durably, giving it the next ID. It returns the ID and
// how many deliveries wait ahead of it.
func (q *queue) append(d *wire.Deliver, lim limits, now time.Time) (uint64, int, error) {
	q.mu.Lock()
	if q.broken != nil {
		q.mu.Unlock()
		return 0, 0, q.broken
	}
	n := len(q.entries) - q.head
	switch {
	case lim.count > 0 && n >= lim.count:
		q.mu.Unlock()
		return 0, 0, &fullError{fmt.Sprintf("the queue holds %d deliveries, its limit", n)}
	case lim.bytes > 0 && q.bytes+int64(len(d.Body)) > lim.bytes:
		q.mu.Unlock()
		return 0, 0, &fullError{fmt.Sprintf("the queue holds %d bytes of bodies, and this one would pass its limit of %d", q.bytes, lim.bytes)}
	case lim.age > 0 && n > 0 && now.Sub(time.Unix(0, q.entries[q.head].at)) > lim.age:
		q.mu.Unlock()
		return 0, 0, &fullError{fmt.Sprintf("its oldest queued delivery is older than %s: the listener has been away too long", lim.age)}
	}
	d.ID, d.Queued = q.next, true
	payload := wire.EncodeDeliver(make([]byte, recHeader, recHeader+len(d.Body)+256), d)
	binary.BigEndian.PutUint32(payload[:4], uint32(len(payload)-recHeader))
	binary.BigEndian.PutUint32(payload[4:8], crc32.Checksum(payload[recHeader:], crcTable))
	off := q.size
	if _, err := q.log.WriteAt(payload, off); err != nil {
		_ = q.log.Truncate(off)
		q.mu.Unlock()
		return 0, 0, fmt.Errorf("writing the queue: %w", err)
	}
	q.next++
	q.size += int64(len(payload))
	q.entries = append(q.entries, entry{id: d.ID, off: off, n: int32(len(payload)), at: d.AcceptedAt.UnixNano(), sz: int32(len(d.Body))})
	q.bytes += int64(len(d.Body))
	end := q.written.Add(int64(len(payload)))
	q.mu.Unlock()
	if err := q.sync(end); err != nil {
		q.mu.Lock()
		q.broken = fmt.Errorf("the queue's disk failed: %w", err)
		q.mu.Unlock()
		return 0, 0, err
	}
	return d.ID, n, nil
}

// sync makes the log durable up to end. Appenders waiting together share
// one fsync.
func (q *queue) sync(end int64) error {
	q.syncMu.Lock()
	defer q.syncMu.Unlock()
	if q.synced >= end {
		return nil
	}
	upto := q.written.Load()
	if err := q.log.Sync(); err != nil {
		return err
	}
	q.synced = upto
	return nil
}

// after returns the unacked entries with ID > id, at most n of them.
func (q *queue) after(id uint64, n int) []entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	live := q.entries[q.head:]
	i := 0
	for i < len(live) && live[i].id <= id {
		i++
	}
	return append([]entry(nil), live[i:min(len(live), i+n)]...)
}

// errAcked: the entry was acked (and its place in the log maybe reused)
// since it was listed.
var errAcked = errors.New("already delivered")

// read loads an entry's delivery from the log.
func (q *queue) read(e entry) (*wire.Deliver, error) {
	buf := make([]byte, e.n)
	q.mu.Lock()
	if e.id <= q.acked {
		q.mu.Unlock()
		return nil, errAcked
	}
	_, err := q.log.ReadAt(buf, e.off)
	q.mu.Unlock()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading queued delivery %d: %w", e.id, err)
	}
	v, err := wire.Decode(buf[recHeader:])
	d, ok := v.(*wire.Deliver)
	if err != nil || !ok || d.ID != e.id {
		return nil, fmt.Errorf("queued delivery %d is damaged: %v", e.id, err)
	}
	return d, nil
}

// ack removes every entry up to id: the listener recorded them.
func (q *queue) ack(id uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if id <= q.acked {
		return nil
	}
	if id >= q.next {
		id = q.next - 1
	}
	q.acked = id
	for q.head < len(q.entries) && q.entries[q.head].id <= id {
		q.bytes -= int64(q.entries[q.head].sz)
		q.head++
	}
	s := strconv.FormatUint(id, 10)
	s += strings.Repeat(" ", 24-len(s))
	if _, err := q.ackF.WriteAt([]byte(s), 0); err != nil {
		return fmt.Errorf("writing the queue's mark: %w", err)
	}
	if q.head == len(q.entries) {
		q.entries, q.head, q.bytes = q.entries[:0], 0, 0
		if q.size > 0 {
			// Everything was delivered: start the log afresh. The mark is
			// written first, so a crash in between leaves nothing to redo.
			if err := q.log.Truncate(0); err == nil {
				q.size = 0
			}
		}
	} else if q.head > 1024 && q.head*2 > len(q.entries) {
		q.entries = append([]entry(nil), q.entries[q.head:]...)
		q.head = 0
	}
	return nil
}

// len is the number of unacked deliveries.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries) - q.head
}

func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.log != nil {
		_ = q.log.Close()
	}
	if q.ackF != nil {
		_ = q.ackF.Close()
	}
}

func writeFileSync(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
