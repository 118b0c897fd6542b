package inspector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/omega-listen/omega-listen/capture"
)

// DefaultTimeout bounds one forward when ForwarderOptions.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// MaxResponseBody is how much of an app's answer is kept; the rest is
// dropped and Result.Truncated set.
const MaxResponseBody = 10 << 20

// dialTimeout is short because the app is local: if it does not accept a
// connection within this, it is not going to.
const dialTimeout = 5 * time.Second

// ErrKind classifies why a forward got no (complete) answer.
type ErrKind int

const (
	// ErrNone: the app answered.
	ErrNone ErrKind = iota
	// ErrRefused: the app could not be reached (nothing listening,
	// connection refused, unknown host): the app is down.
	ErrRefused
	// ErrTimeout: the app did not answer within the timeout.
	ErrTimeout
	// ErrOther: anything else, e.g. the connection was reset or closed
	// before a whole answer.
	ErrOther
)

// String names the kind for logs and JSON.
func (k ErrKind) String() string {
	switch k {
	case ErrNone:
		return "none"
	case ErrRefused:
		return "refused"
	case ErrTimeout:
		return "timeout"
	default:
		return "other"
	}
}

// ForwardError is Result.Err: why a forward failed, phrased for the user.
type ForwardError struct {
	Kind    ErrKind
	URL     string        // where the request was going
	Timeout time.Duration // the limit that passed, for ErrTimeout
	Err     error         // the underlying error
}

func (e *ForwardError) Error() string {
	switch e.Kind {
	case ErrTimeout:
		return fmt.Sprintf("%s did not answer within %s", e.URL, e.Timeout)
	case ErrRefused:
		return fmt.Sprintf("could not reach %s: %s", e.URL, shortReason(e.Err))
	default:
		return fmt.Sprintf("forwarding to %s failed: %s", e.URL, shortReason(e.Err))
	}
}

func (e *ForwardError) Unwrap() error { return e.Err }

// ForwarderOptions configure a Forwarder.
type ForwarderOptions struct {
	// Target is where requests go unless Request.Target overrides it.
	Target *url.URL
	// Timeout bounds a whole forward, answer body included. Default 30s.
	Timeout time.Duration
	// Headers are set on every request after the original headers are
	// copied, replacing any of the same name (-H).
	Headers http.Header
	// Transport replaces the Forwarder's own. It should not add headers
	// of its own (an *http.Transport needs DisableCompression).
	Transport http.RoundTripper
}

// Forwarder sends captured requests to the local app byte for byte and
// reads its answer. It is safe for concurrent use.
type Forwarder struct {
	target    *url.URL
	targetStr string
	timeout   time.Duration
	extra     http.Header
	rt        http.RoundTripper
	own       *http.Transport // the transport to close, if it is ours

	// The direct client, used for plain http:// targets when no Transport
	// was given; see conn.go. raw is the default target's form for it.
	pool  *connPool
	raw   rawTarget
	rawOK bool
}

// NewForwarder returns a Forwarder. Without a Transport it uses its own
// clients, tuned for one local app: many idle connections kept, HTTP/1.1,
// no proxy from the environment (a corporate proxy cannot reach
// localhost), no transparent compression. Plain http:// targets then go
// through a minimal HTTP/1.1 client that sends the same bytes as
// http.Transport; https ones through an http.Transport.
func NewForwarder(o ForwarderOptions) *Forwarder {
	f := &Forwarder{target: o.Target, timeout: o.Timeout, rt: o.Transport}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.target != nil {
		f.targetStr = f.target.Redacted()
	}
	if len(o.Headers) > 0 {
		f.extra = make(http.Header, len(o.Headers))
		for k, v := range o.Headers {
			ck := textproto.CanonicalMIMEHeaderKey(k)
			f.extra[ck] = append(f.extra[ck], v...)
		}
	}
	if f.rt == nil {
		f.own = newTransport()
		f.rt = f.own
		f.pool = newConnPool()
		f.raw, f.rawOK = newRawTarget(f.target)
	}
	return f
}

func newTransport() *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     false,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		// Big enough for the headers and a typical event body to leave in
		// one write, instead of the default 4 KiB buffer splitting them.
		WriteBufferSize: 32 << 10,
		ReadBufferSize:  32 << 10,
	}
}

// Target is the default target, or nil.
func (f *Forwarder) Target() *url.URL { return f.target }

// Timeout is the limit on one forward.
func (f *Forwarder) Timeout() time.Duration { return f.timeout }

// Close releases the idle connections of the Forwarder's own clients.
// Like http.Transport.CloseIdleConnections, it does not stop later
// forwards.
func (f *Forwarder) Close() {
	if f.own != nil {
		f.own.CloseIdleConnections()
	}
	if f.pool != nil {
		f.pool.closeIdle()
	}
}

