package replay

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/inspector"
)

// Options configure a Replayer. Store and Forwarder are required.
type Options struct {
	// Store records each replay as a new capture (and, if it has a bus,
	// publishes it there: the store is the one publisher of captures).
	Store *capture.Store
	// Forwarder sends the replays. Its target is used for captures that
	// recorded none when no other target is given; its extra headers (-H)
	// are added as on every forward.
	Forwarder *inspector.Forwarder
	// SessionID is put on the new captures.
	SessionID string
	// Concurrency is how many replays Run sends at once; default 1.
	Concurrency int
	// Delay is the pause Run makes between starting one replay and the
	// next.
	Delay time.Duration
}

// Replayer sends captures again and records the results. It is safe for
// concurrent use.
type Replayer struct {
	o Options
}

// New returns a Replayer. It panics without a Store or a Forwarder: that
// is a mistake in the program.
func New(o Options) *Replayer {
	if o.Store == nil || o.Forwarder == nil {
		panic("replay.New: Store and Forwarder are required")
	}
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	return &Replayer{o: o}
}

// ParseTarget checks that s is an absolute http or https URL with a host,
// which is what a replay can be sent to.
func ParseTarget(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target %q: want an http:// or https:// URL", s)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("target %q: no host", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("target %q: port must be 1-65535", s)
		}
	}
	u.Fragment = ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// TargetError is a capture that cannot be replayed to its own target
// (none was recorded, or the recorded one is unusable) when neither the
// caller nor the Forwarder gives one. The command layer says how to give
// one.
type TargetError struct {
	CaptureID string
	// Err is why the recorded target is unusable; nil when there is none.
	Err error
}

func (e *TargetError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("capture %s has no recorded target", e.CaptureID)
	}
	return fmt.Sprintf("capture %s: its recorded target is unusable (%v)", e.CaptureID, e.Err)
}

func (e *TargetError) Unwrap() error { return e.Err }

// Plan is what a replay of a capture would send.
type Plan struct {
	Method string
	// Target is where it goes; nil means the Forwarder's own target.
	Target *url.URL
	// Header is the capture's end-to-end headers as they are forwarded,
	// with Omega-Listen-Replay; the Forwarder adds its extra headers and
	// Omega-Listen-Capture.
	Header http.Header
	Body   []byte
	// RawQuery is the query string the original delivery arrived with
	// (from the capture's Path), sent again with the replay.
	RawQuery string
}

// TargetString is where the plan goes, for people: the URL the Forwarder
// will send to, with the original delivery's query string.
func (p Plan) TargetString(f *inspector.Forwarder) string {
	u := p.Target
	if u == nil && f != nil {
		u = f.Target()
	}
	if u == nil {
		return "(no target)"
	}
	if p.RawQuery != "" {
		v := *u
		if v.RawQuery == "" {
			v.RawQuery = p.RawQuery
		} else {
			v.RawQuery += "&" + p.RawQuery
		}
		u = &v
	}
	return u.Redacted()
}

// Plan works out what One would send for orig: to (if not empty) or the
// capture's own target, body (if not nil) or the capture's. It fails for a
// rejected capture and for one with no usable target when neither to nor
// the Forwarder has one.
func (r *Replayer) Plan(orig *capture.Capture, to string, body []byte) (Plan, error) {
	return plan(orig, to, body, r.o.Forwarder)
}

