package listen_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/session"
	"github.com/omega-listen/omega-listen/cli/listen"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

func TestForwardToTheReceiverIsRefused(t *testing.T) {
	port := clitest.FreePort(t)
	for _, tc := range []struct {
		name string
		fwd  string
	}{
		{"port", port},
		{"localhost, port and path", "localhost:" + port + "/webhook"},
		{"URL", "http://127.0.0.1:" + port + "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, env := clitest.EmuEnv(t, emulator.Options{})
			code, _, errs := clitest.Run(t, env, "--tunnel", "none", "--listen", "127.0.0.1:"+port, "--forward", tc.fwd)
			if code != cmdutil.ExitUsage || !strings.Contains(errs, "own receiver") || !strings.Contains(errs, "would loop") {
				t.Errorf("--forward %s: exit %d %s", tc.fwd, code, errs)
			}
		})
	}
	_, env := clitest.EmuEnv(t, emulator.Options{})
	code, _, errs := clitest.Run(t, env, "--tunnel", "none", "--public-url", "https://hooks.example.com", "--forward", "https://hooks.example.com/omega")
	if code != cmdutil.ExitUsage || !strings.Contains(errs, "public URL") {
		t.Errorf("--forward at the public URL: exit %d %s", code, errs)
	}
	unit := []struct {
		name, target, recv, public string
		loop                       bool
	}{
		{"localhost at the receiver", "http://localhost:9/", "127.0.0.1:9", "http://127.0.0.1:9", true},
		{"IPv6 loopback at an all-interfaces receiver", "http://[::1]:9/", "0.0.0.0:9", "http://127.0.0.1:9", true},
		{"another port", "http://localhost:10/", "127.0.0.1:9", "http://127.0.0.1:9", false},
		{"another host", "http://app.test:9/", "127.0.0.1:9", "http://127.0.0.1:9", false},
		{"the public URL", "https://x.ngrok.app/", "127.0.0.1:9", "https://x.ngrok.app", true},
		{"http at an https public URL", "http://x.ngrok.app/", "127.0.0.1:9", "https://x.ngrok.app", false},
	}
	for _, u := range unit {
		t.Run(u.name, func(t *testing.T) {
			tu, _ := url.Parse(u.target)
			ra, _ := net.ResolveTCPAddr("tcp", u.recv)
			if err := listen.PointsAtReceiver(tu, ra, u.public); (err != nil) != u.loop {
				t.Errorf("pointsAtReceiver(%s, %s, %s) = %v, want loop %v", u.target, u.recv, u.public, err, u.loop)
			}
		})
	}
}

// TestLoopAtRunTimeIs508: an app that sends deliveries back to the
// receiver (a proxy, a misconfigured route) makes one loop turn, answered
// 508 and recorded, not ten thousand.
func TestLoopAtRunTimeIs508(t *testing.T) {
	emu, env := clitest.EmuEnv(t, emulator.Options{})
	dir := env["OMEGA_LISTEN_HOME"]
	var back string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest("POST", back, bytes.NewReader(b))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(599)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	defer app.Close()
	p := clitest.StartInProc(t, env, "--tunnel", "none", "--forward", app.URL, "--print", "-e", "video.process_succeeded")
	defer p.Stop(t)
	si, err := session.Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	back = si.ReceiverURL
	if _, err := emu.Deliver(context.Background(), "video.process_succeeded"); err != nil {
		t.Fatal(err)
	}
	st, err := capture.Open(dir, capture.Options{Retain: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var caps []capture.Summary
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		caps, _ = st.List(context.Background(), capture.Query{})
		if len(caps) >= 2 && caps[0].State == capture.StateDone {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // nothing more comes
	caps, _ = st.List(context.Background(), capture.Query{})
	if len(caps) != 2 {
		t.Fatalf("%d captures, want the delivery and the one looped request: %+v", len(caps), caps)
	}
	var loop, orig capture.Summary
	for _, c := range caps {
		if c.Flags.Has(capture.FlagRejected) {
			loop = c
		} else {
			orig = c
		}
	}
	if loop.SentStatus != http.StatusLoopDetected || !strings.Contains(loop.RejectReason, "forwarding loop") {
		t.Errorf("looped request: %+v", loop)
	}
	if orig.Status != http.StatusLoopDetected {
		t.Errorf("the delivery got %d from the app, want the 508 it passed back", orig.Status)
	}
}
