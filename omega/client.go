package omega

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/omega-listen/omega-listen/text"
)

// DefaultBaseURL is Omega's documented API base.
const DefaultBaseURL = "https://api.omegastream.net/company"

// DefaultUserAgent is sent when Options.UserAgent is empty.
const DefaultUserAgent = "omega-listen/dev"

// maxAnswer bounds how much of an answer is read, so a hostile or broken
// server cannot exhaust memory.
const maxAnswer = 8 << 20

// errBodyTooLarge is the DecodeError cause for an answer over maxAnswer.
var errBodyTooLarge = fmt.Errorf("answer larger than %d MiB", maxAnswer>>20)

// RetryPolicy says how often and how patiently idempotent calls are retried.
// Zero fields take the defaults; MaxAttempts 1 disables retries.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, default 4
	BaseDelay   time.Duration // first backoff ceiling, default 250ms; doubles per attempt
	MaxDelay    time.Duration // cap on any wait, Retry-After included; default 4s
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 4 * time.Second
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	return p
}

// backoff is the wait before attempt n+1 after attempt n failed: full jitter,
// uniform in [0, min(MaxDelay, BaseDelay·2^(n-1))].
func (p RetryPolicy) backoff(n int) time.Duration {
	ceil := p.MaxDelay
	if n-1 < 30 {
		if d := p.BaseDelay << (n - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	return rand.N(ceil + 1)
}

// Options configure a Client.
type Options struct {
	// BaseURL is Omega's API base, e.g. https://api.omegastream.net/company
	// (the default when empty). It must be an absolute http(s) URL without
	// query, fragment or credentials; a trailing slash is ignored.
	BaseURL string
	// APIKey is the bearer token. Required.
	APIKey string
	// UserAgent defaults to DefaultUserAgent.
	UserAgent string
	// HTTPClient defaults to a client of the Client's own that does not
	// follow redirects.
	HTTPClient *http.Client
	// Timeout bounds each attempt; default 30s, negative for none.
	Timeout time.Duration
	// Retry applies to every call but CreateEndpoint.
	Retry RetryPolicy
	// Logger gets debug lines of each attempt. The key is never logged,
	// nor are bodies (they hold the webhook URL's secret token).
	Logger *slog.Logger
}

// String describes the options without the API key, so printing them with
// %v or %+v cannot leak it.
func (o Options) String() string {
	return fmt.Sprintf("{BaseURL:%s APIKey:%s UserAgent:%s Timeout:%s Retry:%+v}", o.BaseURL, redactedKey(o.APIKey), o.UserAgent, o.Timeout, o.Retry)
}

// GoString is String, so %#v hides the key too.
func (o Options) GoString() string { return "omega.Options" + o.String() }

// LogValue keeps the API key out of structured logs.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", o.BaseURL),
		slog.String("api_key", redactedKey(o.APIKey)),
		slog.String("user_agent", o.UserAgent),
		slog.Duration("timeout", o.Timeout),
	)
}

func redactedKey(k string) string {
	if k == "" {
		return "(none)"
	}
	return "(set)"
}

// Client calls Omega's webhook API. It is safe for concurrent use.
type Client struct {
	base    string
	key     string
	ua      string
	hc      *http.Client
	timeout time.Duration
	retry   RetryPolicy
	log     *slog.Logger

	// sleep waits between attempts; a seam for tests.
	sleep func(context.Context, time.Duration) error

	// spelling remembers which path of update, delete and status worked;
	// see pathFor.
	spelling atomic.Int32
}

const (
	spellingUnknown int32 = iota
	spellingCompany       // BASE/company/webhooks/..., as documented
	spellingClient        // BASE/client/webhooks/..., like create and list
)