func plan(orig *capture.Capture, to string, body []byte, f *inspector.Forwarder) (Plan, error) {
	if orig.Flags.Has(capture.FlagRejected) {
		return Plan{}, fmt.Errorf("capture %s: %w (%s)", orig.ID, ErrRejected, orig.RejectReason)
	}
	p := Plan{Method: orig.Method, Body: orig.Body}
	if p.Method == "" {
		p.Method = http.MethodPost
	}
	if body != nil {
		p.Body = body
	}
	switch {
	case to != "":
		u, err := ParseTarget(to)
		if err != nil {
			return Plan{}, err
		}
		p.Target = u
	case orig.Target != "":
		u, err := ParseTarget(orig.Target)
		if err != nil {
			if f == nil || f.Target() == nil {
				return Plan{}, &TargetError{CaptureID: orig.ID, Err: err}
			}
		} else {
			p.Target = u
		}
	case f == nil || f.Target() == nil:
		return Plan{}, &TargetError{CaptureID: orig.ID}
	}
	p.Header = forwardedHeader(orig.Headers)
	p.RawQuery = rawQuery(orig.Path)
	if to == "" && p.Target != nil {
		// The recorded target is the URL the original went to, the
		// delivery's query included: the Forwarder adds it again.
		p.Target = withoutQuery(p.Target, p.RawQuery)
	}
	if orig.ID != "" {
		p.Header.Set(inspector.HeaderReplay, orig.ID)
	}
	return p, nil
}

// rawQuery is the query string of a capture's recorded path
// ("/omega/{token}?a=1" gives "a=1"), or "" when it has none.
func rawQuery(path string) string {
	_, q, _ := strings.Cut(path, "?")
	return q
}

// withoutQuery is u without q at the end of its query, where the
// Forwarder appended it ("k=v&q" or "q").
func withoutQuery(u *url.URL, q string) *url.URL {
	if q == "" {
		return u
	}
	v := *u
	switch {
	case v.RawQuery == q:
		v.RawQuery = ""
	case strings.HasSuffix(v.RawQuery, "&"+q):
		v.RawQuery = strings.TrimSuffix(v.RawQuery, "&"+q)
	default:
		return u
	}
	return &v
}

// forwardedHeader is what of h the Forwarder passes on (it drops
// hop-by-hop headers, Host, Content-Length and old Omega-Listen-* ones),
// for showing a dry run.
func forwardedHeader(h http.Header) http.Header {
	out := make(http.Header, len(h)+1)
	var conn []string
	for k, v := range h {
		if strings.EqualFold(k, "Connection") {
			conn = append(conn, v...)
		}
	}
	hop := map[string]bool{"Connection": true, "Keep-Alive": true, "Te": true, "Trailer": true,
		"Transfer-Encoding": true, "Upgrade": true, "Host": true, "Content-Length": true,
		inspector.HeaderCapture: true, inspector.HeaderReplay: true, capture.HeaderRelayQueuedAt: true}
	for _, v := range conn {
		for _, tok := range strings.Split(v, ",") {
			hop[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(tok))] = true
		}
	}
	for k, v := range h {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if hop[ck] || strings.HasPrefix(ck, "Proxy-") {
			continue
		}
		out[ck] = append(out[ck], v...)
	}
	return out
}

