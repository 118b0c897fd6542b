package inspector

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/inspector/internal/h1"
)

// TestNoSocketsLeftAfterBurst: after 2 000 deliveries from 32 senders at
// once against an app that closes idle connections, the Forwarder holds no
// socket the app has closed (no pile-up in CLOSE-WAIT).
func TestNoSocketsLeftAfterBurst(t *testing.T) {
	_, target := newScriptApp(t, 200*time.Millisecond, func(c *appConn, _ int, h appHead) bool {
		c.readBody(h)
		// It says a minute, and closes them after 200 ms: only noticing
		// the close releases them in time.
		io.WriteString(c, "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=60\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	fwd := NewForwarder(ForwarderOptions{Target: target})
	defer fwd.Close()
	before := openFDs(t)
	const senders, total = 32, 2000
	var next atomic.Int32
	var wg sync.WaitGroup
	var failed, crossed atomic.Int32
	var firstErr atomic.Value
	for range senders {
		wg.Go(func() {
			for next.Add(1) <= total {
				res := fwd.Forward(context.Background(), Request{Body: []byte("{}")})
				var noAnswer *h1.NoAnswerError
				switch {
				case res.Err == nil:
				case errors.As(res.Err, &noAnswer):
					// The app closed a connection idle for 200 ms just
					// as a request went out on it (a sender starved that
					// long on a loaded machine). Reuse probes first, so
					// only a close that crosses the write gets here; such
					// a request may have reached the app and is never
					// resent: a failure, by design.
					crossed.Add(1)
				default:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, res.Err.Error())
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d deliveries failed (first: %v)", n, total, firstErr.Load())
	}
	if n := crossed.Load(); n > 0 {
		t.Logf("%d of %d deliveries crossed the app's close", n, total)
	}
	// The app closes them after 200 ms; the Forwarder's sweep releases
	// them within its next round. Generous: the machine may be loaded.
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The app's own ends close too, so both sides are counted.
		if n := openFDs(t); n <= before {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("%d descriptors open 10 s after the burst, %d before it", n, before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
