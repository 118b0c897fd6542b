package tunnel

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests run the real SDK and never reach ngrok: its server is
// unreachable on this machine, or replaced by a loopback address.

const ngBogusToken = "bogus_offline_token_0123456789"

// ngListenReal runs the real provider with the hang guard; connectAddr
// replaces ngrok's server when set.
func ngListenReal(t *testing.T, o NgrokOptions, connectAddr string) (Tunnel, error) {
	t.Helper()
	type result struct {
		tun Tunnel
		err error
	}
	done := make(chan result, 1)
	go func() {
		tun, err := listenNgrok(context.Background(), o, func(c agentConfig) (ngrokAgent, error) {
			c.connectAddr = connectAddr
			return newSDKAgent(c)
		})
		done <- result{tun, err}
	}()
	select {
	case r := <-done:
		if r.tun != nil {
			r.tun.Close()
			t.Fatal("startup succeeded: ngrok was reachable")
		}
		return r.tun, r.err
	case <-time.After(ngHangGuard):
		t.Fatal("startup hung")
	}
	return nil, nil
}

// The check: with no network, startup with a bogus token fails at
// the first attempt with a clear message instead of retrying forever.
func TestNgrokRealSDKOffline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := net.DefaultResolver.LookupHost(ctx, "connect.ngrok-agent.com")
	if err == nil {
		t.Skip("connect.ngrok-agent.com resolves: this machine has a network, and the bogus token is not sent to ngrok")
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		// Not "offline" but "DNS hangs": the SDK would wait out its own
		// resolver timeouts, which is not the fast failure tested here.
		t.Skipf("resolving connect.ngrok-agent.com hangs rather than fails here (%v)", err)
	}
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&ngLockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))

	_, err = ngListenReal(t, NgrokOptions{AuthToken: ngBogusToken, Logger: logger}, "")
	var ne *NgrokError
	if !errors.As(err, &ne) || ne.Code != "" || errors.Is(err, ErrNgrokStartTimeout) {
		t.Fatalf("err = %#v, want an unreachable *NgrokError", err)
	}
	msg := err.Error()
	t.Logf("startup failed with:\n%s", msg)
	for _, want := range []string{
		`could not reach ngrok: failed to dial ngrok server with address "connect.ngrok-agent.com:443": `,
		"\n  Hint: " + hintUnreachable,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(msg, ngBogusToken) || strings.Contains(logs.String(), ngBogusToken) {
		t.Errorf("the token shows:\n%s\n%s", msg, logs.String())
	}
}

func TestNgrokRealSDKConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	_, err = ngListenReal(t, NgrokOptions{AuthToken: ngBogusToken}, addr)
	want := `could not reach ngrok: failed to dial ngrok server with address "` + addr + `": dial tcp ` + addr + `: connect: connection refused` +
		"\n  Hint: " + hintUnreachable
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// A server that accepts and never answers: the SDK would wait forever.
func TestNgrokRealSDKSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})

	_, err = ngListenReal(t, NgrokOptions{AuthToken: ngBogusToken, StartTimeout: 300 * time.Millisecond}, ln.Addr().String())
	want := "ngrok did not answer within 300ms (last seen: connecting to ngrok)\n  Hint: " + hintUnreachable
	if err == nil || err.Error() != want || !errors.Is(err, ErrNgrokStartTimeout) {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// The SDK logs some warnings to slog.Default when it has no logger; ours
// must get everything, so nothing reaches the terminal.
func TestNgrokRealSDKLogsStayInOurLogger(t *testing.T) {
	var stray bytes.Buffer
	var mu sync.Mutex
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&ngLockedWriter{w: &stray, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, _ = ngListenReal(t, NgrokOptions{AuthToken: ngBogusToken, Logger: slog.New(slog.DiscardHandler)}, addr)
	mu.Lock()
	defer mu.Unlock()
	if stray.Len() > 0 {
		t.Errorf("logged outside our logger:\n%s", stray.String())
	}
}
