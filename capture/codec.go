package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/omega-listen/omega-listen/capture/internal/journal"
)

// Journal records are in the journal's frames (package journal: length,
// CRC-32C, body), and the body starts with a version byte and a kind byte.
const recordVersion = 1

// Record kinds.
const (
	// kindBegin holds a whole capture as Begin saw it. Applying it never
	// overwrites a row that exists, so replaying it after its Finish is harmless.
	kindBegin byte = 1
	// kindRecord holds a whole finished capture (Store.Record); it overwrites.
	kindRecord byte = 2
	// kindFinish holds only the outcome fields of a capture (Store.Finish).
	kindFinish byte = 3
)

// seqOffset is where the 8-byte Seq sits in a begin or record frame, so the
// frame can be encoded outside the journal lock and the Seq filled in under
// it (journal.Journal.Append).
const seqOffset = journal.HeaderLen + 2

// journalRecord is one decoded journal record. For kindFinish only the
// outcome fields of C are meaningful.
type journalRecord struct {
	kind byte
	c    Capture
	// req and resp locate the encoded headers and body of the request and
	// of the response (kindFinish: resp only) in the decoded bytes. The
	// index stores these locations instead of the bytes.
	req, resp blob
}

// blob locates one side's headers and body, encoded as appendHeader then
// appendBytes write them, in a journal file (or in bytes being decoded).
type blob struct {
	off  int64 // offset of the encoded headers
	n    int64 // length of headers and body together; 0 when both are empty
	body int   // length of the body alone
}

// encodeFrame appends the frame of one record to dst. The CRC and (for whole
// captures) the Seq are left for the journal's Append, which writes the
// Seq at seqOffset.
func encodeFrame(dst []byte, kind byte, c *Capture) []byte {
	start := len(dst)
	dst = append(journal.StartFrame(dst), recordVersion, kind)
	switch kind {
	case kindFinish:
		dst = appendString(dst, c.ID)
		dst = appendString(dst, string(c.State))
		dst = appendTime(dst, c.CompletedAt)
		dst = binary.AppendUvarint(dst, uint64(c.Flags))
		dst = appendString(dst, c.Target)
		dst = binary.AppendVarint(dst, int64(c.Status))
		dst = appendHeader(dst, c.RespHeaders)
		dst = appendBytes(dst, c.RespBody)
		dst = binary.AppendVarint(dst, int64(c.Duration))
		dst = appendString(dst, c.Error)
		dst = binary.AppendVarint(dst, int64(c.SentStatus))
	default:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(c.Seq))
		dst = appendString(dst, c.ID)
		dst = appendString(dst, c.SessionID)
		dst = appendString(dst, string(c.State))
		dst = appendTime(dst, c.ReceivedAt)
		dst = appendTime(dst, c.CompletedAt)
		dst = appendString(dst, c.RemoteAddr)
		dst = appendString(dst, c.Method)
		dst = appendString(dst, c.Path)
		dst = appendHeader(dst, c.Headers)
		dst = appendBytes(dst, c.Body)
		dst = appendString(dst, c.EventID)
		dst = appendString(dst, c.EventType)
		dst = appendString(dst, c.EndpointID)
		dst = appendTime(dst, c.EventCreated)
		dst = binary.AppendUvarint(dst, uint64(c.Flags))
		dst = appendString(dst, c.RejectReason)
		dst = appendString(dst, c.Target)
		dst = binary.AppendVarint(dst, int64(c.Status))
		dst = appendHeader(dst, c.RespHeaders)
		dst = appendBytes(dst, c.RespBody)
		dst = binary.AppendVarint(dst, int64(c.Duration))
		dst = appendString(dst, c.Error)
		dst = binary.AppendVarint(dst, int64(c.SentStatus))
		dst = appendString(dst, c.ReplayOf)
	}
	journal.EndFrame(dst[start:])
	return dst
}

// seqAt is where journal.Journal.Append is to store a fresh Seq in a frame
// of kind: seqOffset for whole captures, none (0) for finish frames.
func seqAt(kind byte) int {
	if kind == kindFinish {
		return 0
	}
	return seqOffset
}

