package inspector

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"github.com/omega-listen/omega-listen/inspector/internal/h1"
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
	Hint    string        // what to do about it, if known
}

func (e *ForwardError) Error() string {
	if e.Hint != "" {
		return e.text() + "; " + e.Hint
	}
	return e.text()
}

func (e *ForwardError) text() string {
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
	// Timeout bounds a forward: the app's answer, its stored part
	// included; the rest of an answer longer than MaxResponseBody is
	// bounded per read instead. Default 30s.
	Timeout time.Duration
	// Headers are set on every request after the original headers are
	// copied, replacing any of the same name (-H). A Host here is the Host
	// the app is told. Framing and hop-by-hop names are refused by
	// CheckExtraHeader; the Forwarder drops them.
	Headers http.Header
	// TLS configures https targets (a CA to trust, or no verification);
	// nil means the system's roots (SSL_CERT_FILE, SSL_CERT_DIR).
	TLS *tls.Config
	// TLSHint ends the error of an https target whose certificate is not
	// trusted: what the user can do about it.
	TLSHint string
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
	host      string // the Host the app is told, from Headers; "" for the target's
	tlsHint   string
	rt        http.RoundTripper
	tlsConf   *tls.Config
	own       interface{ CloseIdleConnections() } // the transport to close, if it is ours
}

// NewForwarder returns a Forwarder. Without a Transport it uses its own
// clients, tuned for one local app: many idle connections kept, HTTP/1.1,
// no proxy from the environment (a corporate proxy cannot reach
// localhost), no transparent compression. Plain http:// targets go
// through a direct HTTP/1.1 client (internal/h1) that sends the same
// bytes as http.Transport; https ones through an http.Transport it falls
// back to.
func NewForwarder(o ForwarderOptions) *Forwarder {
	f := &Forwarder{target: o.Target, timeout: o.Timeout, rt: o.Transport, tlsHint: o.TLSHint, tlsConf: o.TLS}
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
			if ck == "Host" {
				if len(v) > 0 {
					f.host = v[len(v)-1]
				}
				continue
			}
			if CheckExtraHeader(ck) != nil {
				continue
			}
			f.extra[ck] = append(f.extra[ck], v...)
		}
	}
	if f.rt == nil {
		t := h1.New(h1.Options{Fallback: newTransport(o.TLS), DialTimeout: dialTimeout})
		f.rt, f.own = t, t
	}
	return f
}

// CheckExtraHeader says why an extra header (-H) with this name cannot be
// set on every forwarded request, or nil if it can. Framing is worked out
// from the body (a stated length or encoding would make the app read a
// different request), and hop-by-hop headers belong to one connection.
func CheckExtraHeader(name string) error {
	switch ck := textproto.CanonicalMIMEHeaderKey(name); {
	case ck == "Content-Length", ck == "Transfer-Encoding":
		return fmt.Errorf("%s is worked out from each delivery's body; setting it would make the app read a different request", ck)
	case ck == HeaderCapture, ck == HeaderReplay:
		return fmt.Errorf("%s is set by omega-listen on every forwarded request", ck)
	case isHopByHop(ck, nil):
		return fmt.Errorf("%s is a hop-by-hop header: it belongs to one connection and is not forwarded", ck)
	}
	return nil
}

func newTransport(tlsConf *tls.Config) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     false,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       2 * time.Second,
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
}

