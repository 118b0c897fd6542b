//go:build linux

package capture

// Drill (issue 7): the disk fills up under a Store and frees again. The
// full disk is RLIMIT_FSIZE in a child process: a write that would grow a
// file past the limit fails with EFBIG (part of it written first), as one
// fails with ENOSPC; unlike a read-only mode it also stops root, and it
// hits the files the store already holds open.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const diskFullChildEnv = "CAPTURE_DRILL_DISKFULL_DIR"

// TestDrillDiskFullChild is the child of TestDrillDiskFullThenFree; run
// alone it does nothing.
func TestDrillDiskFullChild(t *testing.T) {
	dir := os.Getenv(diskFullChildEnv)
	if dir == "" {
		t.Skip("the child of TestDrillDiskFullThenFree")
	}
	s, err := Open(dir, Options{Retain: -1})
	if err != nil {
		fmt.Println("error", err)
		return
	}
	write := func(i int) {
		c := fullCapture(i)
		c.ID = NewID()
		if err := s.Begin(ctx, c); err != nil {
			fmt.Println("fail", c.ID, err)
			return
		}
		c.State = StateDone
		c.Status = 200 + i
		c.SentStatus = c.Status
		if err := s.Finish(ctx, c); err != nil {
			// Begun but not finished: it may be stored as pending.
			fmt.Println("begun", c.ID, err)
			return
		}
		fmt.Println("ok", c.ID, c.Status)
	}
	for i := range 10 {
		write(i)
	}
	// Room for a little more than the journal has now, so the first write
	// after this is cut short part way.
	journals, _ := filepath.Glob(filepath.Join(dir, "journal-*.seg"))
	if len(journals) != 1 {
		fmt.Println("error: journal files", journals)
		return
	}
	fi, err := os.Stat(journals[0])
	if err != nil {
		fmt.Println("error", err)
		return
	}
	lim := syscall.Rlimit{Cur: uint64(fi.Size() + 100), Max: ^uint64(0)}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("error", err)
		return
	}
	for i := 10; i < 30; i++ {
		write(i)
	}
	lim.Cur = ^uint64(0)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("error", err)
		return
	}
	for i := 30; i < 40; i++ {
		write(i)
	}
	fmt.Println("closed", s.Close())
}

// TestDrillDiskFullThenFree: while the disk is full, writes fail with the
// error and store nothing; once it has room, writes succeed again, and a
// new Store finds every capture whose write succeeded, before and after,
// with no damaged file.
func TestDrillDiskFullThenFree(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDrillDiskFullChild$", "-test.v")
	cmd.Env = append(os.Environ(), diskFullChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	ok := map[string]string{}
	var failed, begun []string
	var closeErr string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "ok":
			ok[f[1]] = f[2]
		case "fail":
			failed = append(failed, f[1])
			if !strings.Contains(sc.Text(), "file too large") {
				t.Errorf("the error does not say why: %s", sc.Text())
			}
		case "begun":
			begun = append(begun, f[1])
		case "closed":
			closeErr = strings.Join(f[1:], " ")
		case "error":
			t.Fatalf("child: %s", sc.Text())
		}
	}
	if len(ok) < 20 || len(failed) == 0 {
		t.Fatalf("child wrote %d, failed %d: the drill did not fill the disk\n%s", len(ok), len(failed), out)
	}
	s, err := Open(dir, Options{Retain: -1})
	if err != nil {
		t.Fatalf("reopening after the disk was full: %v", err)
	}
	defer s.Close()
	caps, err := s.ListFull(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*Capture{}
	for _, c := range caps {
		got[c.ID] = c
	}
	for id, status := range ok {
		c, found := got[id]
		if !found {
			t.Errorf("capture %s, whose write succeeded, is missing", id)
			continue
		}
		if fmt.Sprint(c.Status) != status || c.State != StateDone || len(c.Body) == 0 {
			t.Errorf("capture %s: status %d, state %s, body %d bytes; want %s, done, the body", id, c.Status, c.State, len(c.Body), status)
		}
	}
	for _, id := range failed {
		if _, found := got[id]; found {
			t.Errorf("capture %s, whose write failed, is in the store", id)
		}
	}
	if len(got) > len(ok)+len(begun) {
		t.Errorf("the store holds %d captures, more than the %d written", len(got), len(ok)+len(begun))
	}
	damaged, _ := filepath.Glob(filepath.Join(dir, "*.damaged"))
	if len(damaged) > 0 {
		t.Errorf("the full disk left damaged files: %v", damaged)
	}
	t.Logf("written %d, failed %d, begun only %d; close: %s", len(ok), len(failed), len(begun), closeErr)
}
