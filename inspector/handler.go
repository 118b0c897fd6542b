// Package inspector receives Omega's deliveries and forwards them to the
// local app: the Handler checks, records and answers; the Forwarder sends
// a request to the app byte for byte and reads its answer.
package inspector

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/text"
)

// DefaultMaxBody is the largest delivery body accepted when
// HandlerOptions.MaxBody is zero.
const DefaultMaxBody = 10 << 20

// Recorder stores captures durably. Begin and Finish bracket a forwarded
// delivery; Record stores a rejected request in one step. The Handler
// calls them with a context that the sender hanging up does not cancel.
// The Recorder (capture.Store) also tells the rest of the program: the
// Handler publishes nothing itself.
type Recorder interface {
	Begin(ctx context.Context, c *capture.Capture) error
	Finish(ctx context.Context, c *capture.Capture) error
	Record(ctx context.Context, c *capture.Capture) error
}

// HandlerOptions configure a Handler. Token, Forwarder and Recorder are
// required.
type HandlerOptions struct {
	Token     string
	MaxBody   int64 // default DefaultMaxBody
	Forwarder *Forwarder
	Recorder  Recorder
	SessionID string
	// OnStoreError is called when the Recorder fails. The delivery is
	// still forwarded and answered. It must not block.
	OnStoreError func(error)
	Logger       *slog.Logger     // default: discard
	Now          func() time.Time // default time.Now
	NewID        func() string    // default capture.NewID
}

// Stats are the Handler's counters since it was made.
type Stats struct {
	Received    int64 // every request, rejected ones included
	OK          int64 // the app answered 2xx
	AppError    int64 // the app answered something else
	Failed      int64 // the app could not be reached or timed out (502/504)
	Rejected    int64 // wrong path, method or size: not forwarded
	StoreErrors int64 // Recorder calls that failed
}

// Handler is the http.Handler that receives deliveries at
// /omega/<token>, records each, forwards it and answers the sender with
// the app's answer.
type Handler struct {
	o       HandlerOptions
	path    string
	maxBody int64
	limit   string // maxBody for people: "10 MiB"
	log     *slog.Logger

	received, ok, appError, failed, rejected, storeErrors atomic.Int64

	mu       sync.Mutex
	inflight int
	idle     chan struct{} // closed while inflight is 0

	// forwarding holds the IDs of captures being forwarded now: one that
	// comes back in a request's Omega-Listen-Capture header is a loop.
	forwarding sync.Map
}

// NewHandler returns a Handler. It panics if Token is not valid (check it
// with ValidToken first) or Forwarder or Recorder is missing: those are
// mistakes in the program, not in its input.
func NewHandler(o HandlerOptions) *Handler {
	if err := ValidToken(o.Token); err != nil {
		panic("inspector.NewHandler: " + err.Error())
	}
	if o.Forwarder == nil || o.Recorder == nil {
		panic("inspector.NewHandler: Forwarder and Recorder are required")
	}
	h := &Handler{o: o, path: "/omega/" + o.Token, maxBody: o.MaxBody, log: o.Logger}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	h.limit = text.Bytes(h.maxBody)
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.o.Now == nil {
		h.o.Now = time.Now
	}
	if h.o.NewID == nil {
		h.o.NewID = capture.NewID
	}
	h.idle = make(chan struct{})
	close(h.idle)
	return h
}

// RedactedPath stands for the secret path in stored captures.
const RedactedPath = "/omega/{token}"

// Path is the path deliveries must be sent to: "/omega/<token>".
func (h *Handler) Path() string { return h.path }

// Stats returns the counters.
func (h *Handler) Stats() Stats {
	return Stats{
		Received:    h.received.Load(),
		OK:          h.ok.Load(),
		AppError:    h.appError.Load(),
		Failed:      h.failed.Load(),
		Rejected:    h.rejected.Load(),
		StoreErrors: h.storeErrors.Load(),
	}
}