// Request is what to forward.
type Request struct {
	Method    string // default POST
	Header    http.Header
	Body      []byte
	CaptureID string   // sent as Omega-Listen-Capture
	ReplayOf  string   // if set, sent as Omega-Listen-Replay
	Target    *url.URL // overrides the Forwarder's target if not nil
}

// Result is the app's answer, or why there is none.
type Result struct {
	URL       string // where the request went, password redacted
	Status    int    // 0 if the app never answered
	Header    http.Header
	Body      []byte
	Truncated bool // Body holds the first MaxResponseBody bytes only
	Duration  time.Duration
	Err       error // a *ForwardError, or nil
	ErrKind   ErrKind
}

// Record sets c's outcome from res: where it went, what the app answered
// (or why it was not reached), and SentStatus, what the sender is answered
// (the app's status, or 504 when it was too slow, 502 otherwise). A replay
// records the same, so it reads like a delivery wherever it is shown.
func (res Result) Record(c *capture.Capture) {
	c.Target = res.URL
	c.Status = res.Status
	c.RespHeaders = res.Header
	c.RespBody = res.Body
	c.Duration = res.Duration
	if res.Truncated {
		// Request bodies are never truncated (413 instead), so on a
		// forwarded capture the flag can only mean the answer's body.
		c.Flags |= capture.FlagTruncated
	}
	switch res.ErrKind {
	case ErrNone:
		c.SentStatus = res.Status
	case ErrTimeout:
		c.SentStatus = http.StatusGatewayTimeout
	default:
		c.SentStatus = http.StatusBadGateway
	}
	if res.Err != nil {
		c.Error = res.Err.Error()
	}
}

