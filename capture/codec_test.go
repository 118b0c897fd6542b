package capture

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/omega-listen/omega-listen/capture/internal/journal"
)

// sealFrame does to a frame made by encodeFrame what the journal's Append
// does: store seq (for whole-capture frames), then the CRC.
func sealFrame(frame []byte, seq int64) {
	if at := seqAt(frame[journal.HeaderLen+1]); at > 0 {
		binary.LittleEndian.PutUint64(frame[at:], uint64(seq))
	}
	journal.Seal(frame)
}

func frames(t testing.TB, recs ...journalRecord) []byte {
	var b []byte
	for i := range recs {
		start := len(b)
		b = encodeFrame(b, recs[i].kind, &recs[i].c)
		sealFrame(b[start:], recs[i].c.Seq)
	}
	return b
}

func TestCodecRoundTrip(t *testing.T) {
	begin := fullCapture(1)
	begin.ID, begin.Seq, begin.State = "c_x", 42, StatePending
	done := *begin
	finishFull(&done)
	done.State = StateDone
	cases := []struct {
		name string
		rec  journalRecord
		want Capture
	}{
		{"begin", journalRecord{kind: kindBegin, c: *begin}, *begin},
		{"record", journalRecord{kind: kindRecord, c: done}, done},
		{"finish carries only the outcome", journalRecord{kind: kindFinish, c: done}, Capture{
			Meta: Meta{
				ID: done.ID, State: done.State, CompletedAt: done.CompletedAt, Flags: done.Flags,
				Target: done.Target, Status: done.Status,
				Duration: done.Duration, Error: done.Error, SentStatus: done.SentStatus,
			},
			RespHeaders: done.RespHeaders, RespBody: done.RespBody,
		}},
		{"empty", journalRecord{kind: kindBegin, c: Capture{Meta: Meta{ID: "c_y"}}}, Capture{Meta: Meta{ID: "c_y"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, good, err := decodeFrames(frames(t, tc.rec), true)
			if err != nil || len(recs) != 1 {
				t.Fatalf("decode: %d records, %v", len(recs), err)
			}
			if good == 0 || recs[0].kind != tc.rec.kind {
				t.Fatalf("decoded kind %d, good %d", recs[0].kind, good)
			}
			sameCapture(t, &tc.want, &recs[0].c)
		})
	}
}

func TestDecodeFramesRejects(t *testing.T) {
	valid := frames(t, journalRecord{kind: kindBegin, c: Capture{Meta: Meta{ID: "c_1", Seq: 1}}}, journalRecord{kind: kindFinish, c: Capture{Meta: Meta{ID: "c_1"}}})
	first := len(frames(t, journalRecord{kind: kindBegin, c: Capture{Meta: Meta{ID: "c_1", Seq: 1}}}))
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	reseal := func(b []byte) []byte { // fix the CRC after editing the body of the first frame
		sealFrame(b[:first], int64(1))
		return b
	}
	cases := []struct {
		name string
		in   []byte
		recs int
		torn bool
	}{
		{"valid", valid, 2, false},
		{"empty", nil, 0, false},
		{"cut in second header", valid[:first+3], 1, true},
		{"cut in second body", valid[:len(valid)-1], 1, true},
		{"bad checksum", mutate(func(b []byte) []byte { b[first-1] ^= 1; return b }), 0, false},
		{"unknown version", mutate(func(b []byte) []byte { b[journal.HeaderLen] = 9; return reseal(b) }), 0, false},
		{"unknown kind", mutate(func(b []byte) []byte { b[journal.HeaderLen+1] = 77; return reseal(b) }), 0, false},
		{"length too small", mutate(func(b []byte) []byte { b[0], b[1], b[2], b[3] = 1, 0, 0, 0; return b }), 0, false},
		{"length too large", mutate(func(b []byte) []byte { b[0], b[1], b[2], b[3] = 0xff, 0xff, 0xff, 0x7f; return b }), 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, good, err := decodeFrames(tc.in, true)
			if len(recs) != tc.recs {
				t.Errorf("%d records, want %d (err %v)", len(recs), tc.recs, err)
			}
			if tc.recs == 2 && (err != nil || good != len(tc.in)) {
				t.Errorf("valid input: good %d of %d, err %v", good, len(tc.in), err)
			}
			if tc.recs < 2 && tc.in != nil && err == nil {
				t.Error("no error for bad input")
			}
			if errors.Is(err, journal.ErrTorn) != tc.torn {
				t.Errorf("torn = %v, want %v (err %v)", errors.Is(err, journal.ErrTorn), tc.torn, err)
			}
		})
	}
}

