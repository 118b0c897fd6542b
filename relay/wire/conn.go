package wire

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Close codes the relay sends besides the standard ones.
const (
	// CodeReplaced: another client connected with the same name; the old
	// one must not reconnect (it would take the name back and forth).
	CodeReplaced = 4001
	// CodeRejected: the token is no longer valid.
	CodeRejected = 4003
)

// Header names on the websocket upgrade.
const (
	// AuthHeader carries "Bearer <token>"; tokens never go in URLs.
	AuthHeader = "Authorization"
	// ResumeHeader carries "<epoch> <id>": the client has recorded every
	// queued delivery of that queue epoch up to id, so the relay can drop
	// them even if their answers were lost with the last connection.
	ResumeHeader = "Omega-Relay-Resume"
	// ConnectPath is where clients open their websocket.
	ConnectPath = "/connect"
)

// ConnOptions tune a Conn. Zero values take the defaults.
type ConnOptions struct {
	ReadLimit  int64         // largest message accepted; default 16 MiB
	PingPeriod time.Duration // default 20s
	PongWait   time.Duration // a peer silent this long is dead; default 3×PingPeriod
	WriteWait  time.Duration // deadline of every write; default 10s
	SendBuffer int           // frames queued for the writer; default 64
	// OnFrame is called by the reader goroutine for every message, in
	// order. It must not block for long: pings are answered meanwhile but
	// nothing else is read. An error closes the connection.
	OnFrame func([]byte) error
}

// Conn runs one websocket connection the way gorilla/websocket's chat
// example does: one reader and one writer goroutine, a read limit, pings
// on a ticker with a pong handler extending the read deadline, a write
// deadline on every write, and a close frame before Close.
type Conn struct {
	ws         *websocket.Conn
	o          ConnOptions
	send       chan []byte
	closeReq   chan closeMsg
	done       chan struct{} // closed when the reader stopped: nothing more can arrive
	writerDone chan struct{}

	mu  sync.Mutex
	err error
}

type closeMsg struct {
	code   int
	reason string
}

// ErrConnClosed is returned by Send on a connection that ended.
var ErrConnClosed = errors.New("relay connection closed")

// NewConn starts ws's reader and writer goroutines.
func NewConn(ws *websocket.Conn, o ConnOptions) *Conn {
	if o.ReadLimit <= 0 {
		o.ReadLimit = 16 << 20
	}
	if o.PingPeriod <= 0 {
		o.PingPeriod = 20 * time.Second
	}
	if o.PongWait <= 0 {
		o.PongWait = 3 * o.PingPeriod
	}
	if o.WriteWait <= 0 {
		o.WriteWait = 10 * time.Second
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = 64
	}
	c := &Conn{ws: ws, o: o, send: make(chan []byte, o.SendBuffer), closeReq: make(chan closeMsg, 1),
		done: make(chan struct{}), writerDone: make(chan struct{})}
	go c.reader()
	go c.writer()
	return c
}

// Send queues msg for the writer, waiting while the queue is full.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	select {
	case <-c.done:
		return c.closedErr()
	default:
	}
	select {
	case c.send <- msg:
		return nil
	case <-c.done:
		return c.closedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close ends the connection with a close frame saying why, waiting a
// moment for the peer's answering close frame.
func (c *Conn) Close(code int, reason string) {
	select {
	case c.closeReq <- closeMsg{code, reason}:
	default:
	}
	<-c.writerDone
}

// Abort drops the connection at once, without a close handshake: for a
// connection believed dead.
func (c *Conn) Abort() {
	c.setErr(errors.New("connection dropped"))
	_ = c.ws.Close()
	<-c.writerDone
}

// Done is closed when the connection ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err says why the connection ended (a *websocket.CloseError when the
// peer closed it); nil while it runs.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Conn) closedErr() error {
	if err := c.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrConnClosed, err)
	}
	return ErrConnClosed
}

func (c *Conn) setErr(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *Conn) reader() {
	defer close(c.done)
	ws := c.ws
	ws.SetReadLimit(c.o.ReadLimit)
	extend := func() { _ = ws.SetReadDeadline(time.Now().Add(c.o.PongWait)) }
	extend()
	ws.SetPongHandler(func(string) error { extend(); return nil })
	for {
		mt, msg, err := ws.ReadMessage()
		if err != nil {
			c.setErr(err)
			return
		}
		extend()
		if mt != websocket.BinaryMessage {
			c.setErr(fmt.Errorf("%w: a text message", ErrMalformed))
			c.requestClose(websocket.CloseUnsupportedData, "binary frames only")
			return
		}
		if err := c.o.OnFrame(msg); err != nil {
			c.setErr(err)
			c.requestClose(websocket.ClosePolicyViolation, truncate(err.Error(), 120))
			return
		}
	}
}

func (c *Conn) requestClose(code int, reason string) {
	select {
	case c.closeReq <- closeMsg{code, reason}:
	default:
	}
}

func (c *Conn) writer() {
	defer close(c.writerDone)
	ticker := time.NewTicker(c.o.PingPeriod)
	defer ticker.Stop()
	ws := c.ws
	for {
		select {
		case msg := <-c.send:
			_ = ws.SetWriteDeadline(time.Now().Add(c.o.WriteWait))
			if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
				c.setErr(err)
				_ = ws.Close()
				<-c.done
				return
			}
		case <-ticker.C:
			_ = ws.SetWriteDeadline(time.Now().Add(c.o.WriteWait))
			if err := ws.WriteMessage(websocket.PingMessage, nil); err != nil {
				c.setErr(err)
				_ = ws.Close()
				<-c.done
				return
			}
		case cm := <-c.closeReq:
			c.setErr(&websocket.CloseError{Code: cm.code, Text: cm.reason})
			_ = ws.SetWriteDeadline(time.Now().Add(c.o.WriteWait))
			_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(cm.code, cm.reason))
			// The peer answers with its own close frame, which ends the
			// reader; do not wait for a peer that does not.
			select {
			case <-c.done:
			case <-time.After(time.Second):
			}
			_ = ws.Close()
			<-c.done
			return
		case <-c.done:
			_ = ws.Close()
			return
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