// Request is what to forward.
type Request struct {
	Method    string // default POST
	Header    http.Header
	Body      []byte
	CaptureID string   // sent as Omega-Listen-Capture
	ReplayOf  string   // if set, sent as Omega-Listen-Replay
	Target    *url.URL // overrides the Forwarder's target if not nil
	// RawQuery is the query the request arrived with, added to the
	// target's own (as httputil.ReverseProxy joins them).
	RawQuery string
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

	// rest is the answer beyond Body when it was truncated and the caller
	// passes the whole answer on (the Handler); length is the answer's
	// whole length, or -1.
	rest   io.ReadCloser
	length int64
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

// Forward sends r to the app and reads its answer, keeping at most
// MaxResponseBody bytes of it. Redirects are returned, not followed. The
// body and headers go out as given, minus hop-by-hop headers and Host,
// plus the extra headers and the Omega-Listen-* ones; nothing else is
// added (no User-Agent, no Accept-Encoding).
func (f *Forwarder) Forward(ctx context.Context, r Request) Result {
	return f.forward(ctx, r, false)
}

// forward is Forward; with pass, an answer longer than MaxResponseBody
// keeps its connection open in Result.rest for the caller to pass on and
// close.
func (f *Forwarder) forward(ctx context.Context, r Request, pass bool) Result {
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
	if r.RawQuery != "" {
		target = withQuery(target, r.RawQuery)
		res.URL = target.Redacted()
		targetStr = res.URL
	}
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}

	var cancel context.CancelFunc
	if f.own != nil {
		// Its own client enforces the deadline on the connection.
		ctx, cancel = h1.DeadlineContext(ctx, time.Now().Add(f.timeout))
	} else {
		// Movable, so that passing a long answer on can wait per read.
		ctx, cancel = h1.WithDeadline(ctx, time.Now().Add(f.timeout))
	}
	// Built by hand rather than with http.NewRequest, which would parse the
	// target again and allocate a header map only to have it replaced.
	req := &http.Request{
		Method:        method,
		URL:           target,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        f.header(r),
		Host:          f.host,
		ContentLength: int64(len(r.Body)),
	}
	if len(r.Body) > 0 {
		req.Body = h1.NewBody(r.Body)
		if target.Scheme != "http" || f.own == nil {
			// Lets net/http resend a request it could not write at all on
			// a connection the app had just closed.
			req.GetBody = func() (io.ReadCloser, error) { return h1.NewBody(r.Body), nil }
		}
	}
	req = req.WithContext(ctx)
	if u := target.User; u != nil && req.Header.Get("Authorization") == "" {
		// What http.Client would do for user:password@ in the target.
		pw, _ := u.Password()
		req.SetBasicAuth(u.Username(), pw)
	}

	start := time.Now()
	fail := func(err error) Result {
		res.Duration = time.Since(start)
		res.ErrKind = classify(ctx, err)
		res.Err = &ForwardError{Kind: res.ErrKind, URL: targetStr, Timeout: f.timeout, Err: err, Hint: f.hintFor(err)}
		cancel()
		return res
	}
	resp, err := f.rt.RoundTrip(req)
	if err != nil {
		if classify(ctx, err) == ErrOther && closedConn(err) {
			// No answer at all, whichever client: say so plainly.
			err = &h1.NoAnswerError{Err: err}
		}
		return fail(err)
	}
	if resp.StatusCode < 200 {
		// Only 101 gets here (the clients consume other 1xx), and the
		// Upgrade header that would ask for it is never forwarded.
		resp.Body.Close()
		return fail(fmt.Errorf("the app answered %s, which cannot be passed on", resp.Status))
	}
	res.Status = resp.StatusCode
	res.Header = resp.Header
	length := bodyLength(resp)
	res.Body, res.Truncated, err = readBody(resp.Body, length, MaxResponseBody, pass)
	if err == nil && res.Truncated && pass {
		// The stored copy ends here; the sender gets the rest from the
		// app as it comes. The timeout bounded waiting for the app's
		// answer; from here it bounds each wait for more of it, not the
		// whole copy, which takes as long as the sender takes to read it
		// (a fixed deadline cut big answers to slow senders).
		p := &passBody{rest: io.MultiReader(bytes.NewReader(res.Body[MaxResponseBody:]), resp.Body), body: resp.Body, cancel: cancel, ctx: ctx, idle: f.timeout}
		p.setDeadline(time.Time{}) // none while the stored part is recorded and sent
		res.rest, res.length = p, length
		res.Body = res.Body[:MaxResponseBody:MaxResponseBody]
		res.Duration = time.Since(start)
		return res
	}
	resp.Body.Close()
	cancel()
	res.Duration = time.Since(start)
	if err != nil {
		res.ErrKind = classify(ctx, err)
		res.Err = &ForwardError{Kind: res.ErrKind, URL: targetStr, Timeout: f.timeout, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	return res
}

// passBody is the rest of a long answer: each read must get some of it
// within idle, however long the whole copy takes.
type passBody struct {
	rest   io.Reader
	body   io.Closer
	cancel context.CancelFunc
	ctx    context.Context
	idle   time.Duration
}

func (p *passBody) Read(b []byte) (int, error) {
	p.setDeadline(time.Now().Add(p.idle))
	n, err := p.rest.Read(b)
	p.setDeadline(time.Time{})
	return n, err
}

// setDeadline moves the deadline of the reads from the app: on the
// direct client's connection, or on the forward's context for any other
// client.
func (p *passBody) setDeadline(t time.Time) {
	if d, ok := p.body.(interface{ SetReadDeadline(time.Time) error }); ok {
		d.SetReadDeadline(t)
		return
	}
	h1.SetDeadline(p.ctx, t)
}

func (p *passBody) Close() error {
	err := p.body.Close()
	p.cancel()
	return err
}

// withQuery is u with q added to its query, as httputil.ReverseProxy
// joins a target's query with the incoming one.
func withQuery(u *url.URL, q string) *url.URL {
	v := *u
	if v.RawQuery == "" {
		v.RawQuery = q
	} else {
		v.RawQuery += "&" + q
	}
	return &v
}

// hintFor is the TLS hint when err is an https target's certificate
// failing verification.
func (f *Forwarder) hintFor(err error) string {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return f.tlsHint
	}
	return ""
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
// a pooled buffer and is copied out once. With pass, a truncated body
// keeps the one byte read past the limit, for the caller to pass on.
func readBody(r io.Reader, length, limit int64, pass bool) (body []byte, truncated bool, err error) {
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
		truncated, err = true, nil
		if !pass {
			b = b[:limit]
		}
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

// closedConn reports whether err is the app closing or resetting the
// connection.
func closedConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// shortReason is the end of an error chain a user can act on, without the
// "Post \"http://...\": dial tcp 127.0.0.1:8888: connect:" preamble.
func shortReason(err error) string {
	var dnsErr *net.DNSError
	var noAnswer *h1.NoAnswerError
	switch {
	case err == nil:
		return "unknown error"
	case errors.As(err, &noAnswer):
		return noAnswer.Error()
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
