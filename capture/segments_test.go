package capture

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func glob(t *testing.T, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func smallSegments(t *testing.T, n int64) {
	old := segmentMax
	segmentMax = n
	t.Cleanup(func() { segmentMax = old })
}

// TestBodiesFiles follows journal files through their life: renamed once
// indexed, read from by Get, deleted once retention has pruned every
// capture in them, and all deleted by Delete.
func TestBodiesFiles(t *testing.T) {
	smallSegments(t, 8<<10) // about 8 captures a file
	dir := t.TempDir()
	const retain = 10
	s := openStore(t, dir, Options{Retain: retain})
	var all []*Capture
	for i := range 100 {
		c := fullCapture(i)
		if err := s.Begin(ctx, c); err != nil {
			t.Fatal(err)
		}
		finishFull(c)
		if err := s.Finish(ctx, c); err != nil {
			t.Fatal(err)
		}
		all = append(all, c)
		if i%7 == 0 {
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if js := glob(t, dir, "journal-*.seg"); len(js) != 1 {
		t.Errorf("journal files once all is indexed: %v, want only the one being written", js)
	}
	// The newest 10 captures span at most 3 files of 8; the pruned ones' files are gone.
	if bs := glob(t, dir, "bodies-*.seg"); len(bs) == 0 || len(bs) > 3 {
		t.Errorf("bodies files holding %d captures: %v", retain, bs)
	}
	check := func(s *Store) {
		t.Helper()
		got, err := s.ListFull(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != retain {
			t.Fatalf("ListFull: %d captures, want %d", len(got), retain)
		}
		for i, c := range got {
			sameCapture(t, all[len(all)-retain+i], c)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if js := glob(t, dir, "*journal*"); len(js) != 0 {
		t.Errorf("journal files after Close: %v", js)
	}
	s = openStore(t, dir, Options{Retain: retain})
	check(s)
	n, err := s.Delete(ctx, Query{})
	if err != nil || n != retain {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	if bs := glob(t, dir, "bodies-*"); len(bs) != 0 {
		t.Errorf("bodies files after deleting every capture: %v", bs)
	}
	var segs int
	if err := s.db.QueryRow("SELECT count(*) FROM segments").Scan(&segs); err != nil || segs != 0 {
		t.Errorf("segments left in the index: %d, %v", segs, err)
	}
}

// TestUnreferencedJournalDeleted: a journal file none of whose records
// reached the index as a row (a finish for a capture already gone) is
// deleted rather than kept.
func TestUnreferencedJournalDeleted(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	if err := s.Finish(ctx, &Capture{Meta: Meta{ID: "c_gone"}, RespBody: []byte("late")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fs := glob(t, dir, "*.seg"); len(fs) != 0 {
		t.Errorf("files left: %v", fs)
	}
}

// TestMissingBodiesFile: a capture whose file was deleted by hand cannot
// be read whole, and says which file is missing; its summary still lists.
func TestMissingBodiesFile(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	c := fullCapture(1)
	if err := s.Record(ctx, c); err != nil {
		t.Fatal(err)
	}
	s.Close()
	bs := glob(t, dir, "bodies-*.seg")
	if len(bs) != 1 {
		t.Fatalf("bodies files: %v", bs)
	}
	if err := os.Remove(bs[0]); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, Options{})
	if _, err := s.Get(ctx, c.ID); err == nil || !strings.Contains(err.Error(), bs[0]) {
		t.Errorf("Get = %v, want an error naming %s", err, bs[0])
	}
	if sums, err := s.List(ctx, Query{}); err != nil || len(sums) != 1 {
		t.Errorf("List = %v, %v", sums, err)
	}
	if sums, err := s.List(ctx, Query{Text: "process"}); err != nil || len(sums) != 0 {
		t.Errorf("List by text = %v, %v; want nothing", sums, err)
	}
}

// TestReadWhilePruning reads whole captures in one store while another on
// the same dir writes enough to prune them and delete their files: every
// read must succeed, and see whole captures.
func TestReadWhilePruning(t *testing.T) {
	smallSegments(t, 4<<10)
	dir := t.TempDir()
	w := openStore(t, dir, Options{Retain: 5})
	r := openStore(t, dir, Options{Retain: 5})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		defer close(stop)
		for i := range 1000 {
			c := fullCapture(i)
			finishFull(c)
			if err := w.Record(ctx, c); err != nil {
				t.Error(err)
				return
			}
			if i%10 == 0 {
				if err := w.Flush(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	reads, seen := 0, 0
	for {
		select {
		case <-stop:
			t.Logf("%d reads saw %d captures", reads, seen)
			if seen == 0 {
				t.Error("no read saw a capture: the test proves nothing")
			}
			return
		default:
		}
		caps, err := r.ListFull(ctx, Query{})
		if err != nil {
			t.Errorf("ListFull while pruning: %v", err)
			<-stop
			return
		}
		reads, seen = reads+1, seen+len(caps)
		for _, c := range caps {
			if !bytes.HasPrefix(c.Body, []byte{0, 1, 2}) || len(c.Headers) == 0 || len(c.RespBody) == 0 {
				t.Errorf("capture %s read back without its headers or bodies: %+v", c.ID, c.Summary())
				<-stop
				return
			}
		}
	}
}

// TestConcurrentReplay: two stores opening at once on a dead store's
// journal index it once between them, and leave it renamed.
func TestConcurrentReplay(t *testing.T) {
	smallSegments(t, 8<<10)
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want []*Capture
	for i := range 30 {
		c := fullCapture(i)
		if err := s.Record(ctx, c); err != nil {
			t.Fatal(err)
		}
		want = append(want, c)
	}
	s.crash()
	var wg sync.WaitGroup
	stores := make([]*Store, 2)
	for i := range stores {
		wg.Go(func() {
			s, err := Open(dir, Options{})
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if js := glob(t, dir, "journal-*"); len(js) != 0 {
		t.Errorf("journal files left after replay: %v", js)
	}
	for _, s := range stores {
		got, err := s.ListFull(ctx, Query{})
		if err != nil || len(got) != len(want) {
			t.Fatalf("ListFull = %d captures, %v; want %d", len(got), err, len(want))
		}
		for i := range want {
			sameCapture(t, want[i], got[i])
		}
	}
}

// schemaV1 is the schema of the first stores, whose rows hold headers (as
// JSON) and bodies.
const schemaV1 = `
CREATE TABLE captures (
	seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, session_id TEXT NOT NULL DEFAULT '',
	state TEXT NOT NULL DEFAULT '', received_at INTEGER, completed_at INTEGER,
	remote_addr TEXT NOT NULL DEFAULT '', method TEXT NOT NULL DEFAULT '', path TEXT NOT NULL DEFAULT '',
	headers TEXT, body BLOB, body_size INTEGER NOT NULL DEFAULT 0, event_id TEXT NOT NULL DEFAULT '',
	event_type TEXT NOT NULL DEFAULT '', endpoint_id TEXT NOT NULL DEFAULT '', event_created INTEGER,
	flags INTEGER NOT NULL DEFAULT 0, reject_reason TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '',
	status INTEGER NOT NULL DEFAULT 0, resp_headers TEXT, resp_body BLOB, resp_body_size INTEGER NOT NULL DEFAULT 0,
	duration_ns INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', sent_status INTEGER NOT NULL DEFAULT 0,
	replay_of TEXT NOT NULL DEFAULT ''
);
CREATE INDEX captures_event_type ON captures(event_type, seq);
CREATE INDEX captures_session ON captures(session_id, seq) WHERE session_id != '';
CREATE INDEX captures_replay_of ON captures(replay_of) WHERE replay_of != '';
PRAGMA user_version = 1;
`

// TestMigrateV1: a store written by the first schema opens, its captures
// read back whole (headers and bodies from the table), a pending one can
// be finished, and text search covers old and new captures alike.
func TestMigrateV1(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, dbName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(schemaV1); err != nil {
		t.Fatal(err)
	}
	old := fullCapture(1)
	old.ID, old.Seq, old.State = "c_old", 1000, StateDone
	old.ReceivedAt = time.Unix(1764176401, 5)
	finishFull(old)
	pending := fullCapture(2)
	pending.ID, pending.Seq, pending.State = "c_pending", 1001, StatePending
	pending.ReceivedAt = time.Unix(1764176402, 0)
	for _, c := range []*Capture{old, pending} {
		h, _ := json.Marshal(c.Headers)
		var rh any
		if c.RespHeaders != nil {
			b, _ := json.Marshal(c.RespHeaders)
			rh = string(b)
		}
		var completed any
		if !c.CompletedAt.IsZero() {
			completed = c.CompletedAt.UnixNano()
		}
		_, err := db.Exec(`INSERT INTO captures (seq, id, session_id, state, received_at, completed_at, remote_addr,
			method, path, headers, body, body_size, event_id, event_type, endpoint_id, event_created, flags,
			reject_reason, target, status, resp_headers, resp_body, resp_body_size, duration_ns, error,
			sent_status, replay_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Seq, c.ID, c.SessionID, string(c.State), c.ReceivedAt.UnixNano(), completed, c.RemoteAddr,
			c.Method, c.Path, string(h), c.Body, len(c.Body), c.EventID, c.EventType, c.EndpointID,
			c.EventCreated.UnixNano(), int64(c.Flags), c.RejectReason, c.Target, c.Status, rh, c.RespBody,
			len(c.RespBody), int64(c.Duration), c.Error, c.SentStatus, c.ReplayOf)
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := openStore(t, dir, Options{})
	var v int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != schemaVersion {
		t.Fatalf("user_version = %d, %v", v, err)
	}
	got, err := s.Get(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameCapture(t, old, got)
	finishFull(pending)
	pending.State = StateDone
	if err := s.Finish(ctx, pending); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Get(ctx, pending.ID); err != nil {
		t.Fatal(err)
	}
	sameCapture(t, pending, got)
	fresh := fullCapture(3)
	fresh.Body = []byte(`{"marker":"only-new"}`)
	if err := s.Record(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text string
		want int
	}{{`"n":1,`, 1}, {`"n":2,`, 1}, {"only-new", 1}, {"video.process_succeeded", 2}, {"absent", 0}} {
		if n, err := s.Count(ctx, Query{Text: tc.text}); err != nil || n != tc.want {
			t.Errorf("Count(Text %q) = %d, %v; want %d", tc.text, n, err, tc.want)
		}
	}
	var idx int
	if err := s.db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('captures_event_type', 'captures_session')").Scan(&idx); err != nil || idx != 0 {
		t.Errorf("indexes left from version 1: %d, %v", idx, err)
	}
	if _, err := s.Get(ctx, "c_nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a missing ID = %v", err)
	}
}