// FuzzDecodeFrames: journal files are read back from disk, so the decoder
// must survive any bytes, and what it accepts must re-encode to the same
// records.
func FuzzDecodeFrames(f *testing.F) {
	c := fullCapture(1)
	c.ID, c.Seq = "c_1", 7
	done := *c
	finishFull(&done)
	f.Add(frames(f, journalRecord{kind: kindBegin, c: *c}))
	f.Add(frames(f, journalRecord{kind: kindBegin, c: *c}, journalRecord{kind: kindFinish, c: done}, journalRecord{kind: kindRecord, c: done}))
	f.Add(frames(f, journalRecord{kind: kindBegin, c: Capture{Meta: Meta{ID: "x"}}})[:12])
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, good, err := decodeFrames(b, true)
		if good < 0 || good > len(b) {
			t.Fatalf("good = %d of %d", good, len(b))
		}
		if err == nil && good != len(b) {
			t.Fatalf("no error but only %d of %d bytes decoded", good, len(b))
		}
		// The indexer's decoding accepts exactly the same, and the blobs it
		// finds decode to the headers and bodies.
		lazy, lgood, lerr := decodeFrames(b, false)
		if lgood != good || len(lazy) != len(recs) || (lerr == nil) != (err == nil) || errors.Is(lerr, journal.ErrTorn) != errors.Is(err, journal.ErrTorn) {
			t.Fatalf("indexer decoding differs: %d records, %d bytes, %v; full: %d, %d, %v", len(lazy), lgood, lerr, len(recs), good, err)
		}
		for i := range recs {
			if lazy[i].req != recs[i].req || lazy[i].resp != recs[i].resp {
				t.Fatalf("record %d: blobs %+v %+v, full decoding %+v %+v", i, lazy[i].req, lazy[i].resp, recs[i].req, recs[i].resp)
			}
			for _, side := range []struct {
				x    blob
				h    http.Header
				body []byte
			}{{recs[i].req, recs[i].c.Headers, recs[i].c.Body}, {recs[i].resp, recs[i].c.RespHeaders, recs[i].c.RespBody}} {
				if side.x.n == 0 {
					if side.h != nil || side.body != nil {
						t.Fatalf("record %d: empty blob for headers %v, body %q", i, side.h, side.body)
					}
					continue
				}
				h, body, err := decodeBlob(b[side.x.off : side.x.off+side.x.n])
				if err != nil || !reflect.DeepEqual(h, side.h) || !bytes.Equal(body, side.body) || len(body) != side.x.body {
					t.Fatalf("record %d: blob decodes to %v %q (%v), want %v %q", i, h, body, err, side.h, side.body)
				}
			}
			recs[i].req, recs[i].resp = blob{}, blob{}
		}
		again, good2, err := decodeFrames(frames(t, recs...), true)
		if err != nil || len(again) != len(recs) || good2 == 0 && len(recs) > 0 {
			t.Fatalf("re-encoded records do not decode: %v", err)
		}
		for i := range recs {
			again[i].req, again[i].resp = blob{}, blob{}
			if !reflect.DeepEqual(normalTimes(recs[i]), normalTimes(again[i])) {
				t.Fatalf("record %d changed in re-encoding:\n%+v\n%+v", i, recs[i], again[i])
			}
		}
	})
}

// FuzzDecodeBlob: a blob is read back from a file at a place the index
// names, so its decoder must survive any bytes.
func FuzzDecodeBlob(f *testing.F) {
	c := fullCapture(1)
	f.Add(appendBytes(appendHeader(nil, c.Headers), c.Body))
	f.Add(appendBytes(appendHeader(nil, nil), []byte("ok")))
	f.Add([]byte{0, 0})
	f.Add([]byte{1, 1, 'a', 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, body, err := decodeBlob(b)
		if err != nil {
			return
		}
		if again := appendBytes(appendHeader(nil, h), body); len(again) > len(b) {
			t.Fatalf("%d bytes decoded to %d bytes of encoding", len(b), len(again))
		}
	})
}

// normalTimes drops the location (which the journal does not keep) so
// records compare with DeepEqual.
func normalTimes(r journalRecord) journalRecord {
	r.c.ReceivedAt = r.c.ReceivedAt.UTC()
	r.c.CompletedAt = r.c.CompletedAt.UTC()
	r.c.EventCreated = r.c.EventCreated.UTC()
	return r
}

// TestFramePinned pins the journal's bytes for each kind of record (the
// on-disk format: older stores' journals must keep reading, and a change
// must be deliberate). The header has one key, so map order cannot vary.
func TestFramePinned(t *testing.T) {
	c := jsonCapture()
	c.Headers = http.Header{"Content-Type": {"application/json"}}
	want := map[byte]string{
		kindBegin:  "cc000000f125e6f30101004020464847060003635f3103735f3104646f6e6501fef6bd9a0d080180f7bd9a0d080a31302e302e302e313a3504504f53540b2f6f6d6567612f3c743e26010c436f6e74656e742d5479706501106170706c69636174696f6e2f6a736f6e0e7b226964223a226576745f31227d056576745f310d766964656f2e637265617465640465705f3101debebd9a0d0828046e6f6e651a687474703a2f2f6c6f63616c686f73743a333030302f686f6f6b92030103582d41020131013202ff0080bcc1960b00920303635f30",
		kindRecord: "cc0000006b6c32b30102004020464847060003635f3103735f3104646f6e6501fef6bd9a0d080180f7bd9a0d080a31302e302e302e313a3504504f53540b2f6f6d6567612f3c743e26010c436f6e74656e742d5479706501106170706c69636174696f6e2f6a736f6e0e7b226964223a226576745f31227d056576745f310d766964656f2e637265617465640465705f3101debebd9a0d0828046e6f6e651a687474703a2f2f6c6f63616c686f73743a333030302f686f6f6b92030103582d41020131013202ff0080bcc1960b00920303635f30",
		kindFinish: "45000000315b60ad010303635f3104646f6e650180f7bd9a0d08281a687474703a2f2f6c6f63616c686f73743a333030302f686f6f6b92030103582d41020131013202ff0080bcc1960b009203",
	}
	for kind, w := range want {
		f := encodeFrame(nil, kind, c)
		sealFrame(f, 1767225600000000)
		if got := hex.EncodeToString(f); got != w {
			t.Errorf("kind %d frame changed:\n got %s\nwant %s", kind, got, w)
		}
	}
}