// One replays orig: it records a new capture (ReplayOf orig.ID) before
// sending, sends orig's method, headers and body (or body, if not nil) to
// to (or orig's target; see Plan) through the Forwarder, and records the
// outcome. The app answering non-2xx, or not at all, is not an error: it
// is in the returned capture. The error is for what stopped the replay
// being sent or recorded. A capture without an ID (a template from
// FromOmega) is sent as a delivery, not a replay: no Omega-Listen-Replay
// header and no ReplayOf.
func (r *Replayer) One(ctx context.Context, orig *capture.Capture, to string, body []byte) (*capture.Capture, error) {
	p, err := r.Plan(orig, to, body)
	if err != nil {
		return nil, err
	}
	c := &capture.Capture{
		Meta: capture.Meta{
			SessionID:    r.o.SessionID,
			Method:       p.Method,
			Path:         orig.Path,
			EventID:      orig.EventID,
			EventType:    orig.EventType,
			EndpointID:   orig.EndpointID,
			EventCreated: orig.EventCreated,
			// Truncated, on a forwarded capture, was about the app's answer.
			Flags:    orig.Flags &^ (capture.FlagRejected | capture.FlagTruncated | capture.FlagQueued),
			ReplayOf: orig.ID,
			Target:   p.TargetString(r.o.Forwarder),
		},
		Headers: orig.Headers,
		Body:    p.Body,
	}
	if body != nil && !bytes.Equal(body, orig.Body) {
		reinspect(c)
	}
	if err := r.o.Store.Begin(ctx, c); err != nil {
		return nil, fmt.Errorf("recording the replay of %s, so it was not sent: %w", orig.ID, err)
	}

	res := r.o.Forwarder.Forward(ctx, inspector.Request{
		Method: p.Method, Header: orig.Headers, Body: p.Body,
		CaptureID: c.ID, ReplayOf: orig.ID, Target: p.Target, RawQuery: p.RawQuery,
	})
	res.Record(c)
	// The replay was sent: its outcome is recorded even if ctx has just
	// been cancelled, or the capture would stay pending for ever.
	ferr := r.o.Store.Finish(context.WithoutCancel(ctx), c)
	if ferr != nil {
		return c, fmt.Errorf("recording the outcome of replay %s: %w", c.ID, ferr)
	}
	return c, nil
}

// reinspect sets c's envelope fields and flags from its (edited) body, and
// a Content-Length header it carries to the body's length.
func reinspect(c *capture.Capture) {
	inspector.InspectEnvelope(c)
	for k := range c.Headers {
		if strings.EqualFold(k, "Content-Length") {
			c.Headers = c.Headers.Clone()
			delete(c.Headers, k)
			c.Headers.Set("Content-Length", strconv.Itoa(len(c.Body)))
			break
		}
	}
}

// Run replays origs, Concurrency at a time with Delay between starts, and
// calls each (if not nil) once per capture, in the order of origs, from
// the calling goroutine: i is the index in origs, res and err what One
// returned. bodies, keyed by capture ID, replace the bodies of those
// captures. If ctx is cancelled, captures not yet sent are reported with
// ctx's error and Run returns it; otherwise Run returns nil (per-capture
// errors go to each).
func (r *Replayer) Run(ctx context.Context, origs []*capture.Capture, to string, bodies map[string][]byte, each func(i int, res *capture.Capture, err error)) error {
	type result struct {
		c   *capture.Capture
		err error
	}
	results := make([]result, len(origs))
	done := make(chan int, len(origs))
	jobs := make(chan int)

	var wg sync.WaitGroup
	for range min(r.o.Concurrency, max(len(origs), 1)) {
		wg.Go(func() {
			for i := range jobs {
				c, err := r.One(ctx, origs[i], to, bodies[origs[i].ID])
				results[i] = result{c, err}
				done <- i
			}
		})
	}
	// The dispatcher stops at cancellation; what it did not hand out is
	// reported as not sent.
	var stopErr error
	stop := func(from int) {
		stopErr = context.Cause(ctx)
		for j := from; j < len(origs); j++ {
			results[j] = result{nil, fmt.Errorf("not sent: %w", stopErr)}
			done <- j
		}
	}
	go func() {
		defer close(jobs)
		var timer *time.Timer
		for i := range origs {
			if i > 0 && r.o.Delay > 0 {
				if timer == nil {
					timer = time.NewTimer(r.o.Delay)
				} else {
					timer.Reset(r.o.Delay)
				}
				select {
				case <-timer.C:
				case <-ctx.Done():
				}
			}
			if ctx.Err() != nil {
				stop(i)
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				stop(i)
				return
			}
		}
	}()

	ready := make([]bool, len(origs))
	next := 0
	for range origs {
		i := <-done
		ready[i] = true
		for next < len(origs) && ready[next] {
			if each != nil {
				each(next, results[next].c, results[next].err)
			}
			next++
		}
	}
	wg.Wait()
	// Every result is in, so the dispatcher has finished with stopErr.
	return stopErr
}
