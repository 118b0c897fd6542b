package wait_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

// watching is told when a `wait` that waitRun started watches for new
// captures (the factory's WaitWatching): tests deliver after that.
var watching = make(chan struct{}, 1)

// waitRun starts `wait` in the background, so the delivery can follow it.
func waitRun(t *testing.T, env map[string]string, args ...string) <-chan [3]string {
	t.Helper()
	done := make(chan [3]string, 1)
	seam := func(f *cmdutil.Factory) {
		f.WaitWatching = func() {
			select {
			case watching <- struct{}{}:
			default:
			}
		}
	}
	go func() {
		code, out, errs := clitest.RunWith(t, seam, env, append([]string{"wait"}, args...)...)
		done <- [3]string{string(rune('0' + code)), out, errs}
	}()
	return done
}

func TestWait(t *testing.T) {
	waitUntilWatching := func(t *testing.T) {
		t.Helper()
		select {
		case <-watching:
		case <-time.After(20 * time.Second):
			t.Fatal("wait never started watching")
		}
	}
	var status atomic.Int32
	status.Store(200)
	var hold atomic.Pointer[chan struct{}] // when set, the app waits for it to close
	entered := make(chan struct{}, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := hold.Load(); h != nil {
			entered <- struct{}{}
			<-*h
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer app.Close()
	_, env := clitest.EmuEnv(t, emulator.Options{})

	// Nothing running yet.
	code, _, errs := clitest.Run(t, env, "wait", "--type", "video.uploaded", "--timeout", "1s")
	if code != 1 || !strings.Contains(errs, "no omega-listen is running") {
		t.Fatalf("no listener: exit %d, %q", code, errs)
	}

	p := clitest.StartInProc(t, env, "--tunnel", "none", "--listen", "127.0.0.1:0", "--forward", app.URL, "-e", "all", "--print")
	defer p.Stop(t)

	trigger := func(typ string) {
		t.Helper()
		if code, out, errs := clitest.Run(t, env, "trigger", typ); code != 0 && status.Load() < 300 {
			t.Fatalf("trigger %s: exit %d %s %s", typ, code, out, errs)
		}
	}
	// wait counts only deliveries received after it started: trigger
	// once it watches.
	startWait := func(args ...string) <-chan [3]string {
		select {
		case <-watching: // left by a wait run without startWait
		default:
		}
		ch := waitRun(t, env, args...)
		waitUntilWatching(t)
		return ch
	}

	// A matching delivery with the expected answer: exit 0, printed.
	ch := startWait("--type", "video.uploaded", "--expect", "2xx", "--timeout", "20s")
	trigger("video.deleted") // another type does not end the wait
	trigger("video.uploaded")
	r := <-ch
	if r[0] != "0" || !strings.Contains(r[1], "[200] POST") || !strings.Contains(r[1], "<--") {
		t.Fatalf("matching delivery: exit %s, out %q, err %q", r[0], r[1], r[2])
	}

	// The app answers 500: a wrong result exits 1 and says what came back.
	status.Store(500)
	ch = startWait("--type", "video.uploaded", "--timeout", "20s")
	trigger("video.uploaded")
	r = <-ch
	if r[0] != "1" || !strings.Contains(r[2], "got 500, not the expected 2xx") || !strings.Contains(r[1], "[500]") {
		t.Fatalf("wrong result: exit %s, out %q, err %q", r[0], r[1], r[2])
	}
	// ... which --expect 5xx accepts, found with --since after the fact.
	code, out, errs := clitest.Run(t, env, "wait", "--type", "video.uploaded", "--expect", "5xx", "--since", "1m", "--timeout", "20s", "--format", "json")
	if code != 0 || !strings.Contains(out, `"status": 500`) {
		t.Fatalf("--since --expect 5xx --format json: exit %d, out %q, err %q", code, out, errs)
	}

	// Nothing comes: timeout exits 1.
	code, _, errs = clitest.Run(t, env, "wait", "--type", "video.process_failed", "--timeout", "300ms")
	if code != 1 || !strings.Contains(errs, "no video.process_failed delivery completed within 300ms") || strings.Contains(errs, "Hint") {
		t.Fatalf("timeout: exit %d, %q", code, errs)
	}

	// Trigger, then wait without --since: the delivery came before wait
	// started, so it does not count, and the error says how to count it.
	status.Store(200)
	trigger("video.process_succeeded")
	code, _, errs = clitest.Run(t, env, "wait", "--type", "video.process_succeeded", "--timeout", "2s")
	if code != 1 || !strings.Contains(errs, "Hint: video.process_succeeded [") || !strings.Contains(errs, "before wait started, and only later ones count: add --since 1m to count it") {
		t.Fatalf("trigger then wait: exit %d, %q", code, errs)
	}

	// With --since, of several that already happened the newest counts.
	var ids []string
	for range 2 {
		code, out, errs := clitest.Run(t, env, "trigger", "video.ready_for_processing")
		i := strings.Index(out, "[")
		if code != 0 || i < 0 {
			t.Fatalf("trigger: exit %d %q %q", code, out, errs)
		}
		ids = append(ids, out[i+1:i+25])
	}
	code, out, errs = clitest.Run(t, env, "wait", "--type", "video.ready_for_processing", "--since", "1m", "--timeout", "20s")
	if code != 0 || !strings.Contains(out, ids[1]) {
		t.Fatalf("--since with two earlier deliveries: exit %d, out %q (want the newest, %s), err %q", code, out, ids[1], errs)
	}

	// A delivery in flight when wait starts (the app is slow) counts when
	// it completes.
	h := make(chan struct{})
	hold.Store(&h)
	triggered := make(chan struct{})
	go func() {
		defer close(triggered)
		if code, out, errs := clitest.Run(t, env, "trigger", "video.deletion_reverted"); code != 0 {
			t.Errorf("trigger: exit %d %s %s", code, out, errs)
		}
	}()
	select {
	case <-entered:
	case <-triggered:
		t.Fatal("the delivery never reached the app")
	}
	ch = startWait("--type", "video.deletion_reverted", "--timeout", "20s")
	hold.Store(nil)
	close(h)
	r = <-ch
	<-triggered
	if r[0] != "0" || !strings.Contains(r[1], "[200] POST") {
		t.Fatalf("in flight at start: exit %s, out %q, err %q", r[0], r[1], r[2])
	}
}

func TestWaitUsage(t *testing.T) {
	_, env := clitest.EmuEnv(t, emulator.Options{})
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no type", []string{"wait"}},
		{"unknown type", []string{"wait", "--type", "video.nope"}},
		{"bad expect", []string{"wait", "--type", "video.uploaded", "--expect", "7xx"}},
		{"unknown format", []string{"wait", "--type", "video.uploaded", "--format", "yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, errs := clitest.Run(t, env, tc.args...); code != 2 {
				t.Errorf("%v: exit %d, want 2 (%s)", tc.args, code, errs)
			}
		})
	}
}
