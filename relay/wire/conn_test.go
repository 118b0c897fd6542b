package wire

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// pair returns a Conn on the server side of a websocket and the raw
// client side.
func pair(t *testing.T, o ConnOptions) (*Conn, *websocket.Conn) {
	t.Helper()
	got := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		got <- NewConn(ws, o)
	}))
	t.Cleanup(srv.Close)
	cl, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return <-got, cl
}

// A peer that stops answering pings is dropped after PongWait.
func TestConnDropsASilentPeer(t *testing.T) {
	c, _ := pair(t, ConnOptions{PingPeriod: 20 * time.Millisecond, PongWait: 100 * time.Millisecond, OnFrame: func([]byte) error { return nil }})
	// The client never reads, so it never answers a ping.
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a silent peer kept the connection")
	}
	if err := c.Send(context.Background(), []byte{1}); !errors.Is(err, ErrConnClosed) {
		t.Errorf("Send after the end: %v", err)
	}
}

// A peer that answers pings keeps the connection past PongWait.
func TestConnKeepsALivePeer(t *testing.T) {
	// The peer is dropped one PongWait after its last pong, so the test
	// watches five of them; a PongWait well above a loaded machine's
	// scheduling hiccups (a 100 ms one flaked under -race).
	c, cl := pair(t, ConnOptions{PingPeriod: 50 * time.Millisecond, PongWait: 400 * time.Millisecond, OnFrame: func([]byte) error { return nil }})
	go func() {
		for {
			if _, _, err := cl.ReadMessage(); err != nil { // answers pings
				return
			}
		}
	}()
	select {
	case <-c.Done():
		t.Fatalf("dropped a live peer: %v", c.Err())
	case <-time.After(2 * time.Second):
	}
}

// Close sends a close frame with the reason; frames arrive in order; a
// text message or an oversized one ends the connection.
func TestConnCloseAndLimits(t *testing.T) {
	frames := make(chan []byte, 10)
	c, cl := pair(t, ConnOptions{ReadLimit: 64, OnFrame: func(b []byte) error { frames <- b; return nil }})
	for _, m := range []string{"a", "b"} {
		if err := cl.WriteMessage(websocket.BinaryMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := <-frames, <-frames; string(a) != "a" || string(b) != "b" {
		t.Errorf("frames %q %q", a, b)
	}
	if err := c.Send(context.Background(), []byte("to client")); err != nil {
		t.Fatal(err)
	}
	if _, m, err := cl.ReadMessage(); err != nil || string(m) != "to client" {
		t.Fatalf("client read %q %v", m, err)
	}
	go func() {
		for {
			if _, _, err := cl.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) && ce.Code == CodeReplaced && ce.Text == "replaced" {
					frames <- []byte("closed ok")
				} else {
					frames <- []byte(err.Error())
				}
				return
			}
		}
	}()
	c.Close(CodeReplaced, "replaced")
	if m := <-frames; string(m) != "closed ok" {
		t.Errorf("the client saw %q", m)
	}

	c2, cl2 := pair(t, ConnOptions{ReadLimit: 64, OnFrame: func([]byte) error { return nil }})
	cl2.WriteMessage(websocket.BinaryMessage, make([]byte, 65))
	select {
	case <-c2.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("an oversized message did not end the connection")
	}
	c3, cl3 := pair(t, ConnOptions{OnFrame: func([]byte) error { return nil }})
	cl3.WriteMessage(websocket.TextMessage, []byte("hi"))
	select {
	case <-c3.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a text message did not end the connection")
	}
}