// Wait returns when no request is being handled, or with ctx's error.
// Call it after the server stops accepting, so in-flight deliveries are
// forwarded, recorded and answered before the program exits.
func (h *Handler) Wait(ctx context.Context) error {
	h.mu.Lock()
	idle := h.idle
	h.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for deliveries in flight: %w", ctx.Err())
	}
}

func (h *Handler) enter() {
	h.mu.Lock()
	if h.inflight == 0 {
		h.idle = make(chan struct{})
	}
	h.inflight++
	h.mu.Unlock()
}

func (h *Handler) leave() {
	h.mu.Lock()
	h.inflight--
	if h.inflight == 0 {
		close(h.idle)
	}
	h.mu.Unlock()
}

// ServeHTTP handles one request. See the package's design notes: check,
// Begin, forward, Finish, answer, publish.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.enter()
	defer h.leave()
	h.received.Add(1)
	// Every request must be counted on its connection, so ask first.
	ambiguous := ambiguousFraming(r.Context())
	if len(r.TransferEncoding) > 0 {
		// net/http serves a request with both Content-Length and chunked
		// framing by the chunked one and drops Content-Length, so this
		// cannot tell it from plain chunked. RFC 9112 §6.3 says to close
		// the connection after answering such a request, so that whatever
		// a proxy in front (ngrok) framed differently is not read as a
		// second request. Omega sends Content-Length, so closing after
		// every chunked request costs nothing in practice.
		w.Header().Set("Connection", "close")
	}
	// The sender hanging up must not cancel recording or forwarding: the
	// delivery was received and the app should see it.
	ctx := context.WithoutCancel(r.Context())

	c := &capture.Capture{
		Meta: capture.Meta{
			ID:         h.o.NewID(),
			SessionID:  h.o.SessionID,
			State:      capture.StatePending,
			ReceivedAt: h.o.Now(),
			RemoteAddr: r.RemoteAddr,
			Method:     r.Method,
			Path:       r.URL.RequestURI(),
		},
		Headers: receivedHeaders(r),
	}

	if subtle.ConstantTimeCompare([]byte(r.URL.EscapedPath()), []byte(h.path)) != 1 {
		h.reject(ctx, w, c, http.StatusNotFound, "not found\n", "wrong path")
		return
	}
	// The token is the secret that guards the public URL: captures end up
	// in exports and screens, so they keep a placeholder, not the token.
	c.Path = RedactedPath
	if r.URL.RawQuery != "" {
		c.Path += "?" + r.URL.RawQuery
	}
	if ambiguous {
		// Both Content-Length and Transfer-Encoding (see GuardFraming): a
		// proxy in front that framed it by the other would have seen other
		// requests. RFC 9112 §6.1 lets a server refuse it; it is never a
		// real delivery.
		w.Header().Set("Connection", "close")
		h.reject(ctx, w, c, http.StatusBadRequest, "bad request: both Content-Length and Transfer-Encoding\n", "ambiguous framing: Content-Length and Transfer-Encoding")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(ctx, w, c, http.StatusMethodNotAllowed,
			"method not allowed; deliveries are POSTed\n", "method "+r.Method+" not allowed")
		return
	}
	if id := r.Header.Get(HeaderCapture); id != "" {
		if _, loop := h.forwarding.Load(id); loop {
			// The target leads back here: answering 508 ends the loop
			// after one turn instead of recording forever.
			h.reject(ctx, w, c, http.StatusLoopDetected,
				"loop detected: this request was forwarded by this omega-listen; --forward must point at your app, not at omega-listen\n",
				"forwarding loop: this request came back from this listener (capture "+id+"); --forward points at the receiver")
			return
		}
	}
	body, err := h.readBody(w, r)
	if err != nil {
		var tooBig *bodyTooLargeError
		if errors.As(err, &tooBig) {
			h.reject(ctx, w, c, http.StatusRequestEntityTooLarge,
				"request body too large (limit "+h.limit+")\n", tooBig.Error())
			return
		}
		h.reject(ctx, w, c, http.StatusBadRequest, "could not read the request body\n", "reading the body: "+err.Error())
		return
	}
	c.Body = body
	InspectEnvelope(c)
	fwdHeader := r.Header
	if _, ok := r.Header[capture.HeaderRelayQueuedAt]; ok {
		// The relay held it while we were away: the capture says so, the
		// app sees the delivery as Omega sent it.
		c.Flags |= capture.FlagQueued
		fwdHeader = r.Header.Clone()
		delete(fwdHeader, capture.HeaderRelayQueuedAt)
	}
	fwd := h.o.Forwarder
	c.Target = fwd.targetStr

	if err := h.o.Recorder.Begin(ctx, c); err != nil {
		h.storeError(fmt.Errorf("recording capture %s before forwarding: %w", c.ID, err))
	}

	h.forwarding.Store(c.ID, struct{}{})
	res := fwd.forward(ctx, Request{Method: r.Method, Header: fwdHeader, Body: body, CaptureID: c.ID, RawQuery: r.URL.RawQuery}, true)
	h.forwarding.Delete(c.ID)

	c.State = capture.StateDone
	c.CompletedAt = h.o.Now()
	res.Record(c)
	if err := h.o.Recorder.Finish(ctx, c); err != nil {
		h.storeError(fmt.Errorf("recording the answer of capture %s: %w", c.ID, err))
	}

	if res.Err != nil {
		writeText(w, c.SentStatus, "omega-listen: "+c.Error+"\n")
	} else if err := writeAnswer(w, res, fwd.timeout); err != nil {
		h.log.Warn("passing a long answer on failed", "capture", c.ID, "error", err)
	}
	h.count(c)
	if h.log.Enabled(ctx, slog.LevelDebug) { // spares boxing the attributes on every delivery
		h.log.DebugContext(ctx, "delivery", "capture", c.ID, "event", c.EventID, "type", c.EventType,
			"status", c.Status, "sent", c.SentStatus, "duration", c.Duration, "error", c.Error)
	}
}

