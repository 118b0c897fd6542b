// Package wire is the relay's frame codec and its websocket connection
// pump, shared by the relay server (package relay) and its client (the
// relay provider in package tunnel).
//
// Every frame is one binary websocket message: a type byte, then the
// frame's fields in a fixed order. Integers are unsigned varints, strings
// and byte strings are a varint length and the bytes. Headers are an
// ordered list of name/value pairs, so a repeated header stays repeated.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Frame types.
const (
	TypeDeliver  byte = 1 // relay → client: one request to deliver
	TypeResponse byte = 2 // client → relay: the listener's answer to a Deliver
	TypeHello    byte = 3 // relay → client, first frame: who the client is
)

// Header is one header line. A header sent twice is two Headers.
type Header struct {
	Name, Value string
}

// Deliver is one request the relay received for a client's name.
type Deliver struct {
	// ID names the delivery on this connection (live) or in the name's
	// queue (Queued): the Response carries it back.
	ID uint64
	// Queued: the delivery comes from the durable queue; ID is its place
	// in the queue, and queued deliveries arrive in ID order.
	Queued bool
	// AcceptedAt is when the relay accepted the request.
	AcceptedAt time.Time
	Method     string
	Target     string // the request URI after /c/<name>: path and query
	Host       string
	RemoteAddr string // the sender, as the relay saw it
	Header     []Header
	Body       []byte
}

// Response is the listener's answer to a Deliver.
type Response struct {
	ID     uint64
	Queued bool
	// Taken: the listener received the delivery and answered it, so it is
	// recorded. False: it never reached the listener (shutting down, the
	// answer was lost); a queued delivery stays queued.
	Taken  bool
	Status int
	Header []Header
	Body   []byte
}

// Hello is the relay's first frame on a new connection.
type Hello struct {
	Name      string
	PublicURL string // the base URL deliveries for Name are sent to: <public-url>/c/<name>
	// Epoch names this incarnation of the name's queue: queue IDs are only
	// comparable within one epoch.
	Epoch string
	// Queued is how many deliveries wait in the queue.
	Queued uint64
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed relay frame")

// EncodeDeliver appends d's frame to b.
func EncodeDeliver(b []byte, d *Deliver) []byte {
	b = append(b, TypeDeliver)
	b = binary.AppendUvarint(b, d.ID)
	b = appendBool(b, d.Queued)
	b = binary.AppendVarint(b, unixNano(d.AcceptedAt))
	b = appendString(b, d.Method)
	b = appendString(b, d.Target)
	b = appendString(b, d.Host)
	b = appendString(b, d.RemoteAddr)
	b = appendHeaders(b, d.Header)
	return appendBytes(b, d.Body)
}

// EncodeResponse appends r's frame to b.
func EncodeResponse(b []byte, r *Response) []byte {
	b = append(b, TypeResponse)
	b = binary.AppendUvarint(b, r.ID)
	b = appendBool(b, r.Queued)
	b = appendBool(b, r.Taken)
	b = binary.AppendUvarint(b, uint64(r.Status))
	b = appendHeaders(b, r.Header)
	return appendBytes(b, r.Body)
}

// EncodeHello appends h's frame to b.
func EncodeHello(b []byte, h *Hello) []byte {
	b = append(b, TypeHello)
	b = appendString(b, h.Name)
	b = appendString(b, h.PublicURL)
	b = appendString(b, h.Epoch)
	return binary.AppendUvarint(b, h.Queued)
}

// Decode decodes one frame: a *Deliver, *Response or *Hello. Strings are
// copied; Body aliases b.
func Decode(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	d := decoder{b: b[1:]}
	var v any
	switch b[0] {
	case TypeDeliver:
		f := &Deliver{}
		f.ID = d.uvarint()
		f.Queued = d.bool()
		if ns := d.varint(); ns != 0 {
			f.AcceptedAt = time.Unix(0, ns)
		}
		f.Method = d.string()
		f.Target = d.string()
		f.Host = d.string()
		f.RemoteAddr = d.string()
		f.Header = d.headers()
		f.Body = d.bytes()
		v = f
	case TypeResponse:
		f := &Response{}
		f.ID = d.uvarint()
		f.Queued = d.bool()
		f.Taken = d.bool()
		st := d.uvarint()
		if st > 999 {
			d.fail("status %d", st)
		}
		f.Status = int(st)
		f.Header = d.headers()
		f.Body = d.bytes()
		v = f
	case TypeHello:
		f := &Hello{}
		f.Name = d.string()
		f.PublicURL = d.string()
		f.Epoch = d.string()
		f.Queued = d.uvarint()
		v = f
	default:
		return nil, fmt.Errorf("%w: unknown type %d", ErrMalformed, b[0])
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the frame", ErrMalformed, len(d.b))
	}
	return v, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendHeaders(b []byte, hs []Header) []byte {
	b = binary.AppendUvarint(b, uint64(len(hs)))
	for _, h := range hs {
		b = appendString(b, h.Name)
		b = appendString(b, h.Value)
	}
	return b
}

// decoder reads fields until the first error, which sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail("bad flag")
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length %d past the end", n)
		return nil
	}
	if n == 0 {
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) headers() []Header {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	// Each header takes at least two bytes: a count past that is a lie
	// that must not size an allocation.
	if n > uint64(len(d.b))/2 {
		d.fail("%d headers in %d bytes", n, len(d.b))
		return nil
	}
	if n == 0 {
		return nil
	}
	hs := make([]Header, 0, n)
	for range n {
		name, value := d.string(), d.string()
		if d.err != nil {
			return nil
		}
		hs = append(hs, Header{name, value})
	}
	return hs
}
