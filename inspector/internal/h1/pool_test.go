package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestConnPoolBoundsAndSweep(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	const max = 16
	p := newConnPool(max, time.Minute)
	defer p.closeIdle()
	addr := ln.Addr().String()
	var all []*pconn
	for range max + 4 {
		pc, err := dial(context.Background(), addr, time.Second, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, pc)
	}
	for _, pc := range all {
		p.put(pc, time.Minute)
	}
	if p.count != max || len(p.idle[addr]) != max {
		t.Fatalf("%d idle (%d listed), want the bound %d", p.count, len(p.idle[addr]), max)
	}
	// The oldest made way, and are closed.
	if err := all[0].conn.SetDeadline(time.Time{}); err == nil {
		t.Error("the oldest connection is still open")
	}
	if got := p.get(addr); got != all[len(all)-1] {
		t.Error("get did not return the newest connection")
	} else {
		p.put(got, time.Minute)
	}

	// Age half of them past their idle time; the sweep closes those only.
	p.mu.Lock()
	list := p.idle[addr]
	for _, pc := range list[:max/2] {
		pc.idleAt = pc.idleAt.Add(-time.Minute)
	}
	p.mu.Unlock()
	p.sweep()
	if p.count != max/2 || p.timer == nil {
		t.Errorf("%d idle after the sweep (timer %v), want %d", p.count, p.timer != nil, max/2)
	}
	// An expired connection is not handed out even before a sweep.
	p.mu.Lock()
	for _, pc := range p.idle[addr] {
		pc.idleAt = pc.idleAt.Add(-time.Minute)
	}
	p.mu.Unlock()
	if got := p.get(addr); got != nil {
		t.Error("get returned an expired connection")
	}
	if p.count != 0 {
		t.Errorf("%d idle left", p.count)
	}
	p.closeIdle()
	if p.timer != nil {
		t.Error("timer left after closeIdle")
	}
}

func TestIdleFor(t *testing.T) {
	const cap = 2 * time.Second
	tests := []struct {
		name      string
		keepAlive []string
		want      time.Duration
	}{
		{"no Keep-Alive", nil, cap},
		{"timeout", []string{"timeout=5"}, 4 * time.Second},
		{"timeout and max", []string{"timeout=5, max=1000"}, 4 * time.Second},
		{"max and a quoted timeout", []string{"max=100, timeout = \"10\""}, 9 * time.Second},
		{"one second", []string{"timeout=1"}, 500 * time.Millisecond},
		{"zero", []string{"timeout=0"}, 0},
		{"beyond the longest", []string{"timeout=600"}, maxIdleTime - time.Second},
		{"timeout not a number", []string{"timeout=soon"}, cap},
		{"max only", []string{"max=3"}, cap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{Header: http.Header{}}
			if tt.keepAlive != nil {
				resp.Header["Keep-Alive"] = tt.keepAlive
			}
			if got := idleFor(resp, cap); got != tt.want {
				t.Errorf("Keep-Alive %q: idle for %s, want %s", tt.keepAlive, got, tt.want)
			}
		})
	}
}

// TestNothingWrittenIsResent takes the path where the liveness check could
// not tell (no raw socket) and the write itself fails: not a byte went
// out, so the request goes again on a new connection, once.
func TestNothingWrittenIsResent(t *testing.T) {
	var requests atomic.Int32
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	go func() {
		for {
			c, err := app.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if req, err := http.ReadRequest(br); err == nil {
					io.Copy(io.Discard, req.Body)
					requests.Add(1)
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	tr := New(Options{})
	defer tr.CloseIdleConnections()

	// A pooled connection whose peer reset it while idle.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dead, err := dial(context.Background(), ln.Addr().String(), time.Second, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	peer.(*net.TCPConn).SetLinger(0)
	peer.Close()
	// Reading the reset makes the next write fail at once.
	dead.conn.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := dead.conn.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
		t.Fatalf("peer not gone: %v", err)
	}
	dead.raw = nil
	dead.addr = app.Addr().String()
	tr.pool.put(dead, time.Minute)

	u, _ := url.Parse("http://" + app.Addr().String() + "/hook")
	req := &http.Request{Method: "POST", URL: u, Header: http.Header{}, Body: NewBody([]byte("x")), ContentLength: 1}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "ok" {
		t.Fatalf("body %q, %v", b, err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("app got %d requests, want 1", n)
	}
}

// FuzzIdleFor: whatever Keep-Alive an app sends, the idle time is the cap
// or within [0, maxIdleTime).
func FuzzIdleFor(f *testing.F) {
	for _, s := range []string{"timeout=5", "timeout=5, max=1000", `max=1, timeout="2"`, "timeout=-1", "timeout=99999999999999999999", "timeout", "=,=,", ""} {
		f.Add(s)
	}
	const cap = 1500 * time.Millisecond
	f.Fuzz(func(t *testing.T, v string) {
		got := idleFor(&http.Response{Header: http.Header{"Keep-Alive": {v}}}, cap)
		if got != cap && (got < 0 || got >= maxIdleTime) {
			t.Errorf("Keep-Alive %q: idle for %s", v, got)
		}
	})
}
