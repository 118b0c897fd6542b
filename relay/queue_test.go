package relay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/relay/wire"
)

func TestQueueReopenAndTornTail(t *testing.T) {
	dir := t.TempDir()
	q, err := openQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	epoch := q.epoch
	for i := range 5 {
		if _, _, err := q.append(&wire.Deliver{Method: "POST", Target: "/x", AcceptedAt: time.Now(), Body: []byte{byte('a' + i)}}, limits{}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.ack(2); err != nil {
		t.Fatal(err)
	}
	q.close()
	// A torn last record (a write cut by a crash, never answered 202).
	f, _ := os.OpenFile(filepath.Join(dir, "queue.log"), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0, 0, 0, 40, 1, 2})
	f.Close()
	q, err = openQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	if q.epoch != epoch {
		t.Errorf("epoch changed: %s → %s", epoch, q.epoch)
	}
	es := q.after(0, 10)
	if len(es) != 3 || es[0].id != 3 || es[2].id != 5 {
		t.Fatalf("after reopen: %+v", es)
	}
	d, err := q.read(es[0])
	if err != nil || string(d.Body) != "c" || !d.Queued {
		t.Fatalf("read: %+v %v", d, err)
	}
	id, _, err := q.append(&wire.Deliver{Method: "POST", Target: "/x", Body: []byte("f")}, limits{}, time.Now())
	if err != nil || id != 6 {
		t.Fatalf("append after the torn tail: %d %v", id, err)
	}
	if err := q.ack(6); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "queue.log")); st.Size() != 0 {
		t.Errorf("an empty queue's log is %d bytes", st.Size())
	}
	if _, err := q.read(es[0]); err != errAcked {
		t.Errorf("reading an acked entry: %v", err)
	}
	// IDs keep counting after the log starts afresh.
	q.close()
	q, _ = openQueue(dir)
	if id, _, _ := q.append(&wire.Deliver{Method: "POST", Target: "/x"}, limits{}, time.Now()); id != 7 {
		t.Errorf("next ID after an emptied queue: %d, want 7", id)
	}
}

func TestParseTokens(t *testing.T) {
	long := strings.Repeat("k", MinTokenLen)
	good := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"one", "alice:" + long, map[string]string{"alice": long}},
		{"a spaced list", " alice:" + long + " , bob:" + long + "2", map[string]string{"alice": long, "bob": long + "2"}},
		{"lines with a comment and a blank", "# team\nalice:" + long + "\n\nbob:" + long + "x\n", map[string]string{"alice": long, "bob": long + "x"}},
	}
	for _, g := range good {
		t.Run(g.name, func(t *testing.T) {
			got, err := ParseTokens(g.in)
			if err != nil || len(got) != len(g.want) {
				t.Errorf("ParseTokens(%q) = %v, %v", g.in, got, err)
				return
			}
			for k, v := range g.want {
				if got[k] != v {
					t.Errorf("ParseTokens(%q)[%s] = %q", g.in, k, got[k])
				}
			}
		})
	}
	bad := []struct{ name, in, want string }{
		{"empty", "", "no client tokens"},
		{"no token", "alice", "not name:token"},
		{"short token", "alice:short", "at least 32"},
		{"upper-case name", "Alice:" + long, "lower-case"},
		{"a name twice", "alice:" + long + ",alice:" + long + "2", "two tokens"},
		{"a token twice", "alice:" + long + ",bob:" + long, "share a token"},
		{"colon in the token", "alice:" + long + "x:y", "colon"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseTokens(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseTokens(%q) = %v, want an error with %q", tc.in, err, tc.want)
			}
		})
	}
	if tok := NewToken(); len(tok) < MinTokenLen || strings.ContainsAny(tok, ":, ") {
		t.Errorf("NewToken() = %q", tok)
	}
}

func FuzzParseTokens(f *testing.F) {
	f.Add("alice:" + strings.Repeat("k", 32))
	f.Add("# c\nbob:" + strings.Repeat("z", 40) + ",carol:" + strings.Repeat("y", 33))
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseTokens(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for name, tok := range m {
			if ValidName(name) != nil || len(tok) < MinTokenLen || seen[tok] {
				t.Fatalf("accepted %q:%q from %q", name, tok, s)
			}
			seen[tok] = true
		}
	})
}

func TestParseResume(t *testing.T) {
	if e, id, ok := parseResume("abc 12"); !ok || e != "abc" || id != 12 {
		t.Errorf("parseResume: %q %d %v", e, id, ok)
	}
	for _, tc := range []struct{ name, s string }{
		{"empty", ""},
		{"no ID", "abc"},
		{"no epoch", " 12"},
		{"ID not a number", "abc x"},
		{"negative ID", "abc -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, ok := parseResume(tc.s); ok {
				t.Errorf("parseResume(%q) accepted", tc.s)
			}
		})
	}
}