// reject answers a request that is not forwarded and records it. The body
// is not kept: it was refused, and on a wrong path it is someone else's.
func (h *Handler) reject(ctx context.Context, w http.ResponseWriter, c *capture.Capture, status int, msg, reason string) {
	c.State = capture.StateDone
	c.CompletedAt = h.o.Now()
	c.Flags |= capture.FlagRejected
	c.RejectReason = reason
	c.SentStatus = status
	if err := h.o.Recorder.Record(ctx, c); err != nil {
		h.storeError(fmt.Errorf("recording rejected request %s: %w", c.ID, err))
	}
	writeText(w, status, msg)
	h.count(c)
	h.log.DebugContext(ctx, "rejected", "capture", c.ID, "method", c.Method, "path", c.Path, "remote", c.RemoteAddr, "reason", reason)
}

func (h *Handler) count(c *capture.Capture) {
	switch c.Outcome() {
	case capture.OutcomeOK:
		h.ok.Add(1)
	case capture.OutcomeAppError:
		h.appError.Add(1)
	case capture.OutcomeFailed:
		h.failed.Add(1)
	case capture.OutcomeRejected:
		h.rejected.Add(1)
	}
}

func (h *Handler) storeError(err error) {
	h.storeErrors.Add(1)
	h.log.Error("capture store failed; the delivery is still forwarded", "error", err)
	if h.o.OnStoreError != nil {
		h.o.OnStoreError(err)
	}
}

// bodyTooLargeError says how much of an oversized body was seen.
type bodyTooLargeError struct {
	declared int64 // Content-Length, or -1
	limit    int64
}

func (e *bodyTooLargeError) Error() string {
	if e.declared >= 0 {
		return fmt.Sprintf("request body of %s (%d bytes) is over the limit of %s",
			text.Bytes(e.declared), e.declared, text.Bytes(e.limit))
	}
	return fmt.Sprintf("request body is over the limit of %s (more than %d bytes sent)", text.Bytes(e.limit), e.limit)
}

