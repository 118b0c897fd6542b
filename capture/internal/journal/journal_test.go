package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// frame makes a frame around body.
func frame(body string) []byte {
	f := append(StartFrame(nil), body...)
	EndFrame(f)
	Seal(f)
	return f
}

func TestNext(t *testing.T) {
	a, b := frame("ab-first"), frame("second")
	both := append(bytes.Clone(a), b...)
	body, size, err := Next(both)
	if err != nil || string(body) != "ab-first" || size != len(a) {
		t.Fatalf("Next = %q, %d, %v", body, size, err)
	}
	if body, _, err := Next(both[size:]); err != nil || string(body) != "second" {
		t.Fatalf("second Next = %q, %v", body, err)
	}
	if Size(both) != int64(len(a)) || Size(both[:3]) != 0 {
		t.Errorf("Size = %d, %d", Size(both), Size(both[:3]))
	}
	damaged := bytes.Clone(a)
	damaged[HeaderLen+1] ^= 1
	for _, tc := range []struct {
		name string
		in   []byte
		torn bool
		last bool // LastFrame at 0
	}{
		{"short header", a[:5], true, true},
		{"cut short", a[:len(a)-1], true, true},
		{"checksum", damaged, false, true},
		{"impossible length", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1}, false, false},
		{"damage before another frame", append(bytes.Clone(damaged), b...), false, false},
	} {
		_, _, err := Next(tc.in)
		if err == nil || errors.Is(err, ErrTorn) != tc.torn {
			t.Errorf("%s: Next err = %v, want torn %v", tc.name, err, tc.torn)
		}
		if LastFrame(tc.in, 0) != tc.last {
			t.Errorf("%s: LastFrame = %v", tc.name, !tc.last)
		}
	}
}

func FuzzNext(f *testing.F) {
	f.Add(frame("hello"))
	f.Add(append(frame("x"), 1, 2, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		body, size, err := Next(b)
		if err != nil {
			LastFrame(b, 0)
			return
		}
		if size > len(b) || size != HeaderLen+len(body) || Size(b) != int64(size) {
			t.Fatalf("Next(%q) = %q, %d", b, body, size)
		}
		if again, _, err := Next(frame(string(body))); err != nil || !bytes.Equal(again, body) {
			t.Fatalf("re-framed body: %q, %v", again, err)
		}
	})
}

func TestJournal(t *testing.T) {
	dir := t.TempDir()
	j, err := New(dir, 20) // a new file after every frame of 20 bytes or more
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	var seqs []int64
	for _, body := range []string{"v-first record....", "v-second record...", "v-third"} {
		f := append(StartFrame(nil), body...)
		f = append(f, make([]byte, 8)...)
		EndFrame(f)
		seq, err := j.Append(f, len(f)-8)
		if err != nil {
			t.Fatal(err)
		}
		frames, seqs = append(frames, f), append(seqs, seq)
	}
	if seqs[0] <= 0 || seqs[1] <= seqs[0] || seqs[2] <= seqs[1] {
		t.Errorf("sequence numbers %v do not increase", seqs)
	}
	if seq, err := j.Append(frame("no seq"), 0); err != nil || seq != 0 {
		t.Errorf("Append without seq = %d, %v", seq, err)
	}
	js, _ := filepath.Glob(filepath.Join(dir, "journal-*.seg"))
	if len(js) != 4 { // each frame fills its file
		t.Fatalf("journal files %v, want 4", js)
	}
	// Read back by position, as the indexer does.
	var pos uint64
	var got []string
	for {
		seg, off, n := j.Unread(pos)
		if n == 0 {
			break
		}
		b := make([]byte, n)
		if _, err := seg.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		for len(b) > 0 {
			body, size, err := Next(b)
			if err != nil {
				t.Fatalf("%s: %v", seg.Path(), err)
			}
			got = append(got, string(body))
			b, pos = b[size:], pos+uint64(size)
		}
	}
	if len(got) != 4 || got[0][:7] != "v-first" || got[3] != "no seq" {
		t.Errorf("read back %q", got)
	}
	if pos != j.Written() {
		t.Errorf("read up to %d, Written = %d", pos, j.Written())
	}
	// Release hands back all files read but the one being written.
	done := j.Release(pos)
	if len(done) != 3 {
		t.Fatalf("Release gave %d files, want 3", len(done))
	}
	for _, seg := range done {
		if err := os.Rename(seg.Path(), BodiesPath(dir, seg.Name())); err != nil {
			t.Fatal(err)
		}
		seg.Close()
	}
	// Files finds a segment under either name.
	fs := Files{Dir: dir}
	defer fs.Close()
	for _, seg := range append(done, j.Close()...) {
		b, _, err := fs.Read(seg.Name(), 0, int64(HeaderLen))
		if err != nil || Size(b) == 0 {
			t.Errorf("Files.Read(%s) = %v", seg.Name(), err)
		}
		seg.Close()
	}
	if _, _, err := fs.Read("nonesuch", 0, 1); !errors.Is(err, ErrGone) {
		t.Errorf("Files.Read of a missing segment: %v", err)
	}
	if _, err := j.Append(frame("late"), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	// The journal left behind is an orphan nobody holds.
	names, err := Orphans(dir)
	if err != nil || len(names) != 1 {
		t.Fatalf("Orphans = %v, %v", names, err)
	}
	f, err := Claim(dir, names[0])
	if err != nil || (f == nil) == journalLocks {
		t.Fatalf("Claim = %v, %v (locks %v)", f, err, journalLocks)
	}
	if f != nil {
		f.Close()
	}
}