// Forward sends r to the app and reads its whole answer. Redirects are
// returned, not followed. The body and headers go out as given, minus
// hop-by-hop headers and Host, plus the extra headers and the
// Omega-Listen-* ones; nothing else is added (no User-Agent, no
// Accept-Encoding).
func (f *Forwarder) Forward(ctx context.Context, r Request) Result {
	target, targetStr := f.target, f.targetStr
	if r.Target != nil {
		target, targetStr = r.Target, r.Target.Redacted()
	}
	res := Result{URL: targetStr}
	if target == nil {
		res.ErrKind = ErrOther
		res.Err = &ForwardError{Kind: ErrOther, URL: "(no target)", Err: errors.New("no target URL to forward to")}
		return res
	}
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	if f.pool != nil && rawMethod(method) {
		rt, ok := f.raw, f.rawOK
		if target != f.target {
			rt, ok = newRawTarget(target)
		}
		if ok {
			return f.forwardDirect(ctx, r, method, target, &rt, res)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	// Built by hand rather than with http.NewRequest, which would parse the
	// target again and allocate a header map only to have it replaced.
	req := &http.Request{
		Method:        method,
		URL:           target,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        f.header(r),
		ContentLength: int64(len(r.Body)),
	}
	if len(r.Body) > 0 {
		req.Body = newBodyReader(r.Body)
		// Lets the transport resend a request it could not write on a
		// connection the app had just closed.
		req.GetBody = func() (io.ReadCloser, error) { return newBodyReader(r.Body), nil }
	}
	req = req.WithContext(ctx)
	if u := target.User; u != nil && req.Header.Get("Authorization") == "" {
		// What http.Client would do for user:password@ in the target.
		pw, _ := u.Password()
		req.SetBasicAuth(u.Username(), pw)
	}

	start := time.Now()
	resp, err := f.rt.RoundTrip(req)
	if err != nil {
		res.Duration = time.Since(start)
		res.ErrKind = classify(ctx, err)
		res.Err = &ForwardError{Kind: res.ErrKind, URL: targetStr, Timeout: f.timeout, Err: err}
		return res
	}
	if resp.StatusCode < 200 {
		// Only 101 gets here (the transport consumes other 1xx), and the
		// Upgrade header that would ask for it is never forwarded.
		resp.Body.Close()
		res.Duration = time.Since(start)
		res.ErrKind = ErrOther
		res.Err = &ForwardError{Kind: ErrOther, URL: targetStr, Err: fmt.Errorf("the app answered %s, which cannot be passed on", resp.Status)}
		return res
	}
	res.Status = resp.StatusCode
	res.Header = resp.Header
	res.Body, res.Truncated, err = readBody(resp.Body, bodyLength(resp), MaxResponseBody)
	resp.Body.Close()
	res.Duration = time.Since(start)
	if err != nil {
		res.ErrKind = classify(ctx, err)
		res.Err = &ForwardError{Kind: res.ErrKind, URL: targetStr, Timeout: f.timeout, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	return res
}

// forwardDirect is Forward through the direct client. It builds the same
// header as the Transport path and fails the same ways, with the same
// errors.
func (f *Forwarder) forwardDirect(ctx context.Context, r Request, method string, target *url.URL, rt *rawTarget, res Result) Result {
	h := f.header(r)
	if u := target.User; u != nil && h.Get("Authorization") == "" {
		setBasicAuth(h, u)
	}
	start := time.Now()
	deadline := start.Add(f.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	fail := func(err error) Result {
		res.Duration = time.Since(start)
		res.ErrKind = classify(ctx, err)
		res.Err = &ForwardError{Kind: res.ErrKind, URL: res.URL, Timeout: f.timeout, Err: err}
		return res
	}
	if ctx.Err() != nil {
		return fail(context.Cause(ctx))
	}

	rb := reqBufPool.Get().(*reqBuf)
	defer rb.free()
	if err := writeRequestHead(rb, method, rt, h, len(r.Body)); err != nil {
		return fail(err)
	}
	head, body := rb.b, r.Body
	if len(body) <= inlineBody {
		head = append(head, body...)
		rb.b, body = head, nil
	}
	resp, pc, err := f.pool.roundTrip(ctx, rt.addr, head, body, method, deadline)
	if err != nil {
		return fail(fastErr(ctx, deadline, err))
	}
	if resp.StatusCode < 200 {
		// Only 101 gets here: the other 1xx are skipped.
		f.pool.release(pc, resp, false)
		return fail(fmt.Errorf("the app answered %s, which cannot be passed on", resp.Status))
	}
	res.Status = resp.StatusCode
	res.Header = resp.Header
	res.Body, res.Truncated, err = readBody(resp.Body, bodyLength(resp), MaxResponseBody)
	// A truncated body was not read to its end: the connection cannot
	// carry another request.
	f.pool.release(pc, resp, err == nil && !res.Truncated && !wantsClose(h))
	res.Duration = time.Since(start)
	if err != nil {
		err = fastErr(ctx, deadline, err)
		res.ErrKind = classify(ctx, err)
		res.Err = &ForwardError{Kind: res.ErrKind, URL: res.URL, Timeout: f.timeout, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	return res
}

// bodyLength is the length readBody should expect. An answer with no body
// (to HEAD, or 204/304) may still state the length it would have had.
func bodyLength(resp *http.Response) int64 {
	if resp.Body == http.NoBody {
		return 0
	}
	return resp.ContentLength
}

// newBodyReader wraps b in the types net/http recognises as in memory, so
// it writes headers and body in one go instead of flushing the headers
// first.
func newBodyReader(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// header builds the outgoing header. The original's value slices are
// shared, not copied: nothing downstream changes them.
func (f *Forwarder) header(r Request) http.Header {
	h := make(http.Header, len(r.Header)+len(f.extra)+2)
	copyEndToEnd(h, r.Header, "Host", "Content-Length", HeaderCapture, HeaderReplay, capture.HeaderRelayQueuedAt)
	for k, v := range f.extra {
		h[k] = v
	}
	if r.CaptureID != "" {
		h[HeaderCapture] = []string{r.CaptureID}
	}
	if r.ReplayOf != "" {
		h[HeaderReplay] = []string{r.ReplayOf}
	}
	if _, ok := h["User-Agent"]; !ok {
		// Present but nil: net/http then sends no User-Agent instead of
		// its own "Go-http-client/1.1".
		h["User-Agent"] = nil
	}
	return h
}

// bodyPool holds buffers for answers of unknown length. Buffers that grew
// past maxPooled are dropped so one huge answer does not pin memory.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooled = 1 << 20

// readBody reads at most limit bytes of r into a slice of its own. A known
// length is read straight into an exact slice; an unknown one goes through
// a pooled buffer and is copied out once.
func readBody(r io.Reader, length, limit int64) (body []byte, truncated bool, err error) {
	if length == 0 {
		return nil, false, nil
	}
	if length > 0 && length <= limit {
		body = make([]byte, length)
		n, err := io.ReadFull(r, body)
		return body[:n], false, err
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooled {
			bodyPool.Put(buf)
		}
	}()
	_, err = buf.ReadFrom(io.LimitReader(r, limit+1))
	b := buf.Bytes()
	if int64(len(b)) > limit {
		b, truncated, err = b[:limit], true, nil
	}
	if len(b) > 0 {
		body = bytes.Clone(b)
	}
	return body, truncated, err
}

// classify says why a round trip failed. ctx is the forward's own context,
// whose deadline is the timeout.
func classify(ctx context.Context, err error) ErrKind {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return ErrRefused
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return ErrRefused
	}
	return ErrOther
}

// shortReason is the end of an error chain a user can act on, without the
// "Post \"http://...\": dial tcp 127.0.0.1:8888: connect:" preamble.
func shortReason(err error) string {
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		return "unknown error"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the app"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the app closed the connection before a complete answer"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "unknown host " + dnsErr.Name
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}
