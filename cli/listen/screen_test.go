package listen_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/session"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
	"github.com/omega-listen/omega-listen/tui"
)

// screenRun is `omega-listen` run by Main on a (pretend) terminal: keys
// go in through a pipe, frames come out into a buffer.
type screenRun struct {
	keys     *io.PipeWriter
	out, err *clitest.LockedBuffer
	code     chan int
	final    chan string // the last frame of the program, colour off
	counts   map[capture.Outcome]int
}

func startScreenRun(t testing.TB, env map[string]string, args ...string) *screenRun {
	t.Helper()
	env["NO_COLOR"] = "1"
	in, keys := io.Pipe()
	r := &screenRun{keys: keys, out: &clitest.LockedBuffer{}, err: &clitest.LockedBuffer{}, code: make(chan int, 1), final: make(chan string, 1)}
	f := cmdutil.NewFactory(cmdutil.Streams{In: in, Out: r.out, Err: r.err, OutIsTerminal: true, InIsTerminal: true, Getenv: func(k string) string { return env[k] },
		Signals: make(chan os.Signal, 1), Exit: func(code int) { r.code <- code }})
	f.ScreenOptions = []tea.ProgramOption{tea.WithWindowSize(120, 40)}
	f.ScreenExited = func(m tea.Model) {
		tm, ok := m.(*tui.Model)
		if !ok {
			r.final <- "(the program failed)"
			return
		}
		r.counts = tm.Counts()
		r.final <- tm.View().Content
	}
	t.Cleanup(func() { keys.Close() })
	go func() { r.code <- cli.Run(args, f) }()
	dir := env["OMEGA_LISTEN_HOME"]
	deadline := time.After(20 * time.Second)
	for {
		if _, err := session.Find(dir); err == nil && strings.Contains(r.out.String(), "omega-listen") {
			return r
		}
		select {
		case c := <-r.code:
			t.Fatalf("exited %d before the screen: %s", c, r.err)
		case <-deadline:
			t.Fatalf("no screen: %s", r.err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// quit presses q and returns the last frame and the exit code.
func (r *screenRun) quit(t testing.TB) (string, int) {
	t.Helper()
	if _, err := r.keys.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	var final string
	select {
	case final = <-r.final:
	case <-time.After(30 * time.Second):
		t.Fatalf("the screen did not end: %s", r.err)
	}
	select {
	case c := <-r.code:
		return final, c
	case <-time.After(30 * time.Second):
		t.Fatalf("did not exit: %s", r.err)
	}
	return "", -1
}

func TestScreenShowsDeliveriesAndCleansUpOnQuit(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Content-Type"), "json") {
			b, _ := io.ReadAll(r.Body)
			if bytes.Contains(b, []byte(`"video.deleted"`)) {
				w.WriteHeader(500)
			}
		}
	}))
	defer app.Close()
	emu, env := clitest.EmuEnv(t, emulator.Options{})
	r := startScreenRun(t, env, "--tunnel", "none", "--forward", app.URL, "-e", "all")
	for _, typ := range []string{omega.TypeProcessSucceeded, omega.TypeDeleted, omega.TypeUploaded} {
		if _, err := emu.Deliver(context.Background(), typ); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.out.String(), "video.uploaded") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	final, code := r.quit(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, r.err)
	}
	// The last frame is the shutdown view; the endpoint is gone and the
	// steps are on stderr for the scrollback.
	if !strings.Contains(final, "Deleted endpoint") {
		t.Errorf("last frame does not show the clean-up:\n%s", final)
	}
	if len(emu.Endpoints()) != 0 {
		t.Errorf("endpoint left behind: %+v", emu.Endpoints())
	}
	if !strings.Contains(r.err.String(), "Deleted endpoint") {
		t.Errorf("stderr: %s", r.err)
	}
	out := r.out.String()
	for _, want := range []string{"video.process_succeeded", "video.deleted", "video.uploaded"} {
		if !strings.Contains(out, want) {
			t.Errorf("the screen never showed %q", want)
		}
	}
	if r.counts[capture.OutcomeOK] != 2 || r.counts[capture.OutcomeAppError] != 1 {
		t.Errorf("counted %v, want 2 ok and 1 app error", r.counts)
	}
	if sgrColour.MatchString(out) {
		t.Errorf("NO_COLOR set, yet the screen used colour: %q", sgrColour.FindString(out))
	}
}