// frameSizeHint estimates the encoded size of c so encodeFrame rarely grows
// its buffer.
func frameSizeHint(c *Capture) int {
	n := 256 + len(c.Body) + len(c.RespBody) + len(c.ID) + len(c.Path) + len(c.Target) + len(c.Error)
	for k, vs := range c.Headers {
		n += len(k) + 2
		for _, v := range vs {
			n += len(v) + 2
		}
	}
	for k, vs := range c.RespHeaders {
		n += len(k) + 2
		for _, v := range vs {
			n += len(v) + 2
		}
	}
	return n
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendBytes writes b; an empty b reads back as nil.
func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// appendTime writes t to the nanosecond; the location is not kept (times
// read back are in time.Local).
func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// appendHeader writes h as a count of keys, then each key with its values.
// An empty h reads back as nil.
func appendHeader(dst []byte, h http.Header) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(h)))
	for k, vs := range h {
		dst = appendString(dst, k)
		dst = binary.AppendUvarint(dst, uint64(len(vs)))
		for _, v := range vs {
			dst = appendString(dst, v)
		}
	}
	return dst
}

// decodeFrames decodes the frames in b, in order, stopping at the first one
// that is incomplete or damaged. It returns the records before that point
// and how many bytes of b they span; err says why decoding stopped early and
// is nil when b ends cleanly. errors.Is(err, journal.ErrTorn) tells a frame cut
// short at the end of b from one that is complete but damaged.
//
// Every record's req and resp say where its headers and bodies are in b.
// With full false the headers and bodies are checked but left undecoded
// (Headers, Body, RespHeaders and RespBody stay nil), which is all the
// indexer needs. Byte slices in the records alias b.
func decodeFrames(b []byte, full bool) (recs []journalRecord, good int, err error) {
	fd := frameDecoder{full: full}
	return fd.decode(b)
}

// frameDecoder is decodeFrames keeping, from one call to the next, its
// records (each call's are valid until the next) and the strings that
// recur from capture to capture, so that indexing allocates little.
type frameDecoder struct {
	full   bool
	recs   []journalRecord
	intern map[string]string
}

// maxInterned bounds frameDecoder.intern, which client addresses would
// otherwise grow without end.
const maxInterned = 4096

func (fd *frameDecoder) decode(b []byte) (recs []journalRecord, good int, err error) {
	if fd.intern == nil {
		fd.intern = make(map[string]string)
	}
	if len(fd.intern) > maxInterned {
		clear(fd.intern)
	}
	recs = fd.recs[:0]
	defer func() { fd.recs = recs }()
	for good < len(b) {
		body, size, err := journal.Next(b[good:])
		if errors.Is(err, journal.ErrTorn) {
			return recs, good, err
		}
		if err != nil {
			return recs, good, fmt.Errorf("record at offset %d: %w", good, err)
		}
		r, err := decodeRecord(body, int64(good+journal.HeaderLen), fd.full, fd.intern)
		if err != nil {
			return recs, good, fmt.Errorf("record at offset %d: %w", good, err)
		}
		recs = append(recs, r)
		good += size
	}
	return recs, good, nil
}

// decodeRecord decodes one frame body (version byte onwards) found at
// offset base of what decodeFrames decodes. Strings that recur from capture
// to capture are taken from intern, and added to it.
func decodeRecord(body []byte, base int64, full bool, intern map[string]string) (journalRecord, error) {
	if len(body) < 2 {
		return journalRecord{}, errors.New("record too short")
	}
	if body[0] != recordVersion {
		return journalRecord{}, fmt.Errorf("unknown record version %d (written by a newer omega-listen?)", body[0])
	}
	r := journalRecord{kind: body[1]}
	d := decoder{b: body[2:], intern: intern}
	c := &r.c
	side := func(h *http.Header, b *[]byte) blob {
		start := len(body) - len(d.b)
		var keys uint64
		var x blob
		if full {
			*h, *b = d.header(), d.bytes()
			keys, x.body = uint64(len(*h)), len(*b)
		} else {
			keys = d.skipHeader()
			x.body = len(d.take(d.uvarint()))
		}
		if keys == 0 && x.body == 0 {
			return blob{}
		}
		x.off, x.n = base+int64(start), int64(len(body)-len(d.b)-start)
		return x
	}
	switch r.kind {
	case kindFinish:
		c.ID = d.string()
		c.State = State(d.istring())
		c.CompletedAt = d.time()
		c.Flags = d.flags()
		c.Target = d.istring()
		c.Status = d.int()
		r.resp = side(&c.RespHeaders, &c.RespBody)
		c.Duration = time.Duration(d.varint())
		c.Error = d.istring()
		c.SentStatus = d.int()
	case kindBegin, kindRecord:
		c.Seq = d.fixed64()
		c.ID = d.string()
		c.SessionID = d.istring()
		c.State = State(d.istring())
		c.ReceivedAt = d.time()
		c.CompletedAt = d.time()
		c.RemoteAddr = d.istring()
		c.Method = d.istring()
		c.Path = d.istring()
		r.req = side(&c.Headers, &c.Body)
		c.EventID = d.string()
		c.EventType = d.istring()
		c.EndpointID = d.istring()
		c.EventCreated = d.time()
		c.Flags = d.flags()
		c.RejectReason = d.istring()
		c.Target = d.istring()
		c.Status = d.int()
		r.resp = side(&c.RespHeaders, &c.RespBody)
		c.Duration = time.Duration(d.varint())
		c.Error = d.istring()
		c.SentStatus = d.int()
		c.ReplayOf = d.istring()
	default:
		return journalRecord{}, fmt.Errorf("unknown record kind %d", r.kind)
	}
	if d.err != nil {
		return journalRecord{}, d.err
	}
	if len(d.b) != 0 {
		return journalRecord{}, fmt.Errorf("%d unexpected bytes after record", len(d.b))
	}
	if c.ID == "" {
		return journalRecord{}, errors.New("record without a capture ID")
	}
	return r, nil
}