// readBody reads the whole body if it is within the limit. A declared
// length over the limit is refused without reading; an undeclared one is
// read through http.MaxBytesReader, which also makes the server close the
// connection rather than drain the rest.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, &bodyTooLargeError{declared: r.ContentLength, limit: h.maxBody}
	}
	if r.ContentLength == 0 {
		return nil, nil
	}
	rd := http.MaxBytesReader(w, r.Body, h.maxBody)
	if r.ContentLength > 0 {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooled {
			bodyPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(rd); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &bodyTooLargeError{declared: -1, limit: h.maxBody}
		}
		return nil, err
	}
	if buf.Len() == 0 {
		return nil, nil
	}
	return bytes.Clone(buf.Bytes()), nil
}

// receivedHeaders is the request's header as it arrived, Host included
// (net/http moves it out of the map). A copy, because a handler must not
// change the request and the capture outlives it.
func receivedHeaders(r *http.Request) http.Header {
	h := r.Header.Clone()
	if h == nil {
		h = make(http.Header, 1)
	}
	if r.Host != "" {
		h["Host"] = []string{r.Host}
	}
	return h
}

// InspectEnvelope flags c's body (not JSON, not an Omega event) and sets
// the envelope's fields from it, replacing what c said before.
func InspectEnvelope(c *capture.Capture) {
	c.Flags &^= capture.FlagNotJSON | capture.FlagNotOmega
	c.EventID, c.EventType, c.EndpointID, c.EventCreated = "", "", "", time.Time{}
	env, err := omega.ParseEnvelopeHead(c.Body)
	switch {
	case errors.Is(err, omega.ErrNotJSON):
		c.Flags |= capture.FlagNotJSON
	case err != nil:
		c.Flags |= capture.FlagNotOmega
	default:
		c.EventID = env.ID
		c.EventType = env.Type
		c.EndpointID = env.EndpointID
		c.EventCreated = env.CreatedTime()
	}
}

// writeAnswer passes the app's answer on verbatim: its status, its
// end-to-end headers and its body, with nothing added. An answer longer
// than what is stored goes on whole: the stored part, then the rest as it
// comes from the app.
// writeAnswer sends the app's answer on. A long one is written piece by
// piece, each piece with step (the forward timeout) to reach the sender:
// the server's own write deadline is for the whole answer and would cut a
// big answer to a slow sender, though every piece moves.
func writeAnswer(w http.ResponseWriter, res Result, step time.Duration) error {
	h := w.Header()
	copyEndToEnd(h, res.Header, "Content-Length")
	// Present but nil stops net/http adding a sniffed type or a date the
	// app did not send.
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = nil
	}
	if res.rest != nil {
		defer res.rest.Close()
	}
	switch {
	case !bodyAllowed(res.Status):
	case res.rest == nil:
		h["Content-Length"] = []string{strconv.Itoa(len(res.Body))}
	case res.length >= 0:
		h["Content-Length"] = []string{strconv.FormatInt(res.length, 10)}
	}
	w.WriteHeader(res.Status)
	if len(res.Body) == 0 || !bodyAllowed(res.Status) {
		return nil
	}
	if res.rest == nil {
		_, _ = w.Write(res.Body) // the sender hanging up is not ours to report
		return nil
	}
	rc := http.NewResponseController(w)
	more := func() {
		if step > 0 {
			// Not every ResponseWriter can (a recorder in tests): then the
			// server's deadline stands.
			_ = rc.SetWriteDeadline(time.Now().Add(step))
		}
	}
	for b := res.Body; len(b) > 0; {
		n := min(len(b), answerPiece)
		more()
		if _, err := w.Write(b[:n]); err != nil {
			return nil
		}
		b = b[n:]
	}
	buf := make([]byte, answerPiece)
	for {
		n, rerr := res.rest.Read(buf)
		if n > 0 {
			more()
			if _, err := w.Write(buf[:n]); err != nil {
				return nil
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			// The sender has a cut answer, as the app gave it.
			return rerr
		}
	}
}

// answerPiece is how much of a long answer goes out under one write
// deadline.
const answerPiece = 256 << 10

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

func writeText(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}