// sgrColour matches an SGR sequence that sets a foreground or background
// colour.
var sgrColour = regexp.MustCompile(`\x1b\[(?:[0-9]*;)*(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9]+)*m`)

// burst sends rate deliveries per second for d straight to the receiver
// and returns each one's latency as the sender (Omega) sees it.
func burst(t testing.TB, receiver string, rate int, d time.Duration) []time.Duration {
	body, err := omega.SampleEvent(omega.TypeProcessSucceeded, "", "")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	n := int(d.Seconds() * float64(rate))
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		wg.Go(func() {
			start := time.Now()
			resp, err := client.Post(receiver, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Errorf("delivery %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat[i] = time.Since(start)
			if resp.StatusCode != 200 {
				t.Errorf("delivery %d: %s", i, resp.Status)
			}
		})
	}
	wg.Wait()
	return lat
}

func pct(lat []time.Duration, p float64) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

// TestScreenKeepsUpWithABurst: 200 deliveries a second for 10 s with the
// screen open: every one is answered, and the screen counts every one (no
// row lost between the bus and the program). The latencies, beside those
// of line output, are logged; the benchmark below is where they are
// compared.
func TestScreenKeepsUpWithABurst(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s of traffic")
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	_, env := clitest.EmuEnv(t, emulator.Options{})
	r := startScreenRun(t, env, "--tunnel", "none", "--forward", app.URL)
	si, err := session.Find(env["OMEGA_LISTEN_HOME"])
	if err != nil {
		t.Fatal(err)
	}
	const rate, secs = 200, 10
	lat := burst(t, si.ReceiverURL, rate, secs*time.Second)
	final, code := r.quit(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, r.err)
	}
	if !strings.Contains(final, "Deleted endpoint") {
		t.Errorf("last frame:\n%s", final)
	}
	if got := r.counts[capture.OutcomeOK]; got != rate*secs {
		t.Errorf("the screen counted %d ok deliveries, want %d: rows were lost on the way", got, rate*secs)
	}
	t.Logf("screen open: %d deliveries, p50 %s, p99 %s, max %s", len(lat), pct(lat, .5), pct(lat, .99), pct(lat, 1))
}

// BenchmarkBurstLatency: the latency Omega sees during a 200/s burst of
// 10 s, with the screen open and with line output. Run it with
// -benchtime=1x; it reports p50 and p99 in µs.
func BenchmarkBurstLatency(b *testing.B) {
	const rate, d = 200, 10 * time.Second
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	report := func(b *testing.B, lat []time.Duration) {
		b.ReportMetric(float64(pct(lat, .5).Microseconds()), "p50-µs")
		b.ReportMetric(float64(pct(lat, .99).Microseconds()), "p99-µs")
		b.ReportMetric(float64(pct(lat, 1).Microseconds()), "max-µs")
	}
	b.Run("screen", func(b *testing.B) {
		for range b.N {
			_, env := clitest.EmuEnv(b, emulator.Options{})
			r := startScreenRun(b, env, "--tunnel", "none", "--forward", app.URL)
			si, err := session.Find(env["OMEGA_LISTEN_HOME"])
			if err != nil {
				b.Fatal(err)
			}
			lat := burst(b, si.ReceiverURL, rate, d)
			if _, code := r.quit(b); code != 0 {
				b.Fatalf("exit %d", code)
			}
			if got := r.counts[capture.OutcomeOK]; got != len(lat) {
				b.Fatalf("screen counted %d of %d", got, len(lat))
			}
			report(b, lat)
		}
	})
	b.Run("lines", func(b *testing.B) {
		for range b.N {
			_, env := clitest.EmuEnv(b, emulator.Options{})
			p := clitest.StartInProc(b, env, "--tunnel", "none", "--forward", app.URL, "--print")
			si, err := session.Find(env["OMEGA_LISTEN_HOME"])
			if err != nil {
				b.Fatal(err)
			}
			lat := burst(b, si.ReceiverURL, rate, d)
			p.Stop(b)
			report(b, lat)
		}
	})
}
