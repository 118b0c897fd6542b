package relay_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/relay"
)

// TestMain lets the test binary run a relay as its own process, so a test
// can SIGKILL it.
func TestMain(m *testing.M) {
	if dir := os.Getenv("RELAY_TEST_SERVE_DIR"); dir != "" {
		serveForever(dir)
		return
	}
	os.Exit(m.Run())
}

func serveForever(dir string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s, err := relay.New(relay.Options{PublicURL: "http://" + ln.Addr().String(), Tokens: map[string]string{"alice": aliceTok}, Dir: dir})
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().String())
	_ = http.Serve(ln, s)
}

func startRelayProcess(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RELAY_TEST_SERVE_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the relay process said nothing: %v", err)
	}
	return cmd, "http://" + strings.TrimSpace(line)
}

// A relay killed with SIGKILL keeps every delivery it answered 202 to:
// restarted on the same directory, it holds them and drains them in order.
func TestRelaySurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cmd, u := startRelayProcess(t, dir)
	const n = 50
	done := make(chan int, n)
	// Concurrent senders share fsyncs; each 202 must still mean stored.
	for i := range n {
		go func() {
			res, err := http.Post(u+"/c/alice/omega/"+pathTok, "application/json", strings.NewReader(fmt.Sprintf(`{"n":%d}`, i)))
			if err != nil {
				done <- -1
				return
			}
			res.Body.Close()
			done <- res.StatusCode
		}()
	}
	for range n {
		if c := <-done; c != 202 {
			t.Fatalf("a delivery got %d", c)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	_, u2 := startRelayProcess(t, dir)
	a := startApp(t)
	l, err := startListener(t, u2, aliceTok, a.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range n {
		c := l.next(t)
		if seen[string(c.Body)] {
			t.Fatalf("%s delivered twice", c.Body)
		}
		seen[string(c.Body)] = true
	}
	select {
	case c := <-l.done:
		t.Fatalf("an extra delivery %s", c.Body)
	case <-time.After(200 * time.Millisecond):
	}
}
