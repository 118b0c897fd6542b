package capture

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

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
		{"begin", journalRecord{kindBegin, *begin}, *begin},
		{"record", journalRecord{kindRecord, done}, done},
		{"finish carries only the outcome", journalRecord{kindFinish, done}, Capture{
			ID: done.ID, State: done.State, CompletedAt: done.CompletedAt, Flags: done.Flags,
			Target: done.Target, Status: done.Status, RespHeaders: done.RespHeaders, RespBody: done.RespBody,
			Duration: done.Duration, Error: done.Error, SentStatus: done.SentStatus,
		}},
		{"empty", journalRecord{kindBegin, Capture{ID: "c_y"}}, Capture{ID: "c_y"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, good, err := decodeFrames(frames(t, tc.rec))
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
	valid := frames(t, journalRecord{kindBegin, Capture{ID: "c_1", Seq: 1}}, journalRecord{kindFinish, Capture{ID: "c_1"}})
	first := len(frames(t, journalRecord{kindBegin, Capture{ID: "c_1", Seq: 1}}))
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
		{"unknown version", mutate(func(b []byte) []byte { b[frameHeaderLen] = 9; return reseal(b) }), 0, false},
		{"unknown kind", mutate(func(b []byte) []byte { b[frameHeaderLen+1] = 77; return reseal(b) }), 0, false},
		{"length too small", mutate(func(b []byte) []byte { b[0], b[1], b[2], b[3] = 1, 0, 0, 0; return b }), 0, false},
		{"length too large", mutate(func(b []byte) []byte { b[0], b[1], b[2], b[3] = 0xff, 0xff, 0xff, 0x7f; return b }), 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, good, err := decodeFrames(tc.in)
			if len(recs) != tc.recs {
				t.Errorf("%d records, want %d (err %v)", len(recs), tc.recs, err)
			}
			if tc.recs == 2 && (err != nil || good != len(tc.in)) {
				t.Errorf("valid input: good %d of %d, err %v", good, len(tc.in), err)
			}
			if tc.recs < 2 && tc.in != nil && err == nil {
				t.Error("no error for bad input")
			}
			if errors.Is(err, errTornFrame) != tc.torn {
				t.Errorf("torn = %v, want %v (err %v)", errors.Is(err, errTornFrame), tc.torn, err)
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
	f.Add(frames(f, journalRecord{kindBegin, *c}))
	f.Add(frames(f, journalRecord{kindBegin, *c}, journalRecord{kindFinish, done}, journalRecord{kindRecord, done}))
	f.Add(frames(f, journalRecord{kindBegin, Capture{ID: "x"}})[:12])
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, good, err := decodeFrames(b)
		if good < 0 || good > len(b) {
			t.Fatalf("good = %d of %d", good, len(b))
		}
		if err == nil && good != len(b) {
			t.Fatalf("no error but only %d of %d bytes decoded", good, len(b))
		}
		again, good2, err := decodeFrames(frames(t, recs...))
		if err != nil || len(again) != len(recs) || good2 == 0 && len(recs) > 0 {
			t.Fatalf("re-encoded records do not decode: %v", err)
		}
		for i := range recs {
			if !reflect.DeepEqual(normalTimes(recs[i]), normalTimes(again[i])) {
				t.Fatalf("record %d changed in re-encoding:\n%+v\n%+v", i, recs[i], again[i])
			}
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
