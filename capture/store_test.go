package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture/internal/journal"
)

var ctx = context.Background()

func openStore(t testing.TB, dir string, o Options) *Store {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// fullCapture sets every field a caller sets before Begin, with a body
// holding every byte value and headers with several values.
func fullCapture(i int) *Capture {
	body := make([]byte, 0, 600)
	for b := range 256 {
		body = append(body, byte(b))
	}
	body = append(body, fmt.Sprintf(`{"n":%d,"type":"video.process_succeeded"}`, i)...)
	return &Capture{
		Meta: Meta{
			SessionID:    "s_test",
			RemoteAddr:   "203.0.113.7:4242",
			Method:       http.MethodPost,
			Path:         "/omega/secret-token-0123456789ab",
			EventID:      fmt.Sprintf("evt%06d", i),
			EventType:    "video.process_succeeded",
			EndpointID:   "ep_1",
			EventCreated: time.Date(2026, 11, 26, 17, 0, 1, 123456789, time.UTC),
			Flags:        FlagNotOmega | FlagBackfill,
			Target:       "http://localhost:8888/webhook",
			ReplayOf:     "c_original",
		},
		Headers: http.Header{
			"Content-Type":    {"application/json"},
			"X-Multi":         {"one", "two", "", "three, four"},
			"Omega-Signature": {fmt.Sprintf("t=%d,v1=abc", i)},
		},
		Body: body,
	}
}

// finishFull sets every outcome field.
func finishFull(c *Capture) {
	c.Status = 418
	c.SentStatus = 418
	c.RespHeaders = http.Header{"Set-Cookie": {"a=1", "b=2"}, "Content-Type": {"application/octet-stream"}}
	c.RespBody = []byte{0, 1, 2, 0xfe, 0xff, '\n', 0}
	c.Duration = 1234567 * time.Nanosecond
	c.Error = "app answered 418"
	c.Flags |= FlagTruncated
	c.CompletedAt = time.Date(2026, 11, 26, 17, 0, 2, 987654321, time.FixedZone("X", 3600))
}

// sameCapture fails unless got holds what want holds (times compared as
// instants).
func sameCapture(t *testing.T, want, got *Capture) {
	t.Helper()
	if got == nil {
		t.Fatalf("capture %s missing", want.ID)
	}
	w, g := *want, *got
	for _, p := range []struct {
		name string
		w, g *time.Time
	}{{"ReceivedAt", &w.ReceivedAt, &g.ReceivedAt}, {"CompletedAt", &w.CompletedAt, &g.CompletedAt}, {"EventCreated", &w.EventCreated, &g.EventCreated}} {
		if !p.w.Equal(*p.g) {
			t.Errorf("%s %s = %v, want %v", want.ID, p.name, *p.g, *p.w)
		}
		*p.w, *p.g = time.Time{}, time.Time{}
	}
	if !reflect.DeepEqual(w, g) {
		t.Errorf("capture %s differs:\n got %+v\nwant %+v", want.ID, g, w)
	}
}

func TestRoundTrip(t *testing.T) {
	type step func(t *testing.T, s *Store) *Capture
	begin := func(mod func(*Capture)) step {
		return func(t *testing.T, s *Store) *Capture {
			c := fullCapture(1)
			mod(c)
			if err := s.Begin(ctx, c); err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	beginFinish := func(mod, fin func(*Capture)) step {
		return func(t *testing.T, s *Store) *Capture {
			c := begin(mod)(t, s)
			fin(c)
			if err := s.Finish(ctx, c); err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	record := func(t *testing.T, s *Store) *Capture {
		c := fullCapture(2)
		finishFull(c)
		c.Flags |= FlagRejected
		c.RejectReason = "body over 10 MiB"
		if err := s.Record(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	none := func(*Capture) {}
	cases := []struct {
		name string
		do   step
	}{
		{"begin only", begin(none)},
		{"begin and finish", beginFinish(none, finishFull)},
		{"record", record},
		{"empty headers and bodies", beginFinish(func(c *Capture) { c.Headers, c.Body = nil, nil }, func(c *Capture) { c.Status = 204 })},
		{"times outside nanosecond range", beginFinish(func(c *Capture) {
			c.EventCreated = time.Date(3000, 1, 2, 3, 4, 5, 6, time.UTC)
			c.ReceivedAt = time.Date(1600, 1, 1, 0, 0, 0, 1, time.UTC)
		}, finishFull)},
		{"caller's ID kept", begin(func(c *Capture) { c.ID = "custom-id-1" })},
		{"finish without target keeps it", func(t *testing.T, s *Store) *Capture {
			c := begin(none)(t, s)
			fin := &Capture{Meta: Meta{ID: c.ID, Status: 200, SentStatus: 200}}
			if err := s.Finish(ctx, fin); err != nil {
				t.Fatal(err)
			}
			c.State, c.CompletedAt, c.Status, c.SentStatus, c.Flags = StateDone, fin.CompletedAt, 200, 200, 0
			return c
		}},
	}
	// Each case is read back from the index of the store that wrote it, and
	// from the index rebuilt by replaying its journal after a crash.
	for _, tc := range cases {
		for _, via := range []string{"index", "replay"} {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				dir := t.TempDir()
				s, err := Open(dir, Options{})
				if err != nil {
					t.Fatal(err)
				}
				want := tc.do(t, s)
				if want.ID == "" || want.Seq == 0 || want.ReceivedAt.IsZero() {
					t.Fatalf("Begin/Record did not set ID, Seq, ReceivedAt: %+v", want)
				}
				if via == "replay" {
					s.crash()
					s = openStore(t, dir, Options{})
				} else {
					defer s.Close()
				}
				got, err := s.Get(ctx, want.ID)
				if err != nil {
					t.Fatal(err)
				}
				sameCapture(t, want, got)
				list, err := s.ListFull(ctx, Query{})
				if err != nil || len(list) != 1 {
					t.Fatalf("ListFull = %d captures, %v", len(list), err)
				}
				sameCapture(t, want, list[0])
				sums, err := s.List(ctx, Query{})
				if err != nil || len(sums) != 1 {
					t.Fatalf("List = %d, %v", len(sums), err)
				}
				ws, gs := want.Summary(), sums[0]
				if !ws.ReceivedAt.Equal(gs.ReceivedAt) || !ws.CompletedAt.Equal(gs.CompletedAt) || !ws.EventCreated.Equal(gs.EventCreated) {
					t.Errorf("summary times differ: %+v vs %+v", gs, ws)
				}
				ws.ReceivedAt, ws.CompletedAt, ws.EventCreated = time.Time{}, time.Time{}, time.Time{}
				gs.ReceivedAt, gs.CompletedAt, gs.EventCreated = time.Time{}, time.Time{}, time.Time{}
				if ws != gs {
					t.Errorf("summary:\n got %+v\nwant %+v", gs, ws)
				}
				if gs.Outcome() != want.Outcome() {
					t.Errorf("Summary.Outcome = %s, Capture.Outcome = %s", gs.Outcome(), want.Outcome())
				}
			})
		}
	}
}

func TestBeginSetsFields(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	var last int64
	for i := range 100 {
		c := &Capture{Meta: Meta{Method: "POST"}}
		if err := s.Begin(ctx, c); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.ID, "c_") || c.State != StatePending || c.ReceivedAt.IsZero() {
			t.Fatalf("capture %d after Begin: %+v", i, c)
		}
		if c.Seq <= last {
			t.Fatalf("Seq %d after %d: not increasing", c.Seq, last)
		}
		last = c.Seq
		if err := s.Finish(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c.State != StateDone || c.CompletedAt.IsZero() {
			t.Fatalf("capture %d after Finish: %+v", i, c)
		}
	}
	if err := s.Finish(ctx, &Capture{}); err == nil {
		t.Error("Finish of a capture without ID succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Begin(cctx, &Capture{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Begin with a cancelled context = %v", err)
	}
}

func TestGet(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	for _, id := range []string{"c_01abcdef", "c_01abcxyz", "c_77zzzzzz", "other-1"} {
		if err := s.Record(ctx, &Capture{Meta: Meta{ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"c_01abcdef", "c_01abcdef", nil},
		{"c_01abcd", "c_01abcdef", nil},
		{"c_77z", "c_77zzzzzz", nil},
		{"77zz", "c_77zzzzzz", nil},      // without the c_
		{"C_77ZZ", "c_77zzzzzz", nil},    // typed in capitals
		{"othe", "other-1", nil},         // IDs set by callers too
		{"c_01abc", "", ErrAmbiguous},    // two match
		{"01ab", "", ErrAmbiguous},       // two match without the c_
		{"c_7", "", ErrNotFound},         // too short to be a prefix
		{"c_99", "", ErrNotFound},        // nothing matches
		{"", "", ErrNotFound},            // empty
		{"c_01abcdefg", "", ErrNotFound}, // longer than any ID
		{"\xff\xff\xff\xff", "", ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			c, err := s.Get(ctx, tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Get(%q) = %v, %v; want %v", tc.in, c, err, tc.wantErr)
				}
				return
			}
			if err != nil || c.ID != tc.want {
				t.Fatalf("Get(%q) = %v, %v; want %s", tc.in, c, err, tc.want)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	t0 := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	// id, type, status, error, flags, session, replay_of, body, received offset
	rows := []struct {
		id, typ   string
		status    int
		errText   string
		flags     Flags
		session   string
		replayOf  string
		body      string
		minute    int
		unhandled bool // Begin only: pending
	}{
		{"c_a", "video.process_succeeded", 200, "", 0, "s1", "", `{"video":"v1"}`, 0, false},
		{"c_b", "video.process_failed", 500, "", 0, "s1", "", `{"video":"v2"}`, 1, false},
		{"c_c", "video.process_succeeded", 0, "connection refused", 0, "s1", "", `{"video":"v3"}`, 2, false},
		{"c_d", "", 404, "", FlagRejected, "s2", "", `not json`, 3, false},
		{"c_e", "video.process_succeeded", 200, "", 0, "s2", "c_a", `{"video":"v1"}`, 4, false},
		{"c_f", "video.uploaded", 0, "", 0, "s2", "", `{"video":"v6"}`, 5, true},
		{"c_g", "video.uploaded", 302, "", 0, "s2", "", "{\"video\":\"v7\x00\"}", 6, false},
	}
	seqs := map[string]int64{}
	for _, r := range rows {
		c := &Capture{
			Meta: Meta{ID: r.id, EventType: r.typ, Flags: r.flags, SessionID: r.session, ReplayOf: r.replayOf,
				ReceivedAt: t0.Add(time.Duration(r.minute) * time.Minute)},
			Body: []byte(r.body),
		}
		var err error
		if r.unhandled {
			err = s.Begin(ctx, c)
		} else {
			c.Status, c.Error = r.status, r.errText
			err = s.Record(ctx, c)
		}
		if err != nil {
			t.Fatal(err)
		}
		seqs[r.id] = c.Seq
	}
	cases := []struct {
		name string
		q    Query
		want []string
	}{
		{"all", Query{}, []string{"c_a", "c_b", "c_c", "c_d", "c_e", "c_f", "c_g"}},
		{"newest first", Query{Newest: true}, []string{"c_g", "c_f", "c_e", "c_d", "c_c", "c_b", "c_a"}},
		{"limit keeps oldest", Query{Limit: 2}, []string{"c_a", "c_b"}},
		{"newest then limit", Query{Newest: true, Limit: 2}, []string{"c_g", "c_f"}},
		{"after seq", Query{AfterSeq: seqs["c_e"]}, []string{"c_f", "c_g"}},
		{"before seq", Query{BeforeSeq: seqs["c_b"]}, []string{"c_a"}},
		{"seq window", Query{AfterSeq: seqs["c_b"], BeforeSeq: seqs["c_e"]}, []string{"c_c", "c_d"}},
		{"types", Query{Types: []string{"video.process_failed", "video.uploaded"}}, []string{"c_b", "c_f", "c_g"}},
		{"failed", Query{Failed: true}, []string{"c_b", "c_c", "c_g"}},
		{"since", Query{Since: t0.Add(5 * time.Minute)}, []string{"c_f", "c_g"}},
		{"session", Query{SessionID: "s1"}, []string{"c_a", "c_b", "c_c"}},
		{"replay of", Query{ReplayOf: "c_a"}, []string{"c_e"}},
		{"ids", Query{IDs: []string{"c_g", "c_a", "c_nope"}}, []string{"c_a", "c_g"}},
		{"text", Query{Text: `"v1"`}, []string{"c_a", "c_e"}},
		{"text with NUL", Query{Text: "v7\x00"}, []string{"c_g"}},
		{"combined", Query{SessionID: "s2", Types: []string{"video.uploaded"}, Failed: true}, []string{"c_g"}},
		{"nothing", Query{Types: []string{"video.deleted"}}, nil},
		{"type prefix", Query{TypePrefixes: []string{"video.process"}}, []string{"c_a", "c_b", "c_c", "c_e"}},
		{"type prefixes", Query{TypePrefixes: []string{"video.up", "video.del"}}, []string{"c_f", "c_g"}},
		{"whole type as prefix", Query{TypePrefixes: []string{"video.process_failed"}}, []string{"c_b"}},
		{"outcome ok", Query{Outcomes: []Outcome{OutcomeOK}}, []string{"c_a", "c_e"}},
		{"outcome app error", Query{Outcomes: []Outcome{OutcomeAppError}}, []string{"c_b", "c_g"}},
		{"outcome failed", Query{Outcomes: []Outcome{OutcomeFailed}}, []string{"c_c"}},
		{"outcome rejected", Query{Outcomes: []Outcome{OutcomeRejected}}, []string{"c_d"}},
		{"outcome pending", Query{Outcomes: []Outcome{OutcomePending}}, []string{"c_f"}},
		{"2xx", Query{StatusClasses: []int{2}}, []string{"c_a", "c_e"}},
		{"3xx", Query{StatusClasses: []int{3}}, []string{"c_g"}},
		// c_d's 404 is the receiver's own answer to a rejected request,
		// not the app's.
		{"4xx", Query{StatusClasses: []int{4}}, nil},
		{"5xx or failed", Query{StatusClasses: []int{5}, Outcomes: []Outcome{OutcomeFailed}}, []string{"c_b", "c_c"}},
		{"result and type", Query{StatusClasses: []int{2}, TypePrefixes: []string{"video.process"}, SessionID: "s2"}, []string{"c_e"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sums, err := s.List(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range sums {
				got = append(got, m.ID)
				if tc.q.Failed && m.Outcome() != OutcomeFailed && m.Outcome() != OutcomeAppError {
					t.Errorf("%s has outcome %s in a Failed query", m.ID, m.Outcome())
				}
				if len(tc.q.Outcomes) > 0 && len(tc.q.StatusClasses) == 0 && !slices.Contains(tc.q.Outcomes, m.Outcome()) {
					t.Errorf("%s has outcome %s in a query for %v", m.ID, m.Outcome(), tc.q.Outcomes)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List = %v, want %v", got, tc.want)
			}
			// Where the query asks only what a summary answers by itself,
			// MatchesSummary agrees with the SQL.
			if only := (Query{TypePrefixes: tc.q.TypePrefixes, Outcomes: tc.q.Outcomes, StatusClasses: tc.q.StatusClasses}); reflect.DeepEqual(only, tc.q) {
				all, err := s.List(ctx, Query{})
				if err != nil {
					t.Fatal(err)
				}
				var inGo []string
				for i := range all {
					if tc.q.MatchesSummary(&all[i]) {
						inGo = append(inGo, all[i].ID)
					}
				}
				if !slices.Equal(inGo, tc.want) {
					t.Errorf("MatchesSummary keeps %v, the store %v", inGo, tc.want)
				}
			}
			full, err := s.ListFull(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var gotFull []string
			for _, c := range full {
				gotFull = append(gotFull, c.ID)
			}
			if !slices.Equal(gotFull, tc.want) {
				t.Errorf("ListFull = %v, want %v", gotFull, tc.want)
			}
			n, err := s.Count(ctx, tc.q)
			if err != nil || n != len(tc.want) {
				t.Errorf("Count = %d, %v; want %d", n, err, len(tc.want))
			}
		})
	}
}

func TestDelete(t *testing.T) {
	cases := []struct {
		name    string
		q       Query
		deleted int
		left    int
	}{
		{"oldest three", Query{Limit: 3}, 3, 7},
		{"newest two", Query{Newest: true, Limit: 2}, 2, 8},
		{"by type", Query{Types: []string{"odd"}}, 5, 5},
		{"everything", Query{}, 10, 0},
		{"nothing", Query{IDs: []string{"c_none"}}, 0, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), Options{})
			for i := range 10 {
				typ := "even"
				if i%2 == 1 {
					typ = "odd"
				}
				if err := s.Record(ctx, &Capture{Meta: Meta{EventType: typ}}); err != nil {
					t.Fatal(err)
				}
			}
			n, err := s.Delete(ctx, tc.q)
			if err != nil || n != tc.deleted {
				t.Fatalf("Delete = %d, %v; want %d", n, err, tc.deleted)
			}
			left, err := s.Count(ctx, Query{})
			if err != nil || left != tc.left {
				t.Fatalf("Count after Delete = %d, %v; want %d", left, err, tc.left)
			}
		})
	}
}

func TestRetention(t *testing.T) {
	cases := []struct {
		name    string
		retain  int
		batches []int // captures written between flushes
		want    int
	}{
		{"one batch over", 5, []int{20}, 5},
		{"many batches", 5, []int{3, 3, 3, 3}, 5},
		{"under the limit", 50, []int{20}, 20},
		{"unlimited", -1, []int{30, 30}, 60},
		{"exactly the limit", 10, []int{10}, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, Options{Retain: tc.retain})
			var all []string
			for _, n := range tc.batches {
				for range n {
					c := &Capture{}
					if err := s.Record(ctx, c); err != nil {
						t.Fatal(err)
					}
					all = append(all, c.ID)
				}
				if err := s.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			sums, err := s.List(ctx, Query{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range sums {
				got = append(got, m.ID)
			}
			if want := all[len(all)-tc.want:]; !slices.Equal(got, want) {
				t.Errorf("kept %v, want the newest %d: %v", got, tc.want, want)
			}
		})
	}
}

func TestDefaultRetain(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	if s.retain != DefaultRetain {
		t.Errorf("retain = %d, want %d", s.retain, DefaultRetain)
	}
}

func TestPermissions(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "store")
	s := openStore(t, dir, Options{})
	if err := s.Begin(ctx, fullCapture(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	journals, _ := filepath.Glob(filepath.Join(dir, "journal-*.seg"))
	if len(journals) != 1 {
		t.Fatalf("journal files: %v", journals)
	}
	want := map[string]os.FileMode{
		dir:                                   0o700 | os.ModeDir,
		filepath.Join(root, "a"):              0o700 | os.ModeDir,
		filepath.Join(dir, "captures.db"):     0o600,
		filepath.Join(dir, "captures.db-wal"): 0o600,
		filepath.Join(dir, "captures.db-shm"): 0o600,
		journals[0]:                           0o600,
	}
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if fi.Mode() != mode {
			t.Errorf("%s mode %v, want %v", path, fi.Mode(), mode)
		}
	}
}

func TestExistingDirKeepsMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	openStore(t, dir, Options{})
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("existing dir mode %v, %v; want it left at 0750", fi.Mode(), err)
	}
}

func TestOpenErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the dir to open
		want  []string
		kind  StoreProblem
	}{
		{"not a database", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "captures.db"), bytes.Repeat([]byte("this is not sqlite "), 300))
			return dir
		}, []string{"captures.db", "move it aside"}, DamagedIndex},
		{"newer schema", func(t *testing.T, dir string) string {
			s := openStore(t, dir, Options{})
			if _, err := s.db.Exec("PRAGMA user_version = 99"); err != nil {
				t.Fatal(err)
			}
			s.Close()
			return dir
		}, []string{"newer omega-listen", "schema 99"}, NewerSchema},
		{"dir is a file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "file")
			writeFile(t, p, []byte("x"))
			return p
		}, []string{"not a directory"}, NotADirectory},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			open := tc.setup(t, dir)
			var before []byte
			db := filepath.Join(open, "captures.db")
			before, _ = os.ReadFile(db)
			s, err := Open(open, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			var se *StoreError
			if !errors.As(err, &se) || se.Problem != tc.kind {
				t.Errorf("error %v, want a StoreError with problem %d", err, tc.kind)
			} else if tc.kind != NewerSchema && se.Dir() != open {
				t.Errorf("StoreError.Dir() = %q, want %q", se.Dir(), open)
			}
			if strings.Contains(err.Error(), "--") {
				t.Errorf("error %q names a flag: the command layer does that", err)
			}
			after, _ := os.ReadFile(db)
			if !bytes.Equal(before, after) {
				t.Error("Open changed the database it could not use")
			}
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCrashRecovery: a store that stops without closing (as when its
// process dies) leaves its journal; the next Open indexes it.
func TestCrashRecovery(t *testing.T) {
	old := segmentMax
	segmentMax = 16 << 10 // several journal files
	t.Cleanup(func() { segmentMax = old })
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want []*Capture
	for i := range 40 {
		c := fullCapture(i)
		if err := s.Begin(ctx, c); err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 { // some stay pending
			finishFull(c)
			if err := s.Finish(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, c)
	}
	s.crash()
	if js, _ := filepath.Glob(filepath.Join(dir, "journal-*.seg")); len(js) == 0 {
		t.Fatal("crash left no journal; the test proves nothing")
	}
	s = openStore(t, dir, Options{})
	if js, _ := filepath.Glob(filepath.Join(dir, "journal-*")); len(js) != 0 {
		t.Errorf("journal files left after replay: %v", js)
	}
	for _, w := range want {
		got, err := s.Get(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameCapture(t, w, got)
	}
	// Replaying again must change nothing: a second crash and reopen.
	if err := s.Record(ctx, &Capture{Meta: Meta{ID: "c_after"}}); err != nil {
		t.Fatal(err)
	}
	s.crash()
	s = openStore(t, dir, Options{})
	if n, err := s.Count(ctx, Query{}); err != nil || n != len(want)+1 {
		t.Fatalf("Count = %d, %v; want %d", n, err, len(want)+1)
	}
}

// TestReplayIsIdempotent replays one journal file twice, the second time
// after its captures were finished: the begin records must not turn them
// back to pending.
func TestReplayIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := fullCapture(1)
	if err := s.Begin(ctx, c); err != nil {
		t.Fatal(err)
	}
	s.crash()
	js, _ := filepath.Glob(filepath.Join(dir, "journal-*.seg"))
	if len(js) != 1 {
		t.Fatalf("journals: %v", js)
	}
	saved, err := os.ReadFile(js[0])
	if err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, Options{})
	finishFull(c)
	if err := s.Finish(ctx, c); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The same begin record again, as if a replay had been interrupted
	// before deleting the file.
	writeFile(t, filepath.Join(dir, "journal-1-dead-000000.seg"), saved)
	s = openStore(t, dir, Options{})
	got, err := s.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameCapture(t, c, got)
	if n, _ := s.Count(ctx, Query{}); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
}

func TestTornTail(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(b []byte) []byte
		want    int  // captures recovered of 3
		damaged bool // file kept as *.damaged
	}{
		{"clean", func(b []byte) []byte { return b }, 3, false},
		{"partial header", func(b []byte) []byte { return append(b, 0x10, 0, 0) }, 3, false},
		{"header without body", func(b []byte) []byte { return append(b, 0x10, 0, 0, 0, 1, 2, 3, 4, 1) }, 3, false},
		{"last record cut short", func(b []byte) []byte { return b[:len(b)-5] }, 2, false},
		{"last record bad checksum", func(b []byte) []byte { b[len(b)-3] ^= 0xff; return b }, 2, false},
		{"impossible length at end", func(b []byte) []byte { return append(b, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0) }, 3, true},
		{"damage in the middle", func(b []byte) []byte { b[journal.HeaderLen+20] ^= 0xff; return b }, 0, true},
		{"garbage appended", func(b []byte) []byte { return append(b, bytes.Repeat([]byte{0xab}, 100)...) }, 3, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i := range 3 {
				c := fullCapture(i)
				if err := s.Record(ctx, c); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, c.ID)
			}
			s.crash()
			js, _ := filepath.Glob(filepath.Join(dir, "journal-*.seg"))
			if len(js) != 1 {
				t.Fatalf("journals: %v", js)
			}
			b, err := os.ReadFile(js[0])
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, js[0], tc.damage(b))
			s = openStore(t, dir, Options{})
			sums, err := s.List(ctx, Query{})
			if err != nil {
				t.Fatal(err)
			}
			if len(sums) != tc.want {
				t.Fatalf("recovered %d captures, want %d", len(sums), tc.want)
			}
			for i, m := range sums {
				if m.ID != ids[i] {
					t.Errorf("capture %d is %s, want %s", i, m.ID, ids[i])
				}
				if c, err := s.Get(ctx, m.ID); err != nil || !bytes.Equal(c.Body, fullCapture(i).Body) {
					t.Errorf("capture %d body after replay: %v", i, err)
				}
			}
			_, err = os.Stat(js[0] + ".damaged")
			if kept := err == nil; kept != tc.damaged {
				t.Errorf("damaged file kept = %v, want %v", kept, tc.damaged)
			}
			if _, err := os.Stat(js[0]); err == nil {
				t.Error("journal file still in place after replay")
			}
		})
	}
}

func TestConcurrentBeginFinish(t *testing.T) {
	old := segmentMax
	segmentMax = 64 << 10
	t.Cleanup(func() { segmentMax = old })
	s := openStore(t, t.TempDir(), Options{Retain: -1})
	const workers, each = 32, 40
	var wg sync.WaitGroup
	ids := make([][]string, workers)
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c := fullCapture(w*each + i)
				if err := s.Begin(ctx, c); err != nil {
					errs <- err
					return
				}
				c.Status = 200 + w
				if err := s.Finish(ctx, c); err != nil {
					errs <- err
					return
				}
				ids[w] = append(ids[w], c.ID)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sums, err := s.List(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != workers*each {
		t.Fatalf("%d captures, want %d", len(sums), workers*each)
	}
	seen := map[string]Summary{}
	var lastSeq int64
	for _, m := range sums {
		if m.Seq <= lastSeq {
			t.Fatalf("Seq %d after %d", m.Seq, lastSeq)
		}
		lastSeq = m.Seq
		seen[m.ID] = m
	}
	for w, list := range ids {
		for _, id := range list {
			m, ok := seen[id]
			if !ok || m.State != StateDone || m.Status != 200+w {
				t.Fatalf("capture %s of worker %d: %+v (present %v)", id, w, m, ok)
			}
		}
	}
}

// TestTwoStores: a second store on the same dir (another process, such as
// `captures list` beside the listener) reads what the first writes, writes
// its own, and leaves the first's journal alone.
func TestTwoStores(t *testing.T) {
	dir := t.TempDir()
	a := openStore(t, dir, Options{})
	c1 := fullCapture(1)
	if err := a.Begin(ctx, c1); err != nil {
		t.Fatal(err)
	}
	js, _ := filepath.Glob(filepath.Join(dir, "journal-*.seg"))
	b := openStore(t, dir, Options{})
	for _, j := range js {
		if _, err := os.Stat(j); err != nil {
			t.Fatalf("opening a second store removed the first's live journal %s", j)
		}
	}
	// Reads in b see what a has indexed.
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, c1.ID)
	if err != nil || got.State != StatePending {
		t.Fatalf("b.Get = %+v, %v", got, err)
	}
	// Both write at once.
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b} {
		wg.Go(func() {
			for range 50 {
				if err := s.Record(ctx, &Capture{}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	finishFull(c1)
	if err := a.Finish(ctx, c1); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, s := range []*Store{a, b} {
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for name, s := range map[string]*Store{"a": a, "b": b} {
		if n, err := s.Count(ctx, Query{}); err != nil || n != 101 {
			t.Errorf("%s.Count = %d, %v; want 101", name, n, err)
		}
		got, err := s.Get(ctx, c1.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameCapture(t, c1, got)
	}
}

// TestWriteFailure: a failed journal write returns an error and leaves the
// store usable and its journal readable.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ok1 := fullCapture(1)
	if err := s.Begin(ctx, ok1); err != nil {
		t.Fatal(err)
	}
	// Pull the file out from under the store, as a failing disk would.
	s.j.CloseFileForTest()
	bad := fullCapture(2)
	if err := s.Begin(ctx, bad); err == nil {
		t.Fatal("Begin succeeded with its journal file closed")
	}
	if err := s.Finish(ctx, ok1); err == nil {
		t.Fatal("Finish succeeded with its journal file closed")
	}
	// A further failed write that leaves bytes behind moves to a new file.
	s.j.TearForTest()
	ok2 := fullCapture(3)
	if err := s.Begin(ctx, ok2); err != nil {
		t.Fatalf("Begin after a failure: %v", err)
	}
	s.crash()
	s = openStore(t, dir, Options{})
	for _, id := range []string{ok1.ID, ok2.ID} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Errorf("Get(%s): %v", id, err)
		}
	}
	if _, err := s.Get(ctx, bad.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the failed Begin was recorded: %v", err)
	}
}

func TestClosed(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Begin(ctx, &Capture{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Begin after Close = %v, want ErrClosed", err)
	}
	if err := s.Record(ctx, &Capture{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close = %v, want ErrClosed", err)
	}
}

func TestCloseIndexesEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if err := s.Record(ctx, fullCapture(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if js, _ := filepath.Glob(filepath.Join(dir, "*journal*")); len(js) != 0 {
		t.Errorf("journal files left after Close: %v", js)
	}
	s = openStore(t, dir, Options{})
	if n, err := s.Count(ctx, Query{}); err != nil || n != 200 {
		t.Errorf("Count = %d, %v; want 200", n, err)
	}
}

func TestFlushContext(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{noIndexer: true})
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush with nothing written: %v", err)
	}
	if err := s.Record(ctx, &Capture{}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Flush(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush = %v, want context.Canceled", err)
	}
	s.crash()
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	last := ""
	for range 20000 {
		id := NewID()
		if len(id) != 28 || !strings.HasPrefix(id, "c_") {
			t.Fatalf("NewID() = %q", id)
		}
		for _, r := range id[2:] {
			if !strings.ContainsRune(idAlphabet, r) {
				t.Fatalf("NewID() = %q: %q is not Crockford base32", id, r)
			}
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		if id <= last {
			t.Fatalf("NewID() = %q after %q: not increasing", id, last)
		}
		seen[id], last = true, id
	}
	// The time prefix decodes to now.
	ms := int64(0)
	for _, r := range last[2:12] {
		ms = ms<<5 | int64(strings.IndexRune(idAlphabet, r))
	}
	if d := time.Since(time.UnixMilli(ms)); d < 0 || d > time.Hour {
		t.Errorf("ID time %v is not now", time.UnixMilli(ms))
	}
}

// TestLargeBody: a record bigger than the indexer's batch is indexed whole,
// between small ones.
func TestLargeBody(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	big := &Capture{Body: bytes.Repeat([]byte("0123456789abcdef"), (batchMax+1<<20)/16)}
	for _, c := range []*Capture{{}, big, {}} {
		if err := s.Record(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, big.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Body, big.Body) {
		t.Errorf("body of %d bytes read back as %d bytes", len(big.Body), len(got.Body))
	}
	if n, err := s.Count(ctx, Query{}); err != nil || n != 3 {
		t.Errorf("Count = %d, %v; want 3", n, err)
	}
}

// TestResolveEventIDs: an Omega event ID (or a prefix of one) names the
// newest capture of that event, and the note says which was picked.
func TestResolveEventIDs(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	for _, c := range []*Capture{
		{Meta: Meta{ID: "c_01aaaaaa", EventID: "6b0ff62f0000000000000001"}},
		{Meta: Meta{ID: "c_01bbbbbb", EventID: "6b0ff62f0000000000000001", ReplayOf: "c_01aaaaaa"}},
		{Meta: Meta{ID: "c_01cccccc", EventID: "6b0ff6300000000000000002"}},
		{Meta: Meta{ID: "c_01dddddd", EventID: "01dd000000000000000000ee"}},
	} {
		if err := s.Record(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		in, want, note string
		wantErr        error
	}{
		{"c_01aaaaaa", "c_01aaaaaa", "", nil},
		{"6b0ff62f0000000000000001", "c_01bbbbbb", "has 2 captures: picked the newest, c_01bbbbbb", nil},
		{"6B0FF62F", "c_01bbbbbb", "picked the newest", nil},
		{"6b0ff63", "c_01cccccc", "its capture is c_01cccccc", nil},
		{"c_01cc", "c_01cccccc", "is capture c_01cccccc", nil},
		{"6b0ff6", "", "", ErrAmbiguous},  // two events
		{"01dd", "", "", ErrAmbiguous},    // a capture and an event
		{"6b1", "", "", ErrNotFound},      // too short
		{"ffffffff", "", "", ErrNotFound}, // nothing
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			c, note, err := s.Resolve(ctx, tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Resolve(%q) = %v, %q, %v; want %v", tc.in, c, note, err, tc.wantErr)
				}
				return
			}
			if err != nil || c.ID != tc.want || !strings.Contains(note, tc.note) || (tc.note == "") != (note == "") {
				t.Fatalf("Resolve(%q) = %v, %q, %v; want %s, %q", tc.in, c, note, err, tc.want, tc.note)
			}
		})
	}
}

func TestMarkInterrupted(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	dead := &Capture{Meta: Meta{SessionID: "s_dead", Target: "http://a/", Flags: FlagNotOmega}}
	mine := &Capture{Meta: Meta{SessionID: "s_me"}}
	done := &Capture{Meta: Meta{SessionID: "s_dead"}}
	for _, c := range []*Capture{dead, mine, done} {
		if err := s.Begin(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Finish(ctx, done); err != nil {
		t.Fatal(err)
	}
	n, err := s.MarkInterrupted(ctx, "s_me", time.Now().Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("MarkInterrupted = %d, %v; want 1", n, err)
	}
	got, err := s.Get(ctx, dead.ID)
	if err != nil || got.State != StateInterrupted || got.Outcome() != OutcomeFailed || got.Error != InterruptedError ||
		got.Target != "http://a/" || !got.Flags.Has(FlagNotOmega) {
		t.Fatalf("the dead run's capture: %+v, %v", got, err)
	}
	if got, _ := s.Get(ctx, mine.ID); got.State != StatePending {
		t.Errorf("our own pending capture was marked: %s", got.State)
	}
	if got, _ := s.Get(ctx, done.ID); got.State != StateDone {
		t.Errorf("a finished capture was marked: %s", got.State)
	}
	// Received after since: left alone.
	if n, _ := s.MarkInterrupted(ctx, "s_other", time.Now().Add(-time.Hour)); n != 0 {
		t.Errorf("marked %d received after since", n)
	}
}

// FuzzResolve: whatever a user types as an ID, Resolve answers a capture
// that the ref names (its ID or event ID starts with it, ignoring case and
// the "c_"), or an error wrapping ErrNotFound or ErrAmbiguous.
func FuzzResolve(f *testing.F) {
	s := openStore(f, f.TempDir(), Options{})
	for _, c := range []*Capture{
		{Meta: Meta{ID: "c_01aaaaaa", EventID: "6b0ff62f0000000000000001"}},
		{Meta: Meta{ID: "c_01bbbbbb", EventID: "6b0ff62f0000000000000001"}},
		{Meta: Meta{ID: "c_01cccccc", EventID: "6b0ff6300000000000000002"}},
	} {
		if err := s.Record(ctx, c); err != nil {
			f.Fatal(err)
		}
	}
	for _, seed := range []string{"c_01aa", "6b0ff62f", "6B0FF63", "01cc", "", "%", "c_", "\x00\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		c, _, err := s.Resolve(ctx, ref)
		if err != nil {
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("Resolve(%q): %v", ref, err)
			}
			return
		}
		l := strings.ToLower(ref)
		if !strings.HasPrefix(c.ID, ref) && !strings.HasPrefix(c.ID, l) && !strings.HasPrefix(c.ID, "c_"+l) && !strings.HasPrefix(c.EventID, l) {
			t.Fatalf("Resolve(%q) = %s (event %s), which it does not name", ref, c.ID, c.EventID)
		}
	})
}