// decoder reads the fields encodeFrame writes. After the first error every
// read returns a zero value and err keeps that first error.
type decoder struct {
	b      []byte
	err    error
	intern map[string]string // see istring; nil: none
}

var errShort = errors.New("record ends in the middle of a field")

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail(fmt.Errorf("status %d out of range", v))
		return 0
	}
	return int(v)
}

func (d *decoder) flags() Flags {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail(fmt.Errorf("flags %#x out of range", v))
		return 0
	}
	return Flags(v)
}

func (d *decoder) fixed64() int64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail(errShort)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return int64(v)
}

// take returns the next n bytes, aliasing the input.
func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.take(d.uvarint())) }

// istring is string for a field whose values recur (a method, a path, an
// event type): it returns the copy in d.intern rather than a new one.
func (d *decoder) istring() string {
	b := d.take(d.uvarint())
	if d.intern == nil || len(b) == 0 || len(b) > 256 {
		return string(b)
	}
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	d.intern[s] = s
	return s
}

func (d *decoder) bytes() []byte {
	v := d.take(d.uvarint())
	if len(v) == 0 {
		return nil
	}
	return v
}

func (d *decoder) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	if len(d.b) == 0 {
		d.fail(errShort)
		return time.Time{}
	}
	tag := d.b[0]
	d.b = d.b[1:]
	switch tag {
	case 0:
		return time.Time{}
	case 1:
		sec := d.varint()
		nsec := d.uvarint()
		if nsec >= 1e9 {
			d.fail(fmt.Errorf("nanoseconds %d out of range", nsec))
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec))
	default:
		d.fail(fmt.Errorf("unknown time tag %d", tag))
		return time.Time{}
	}
}

// skipHeader checks what header would decode, keeping none of it, and
// returns how many keys there are.
func (d *decoder) skipHeader() uint64 {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return 0
	}
	if n > uint64(len(d.b))/2 {
		d.fail(errShort)
		return 0
	}
	for range n {
		d.take(d.uvarint())
		m := d.uvarint()
		if m > uint64(len(d.b)) {
			d.fail(errShort)
			return 0
		}
		for range m {
			d.take(d.uvarint())
		}
		if d.err != nil {
			return 0
		}
	}
	return n
}

// decodeBlob decodes the headers and body a blob locates. The body aliases b.
func decodeBlob(b []byte) (http.Header, []byte, error) {
	d := decoder{b: b}
	h, body := d.header(), d.bytes()
	if d.err != nil {
		return nil, nil, d.err
	}
	if len(d.b) != 0 {
		return nil, nil, fmt.Errorf("%d unexpected bytes after headers and body", len(d.b))
	}
	return h, body, nil
}

func (d *decoder) header() http.Header {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return nil
	}
	// Each key takes at least two bytes, which bounds what a damaged count
	// can make us allocate.
	if n > uint64(len(d.b))/2 {
		d.fail(errShort)
		return nil
	}
	h := make(http.Header, n)
	for range n {
		k := d.string()
		m := d.uvarint()
		if m > uint64(len(d.b)) {
			d.fail(errShort)
			return nil
		}
		vs := make([]string, m)
		for i := range vs {
			vs[i] = d.string()
		}
		if d.err != nil {
			return nil
		}
		h[k] = vs
	}
	return h
}
