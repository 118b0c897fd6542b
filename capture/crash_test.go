//go:build unix

package capture

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// crashChildEnv, when set, makes the test binary a child that writes
// captures to the store in that dir until it is killed.
const crashChildEnv = "CAPTURE_TEST_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild begins and finishes captures forever, printing each step only
// after the store has returned from it, so every line printed is a promise
// the store must keep after SIGKILL.
func crashChild(dir string) {
	if n, err := strconv.ParseInt(os.Getenv("CAPTURE_TEST_SEGMENT_MAX"), 10, 64); err == nil {
		segmentMax = n
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	for i := 0; ; i++ {
		c := fullCapture(i)
		if err := s.Begin(ctx, c); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Println("begun", c.ID)
		c.Status = 200 + i%300
		c.Error = fmt.Sprint("e", i)
		if err := s.Finish(ctx, c); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Println("finished", c.ID, c.Status)
	}
}

// TestSIGKILL runs a child process that writes captures, kills it with
// SIGKILL at a few points, and checks that a new store holds everything the
// child was told was stored.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	cases := []struct {
		name       string
		killAfter  int    // finished captures seen before the kill
		segmentMax string // journal file size in the child
	}{
		{"early", 1, ""},
		{"later", 300, ""},
		{"many journal files", 300, "20000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "CAPTURE_TEST_SEGMENT_MAX="+tc.segmentMax)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			begun := map[string]bool{}
			finished := map[string]int{}
			sc := bufio.NewScanner(out)
			killed := false
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				switch {
				case len(f) == 2 && f[0] == "begun":
					begun[f[1]] = true
				case len(f) == 3 && f[0] == "finished":
					finished[f[1]], _ = strconv.Atoi(f[2])
				default:
					t.Fatalf("child: %s", sc.Text())
				}
				if !killed && len(finished) >= tc.killAfter {
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					killed = true
				}
			}
			err = cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child did not die of SIGKILL: %v", err)
			}
			if len(finished) < tc.killAfter {
				t.Fatalf("child finished only %d captures", len(finished))
			}

			s := openStore(t, dir, Options{Retain: -1})
			for id := range begun {
				c, err := s.Get(ctx, id)
				if err != nil {
					t.Fatalf("capture %s, begun before the kill: %v", id, err)
				}
				if status, ok := finished[id]; ok {
					if c.State != StateDone || c.Status != status || c.Error == "" || len(c.Body) == 0 {
						t.Errorf("capture %s, finished before the kill, reads back as %+v", id, c.Summary())
					}
				}
			}
			t.Logf("%d begun, %d finished before SIGKILL; all present", len(begun), len(finished))
		})
	}
}