// NewClient checks the options and returns a Client.
func NewClient(o Options) (*Client, error) {
	base, err := normalizeBaseURL(o.BaseURL)
	if err != nil {
		return nil, err
	}
	key := strings.TrimSpace(o.APIKey)
	if key == "" {
		return nil, ErrNoAPIKey
	}
	if strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, ErrBadAPIKey
	}
	c := &Client{
		base:    base,
		key:     key,
		ua:      o.UserAgent,
		hc:      o.HTTPClient,
		timeout: o.Timeout,
		retry:   o.Retry.withDefaults(),
		log:     o.Logger,
		sleep:   sleepCtx,
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	if c.hc == nil {
		c.hc = newHTTPClient()
	}
	if c.timeout == 0 {
		c.timeout = 30 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func normalizeBaseURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultBaseURL, nil
	}
	bad := func(why string) error {
		return &BaseURLError{URL: s, Why: why}
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", bad(err.Error())
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", bad("scheme must be http or https")
	case u.Host == "":
		return "", bad("no host")
	case u.User != nil:
		return "", bad("it must not contain credentials")
	case u.RawQuery != "" || u.ForceQuery:
		return "", bad("it must not have a query")
	case u.Fragment != "":
		return "", bad("it must not have a fragment")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func newHTTPClient() *http.Client {
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: t,
		// A redirected POST turns into a GET and a cross-host redirect drops
		// the key: either way the call would silently do the wrong thing, so
		// a redirect surfaces as an APIError naming --base-url.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// BaseURL returns the normalised base URL the client calls.
func (c *Client) BaseURL() string { return c.base }

// CreateEndpoint registers a webhook endpoint. It is never retried: a retry
// after a lost answer could register the endpoint twice.
func (c *Client) CreateEndpoint(ctx context.Context, in EndpointInput) (*Endpoint, error) {
	body, err := encodeInput(in)
	if err != nil {
		return nil, err
	}
	var ep Endpoint
	r, err := c.call(ctx, http.MethodPost, "/client/webhooks", body, false)
	if err != nil {
		return nil, err
	}
	if err := r.decode(&ep); err != nil {
		return nil, err
	}
	if ep.ID == "" {
		return nil, r.decodeError(errors.New("the answer holds no endpoint id"))
	}
	return &ep, nil
}

// ListEndpoints returns every endpoint of the account.
func (c *Client) ListEndpoints(ctx context.Context) ([]Endpoint, error) {
	r, err := c.call(ctx, http.MethodGet, "/client/webhooks/all", nil, true)
	if err != nil {
		return nil, err
	}
	var eps []Endpoint
	if err := r.decode(&eps); err != nil {
		return nil, err
	}
	if eps == nil {
		eps = []Endpoint{}
	}
	return eps, nil
}

// UpdateEndpoint replaces an endpoint's URL, description and events. The
// docs do not show the answer: the result is nil (without error) when the
// answer is JSON but not an endpoint.
func (c *Client) UpdateEndpoint(ctx context.Context, id string, in EndpointInput) (*Endpoint, error) {
	if err := checkID("endpoint", id); err != nil {
		return nil, err
	}
	body, err := encodeInput(in)
	if err != nil {
		return nil, err
	}
	r, err := c.callEither(ctx, http.MethodPut, "/webhooks/"+url.PathEscape(id), body)
	if err != nil {
		return nil, err
	}
	if !json.Valid(bytes.TrimSpace(r.body)) {
		return nil, r.decodeError(errors.New("not JSON"))
	}
	return r.endpointIfAny(), nil
}

// DeleteEndpoint removes an endpoint. Omega's answer body is ignored.
func (c *Client) DeleteEndpoint(ctx context.Context, id string) error {
	if err := checkID("endpoint", id); err != nil {
		return err
	}
	_, err := c.callEither(ctx, http.MethodDelete, "/webhooks/"+url.PathEscape(id), nil)
	return err
}

// SetEndpointActive activates or deactivates an endpoint. Omega's answer is
// undocumented: the endpoint is returned if the answer is one, else nil
// without error.
func (c *Client) SetEndpointActive(ctx context.Context, id string, active bool) (*Endpoint, error) {
	if err := checkID("endpoint", id); err != nil {
		return nil, err
	}
	body, _ := json.Marshal(struct {
		Active bool `json:"active"`
	}{active})
	r, err := c.callEither(ctx, http.MethodPost, "/webhooks/"+url.PathEscape(id)+"/status", body)
	if err != nil {
		return nil, err
	}
	return r.endpointIfAny(), nil
}

// ListEvents returns an endpoint's delivery history, newest first; Data and
// Response are empty in this form (use GetEvent).
func (c *Client) ListEvents(ctx context.Context, endpointID string) ([]Event, error) {
	if err := checkID("endpoint", endpointID); err != nil {
		return nil, err
	}
	if endpointID == "all" {
		// BASE/client/webhooks/all is the endpoint list, not anyone's events.
		return nil, errors.New(`"all" is not an endpoint id`)
	}
	r, err := c.call(ctx, http.MethodGet, "/client/webhooks/"+url.PathEscape(endpointID), nil, true)
	if err != nil {
		return nil, err
	}
	var evs []Event
	if err := r.decode(&evs); err != nil {
		return nil, err
	}
	if evs == nil {
		evs = []Event{}
	}
	return evs, nil
}

// GetEvent returns one event of an endpoint with its data and response.
func (c *Client) GetEvent(ctx context.Context, endpointID, eventID string) (*Event, error) {
	if err := checkID("endpoint", endpointID); err != nil {
		return nil, err
	}
	if err := checkID("event", eventID); err != nil {
		return nil, err
	}
	p := "/client/webhooks/" + url.PathEscape(endpointID) + "/events/" + url.PathEscape(eventID)
	r, err := c.call(ctx, http.MethodGet, p, nil, true)
	if err != nil {
		return nil, err
	}
	var ev Event
	if err := r.decode(&ev); err != nil {
		return nil, err
	}
	if ev.ID == "" {
		return nil, r.decodeError(errors.New("the answer holds no event id"))
	}
	return &ev, nil
}

func encodeInput(in EndpointInput) ([]byte, error) {
	if in.Events == nil {
		in.Events = []string{} // Omega requires the field; never send null
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encoding endpoint: %w", err)
	}
	return b, nil
}

// checkID rejects ids that would change the route once in the path.
func checkID(what, id string) error {
	switch strings.TrimSpace(id) {
	case "":
		return fmt.Errorf("%s id is empty", what)
	case ".", "..":
		return fmt.Errorf("invalid %s id %q", what, id)
	}
	return nil
}

// callEither calls BASE/company<rest> as documented or BASE/client<rest>,
// the spelling of create and list. Until one has worked, a 404 on the
// documented one is retried once on the other; whichever worked is used
// first from then on, and a 404 on it is a plain "not found".
func (c *Client) callEither(ctx context.Context, method, rest string, body []byte) (*answer, error) {
	known := c.spelling.Load()
	prefix := "/company"
	if known == spellingClient {
		prefix = "/client"
	}
	r, err := c.call(ctx, method, prefix+rest, body, true)
	if err == nil {
		c.spelling.CompareAndSwap(spellingUnknown, spellingCompany)
		return r, nil
	}
	if known != spellingUnknown || !IsNotFound(err) {
		return nil, err
	}
	c.log.Debug("omega: documented path answered 404, trying the client/ spelling", "method", method, "path", prefix+rest)
	r, err2 := c.call(ctx, method, "/client"+rest, body, true)
	if err2 == nil {
		c.spelling.CompareAndSwap(spellingUnknown, spellingClient)
		return r, nil
	}
	var ae *APIError
	if errors.As(err2, &ae) && ae.Status == http.StatusMethodNotAllowed {
		// The fallback route does not exist: the first 404 was the real answer.
		return nil, err
	}
	return nil, err2
}

// answer is a 2xx response, read whole.
type answer struct {
	method, path string
	status       int
	contentType  string
	body         []byte
}

func (r *answer) decode(v any) error {
	b := bytes.TrimSpace(r.body)
	if len(b) == 0 {
		return r.decodeError(errors.New("empty answer"))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return r.decodeError(err)
	}
	return nil
}

func (r *answer) decodeError(err error) error {
	return &DecodeError{
		Method:      r.method,
		Path:        r.path,
		Status:      r.status,
		ContentType: r.contentType,
		Snippet:     snippet(r.body, snippetLen),
		Err:         err,
	}
}

// endpointIfAny returns the answer as an endpoint if it is one.
func (r *answer) endpointIfAny() *Endpoint {
	var ep Endpoint
	if json.Unmarshal(bytes.TrimSpace(r.body), &ep) != nil || ep.ID == "" {
		return nil
	}
	return &ep
}

// call runs one API call with retries (if retry) and returns its 2xx answer
// or an error: *AuthError, *APIError, *DecodeError (via answer.decode) or a
// network error naming the method and URL.
func (c *Client) call(ctx context.Context, method, path string, body []byte, retry bool) (*answer, error) {
	u := c.base + path
	attempts := 1
	if retry {
		attempts = c.retry.MaxAttempts
	}
	for n := 1; ; n++ {
		r, wait, err := c.attempt(ctx, method, u, body)
		if err == nil {
			return r, nil
		}
		if ctx.Err() != nil {
			return nil, withCtx(ctx, err)
		}
		if wait < 0 || n >= attempts {
			if n > 1 && wait >= 0 {
				err = fmt.Errorf("gave up after %d attempts: %w", n, err)
			}
			return nil, err
		}
		if wait == 0 {
			wait = c.retry.backoff(n)
		}
		c.log.Debug("omega: retrying", "method", method, "url", u, "attempt", n, "wait", wait, "err", err)
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("%s %s: %w (last attempt: %v)", method, u, serr, err)
		}
	}
}

// withCtx makes sure the caller's context error is in err's chain.
func withCtx(ctx context.Context, err error) error {
	if errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w (%w)", ctx.Err(), err)
}

// attempt makes one request. On failure wait says what may follow: -1 do
// not retry, 0 retry after the usual backoff, >0 retry after that long
// (Omega's Retry-After, capped).
func (c *Client) attempt(ctx context.Context, method, u string, body []byte) (*answer, time.Duration, error) {
	actx, cancel := ctx, context.CancelFunc(func() {})
	if c.timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	defer cancel()

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, u, rd)
	if err != nil {
		return nil, -1, fmt.Errorf("%s %s: %w", method, u, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.log.Debug("omega: request failed", "method", method, "url", u, "elapsed", time.Since(start), "err", err)
		return nil, 0, c.netError(ctx, actx, method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	c.log.Debug("omega: answer", "method", method, "url", u, "status", resp.StatusCode, "bytes", len(data), "elapsed", time.Since(start))
	if err != nil {
		return nil, 0, c.netError(ctx, actx, method, u, fmt.Errorf("reading the answer: %w", err))
	}
	data = c.redact(data)
	path := req.URL.EscapedPath()
	r := &answer{method: method, path: path, status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: data}
	if len(data) > maxAnswer {
		r.body = data[:maxAnswer]
		return nil, -1, r.decodeError(errBodyTooLarge)
	}

	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return r, 0, nil
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return nil, -1, &AuthError{Status: s, Message: r.message()}
	default:
		ae := &APIError{Method: method, Path: path, Status: s, Message: r.message(), Body: string(data[:min(len(data), 4096)])}
		if s >= 300 && s < 400 {
			if loc := resp.Header.Get("Location"); loc != "" && ae.Message == "" {
				ae.Message = "redirected to " + text.Sanitize(loc)
			}
		}
		if s == http.StatusTooManyRequests || s >= 500 {
			return nil, c.retryAfter(resp.Header.Get("Retry-After")), ae
		}
		return nil, -1, ae
	}
}

// netError wraps a transport error with the method and URL (the key is in a
// header, never in the URL) and says whether the per-attempt timeout fired.
func (c *Client) netError(ctx, actx context.Context, method, u string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() == nil && actx.Err() != nil {
		return fmt.Errorf("%s %s: no answer within %s: %w", method, u, c.timeout, err)
	}
	return fmt.Errorf("%s %s: %w", method, u, err)
}

// redact removes the key from what Omega sent back, in case it echoes it.
func (c *Client) redact(b []byte) []byte {
	if len(c.key) < 4 || !bytes.Contains(b, []byte(c.key)) {
		return b
	}
	return bytes.ReplaceAll(b, []byte(c.key), []byte("[redacted]"))
}

// message extracts Omega's message from an error answer.
func (r *answer) message() string {
	b := bytes.TrimSpace(r.body)
	if len(b) == 0 {
		return ""
	}
	var m struct {
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	if json.Unmarshal(b, &m) == nil {
		for _, raw := range []json.RawMessage{m.Message, m.Error} {
			if s, ok := jsonString(raw); ok && s != "" {
				return text.Sanitize(s)
			}
			// {"error": {"message": "..."}} is common enough elsewhere.
			var inner struct {
				Message string `json:"message"`
			}
			if len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &inner) == nil && inner.Message != "" {
				return text.Sanitize(inner.Message)
			}
		}
		if b[0] == '{' || b[0] == '[' {
			return snippet(b, snippetLen)
		}
	}
	if mt, _, _ := mime.ParseMediaType(r.contentType); mt == "text/html" {
		return "(an HTML page: " + snippet(b, snippetLen) + ")"
	}
	return snippet(b, snippetLen)
}

// retryAfter turns a Retry-After header into a wait, capped at MaxDelay;
// 0 means none given (use the backoff).
func (c *Client) retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(min(secs, int64(c.retry.MaxDelay/time.Second)+1)) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
		if d <= 0 {
			return 0
		}
	} else {
		return 0
	}
	return min(d, c.retry.MaxDelay)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
