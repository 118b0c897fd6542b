package capture

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omega-listen/omega-listen/text"
)

// curlSkip are request headers a curl command must not repeat: they belong
// to one connection (RFC 9110 7.6.1), curl computes them itself, or
// omega-listen adds them to each forward (so they are not the sender's).
var curlSkip = map[string]bool{
	"host": true, "content-length": true, "connection": true, "keep-alive": true,
	"te": true, "trailer": true, "transfer-encoding": true, "upgrade": true,
	"omega-listen-capture": true, "omega-listen-replay": true,
}

// maxArgBody is the largest body put on curl's command line. Linux refuses
// a single argument over 128 KiB (MAX_ARG_STRLEN); larger bodies go
// through printf, a shell builtin, which has no such limit.
const maxArgBody = 64 << 10

// Curl returns a POSIX shell command that sends c's request again with curl,
// byte for byte: the same method, the headers that were received (minus
// hop-by-hop ones, Host and Content-Length, which curl derives from the URL
// and body), and the same body. curl's own defaults that would change the
// request (User-Agent, Accept, a form Content-Type, Expect) are suppressed.
//
// target is the URL to send to; "" means c.Target, the URL the capture was
// forwarded to (its password, if any, is redacted in the store). With
// neither, the command reads the URL from $TARGET. A header that no command
// line can carry (a name that is not an HTTP token, a value with CR, LF or
// NUL) is left out and named in a comment above the command.
//
// Every outside string is quoted so that no value can run a command: plain
// text in single quotes, anything with control characters, invalid UTF-8,
// bidirectional overrides or a leading '@' through printf escapes, so the
// command is also safe to print on a terminal.
func Curl(c *Capture, target string) string {
	if target == "" {
		target = c.Target
	}
	var b strings.Builder
	method := c.Method
	if method == "" {
		method = http.MethodPost
	}
	// -q first: it keeps ~/.curlrc from adding to the request.
	head := "curl -q -sS -i --http1.1 --globoff --path-as-is"
	if method == http.MethodHead {
		head += " --head"
	} else {
		head += " -X " + text.ShellQuote(method)
	}
	var args []string // option and value pairs

	keys := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	has := map[string]bool{}
	for _, k := range keys {
		lk := strings.ToLower(k)
		if curlSkip[lk] || strings.HasPrefix(lk, "proxy-") {
			continue
		}
		if !text.IsToken(k) {
			fmt.Fprintf(&b, "# left out header %s: its name is not a valid HTTP header name\n", quoteComment(k))
			continue
		}
		for _, v := range c.Headers[k] {
			if strings.ContainsAny(v, "\r\n\x00") {
				fmt.Fprintf(&b, "# left out a %s header: its value has a CR, LF or NUL, which curl cannot send\n", k)
				continue
			}
			has[lk] = true
			if v == "" {
				// "Name:" would tell curl to drop the header; "Name;" sends it empty.
				args = append(args, "-H", text.ShellQuote(k+";"))
			} else {
				args = append(args, "-H", text.ShellQuote(k+": "+v))
			}
		}
	}
	for _, h := range []string{"User-Agent", "Accept"} {
		if !has[strings.ToLower(h)] {
			args = append(args, "-H", text.ShellQuote(h+":"))
		}
	}

	withBody := len(c.Body) > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
	pipe := false
	if withBody {
		if !has["content-type"] {
			args = append(args, "-H", text.ShellQuote("Content-Type:"))
		}
		if !has["expect"] {
			args = append(args, "-H", text.ShellQuote("Expect:"))
		}
		if argSafeBody(c.Body) {
			args = append(args, "--data-binary", "'"+strings.ReplaceAll(string(c.Body), "'", `'\''`)+"'")
		} else {
			pipe = true
			args = append(args, "--data-binary", "@-")
		}
	}
	if target == "" {
		args = append(args, "--url", `"${TARGET:?set TARGET to the URL to send to}"`)
	} else {
		args = append(args, "--url", text.ShellQuote(escapeURL(target)))
	}

	if pipe {
		b.WriteString("printf ")
		b.WriteString(text.PrintfFormat(c.Body))
		b.WriteString(" |\n  ")
	}
	// One option (with its value) per line.
	b.WriteString(head)
	for i := 0; i < len(args); i += 2 {
		b.WriteString(" \\\n    ")
		b.WriteString(args[i])
		b.WriteByte(' ')
		b.WriteString(args[i+1])
	}
	b.WriteByte('\n')
	return b.String()
}

// argSafeBody reports whether body can go in single quotes on the command
// line: printable, not too long, and not starting with '@' (which curl reads
// as a file name).
func argSafeBody(body []byte) bool {
	return len(body) <= maxArgBody && !bytes.HasPrefix(body, []byte("@")) && text.DisplaySafe(string(body), true)
}

// escapeURL percent-encodes the bytes a URL cannot hold as they are
// (controls, space, non-ASCII), as a browser would before sending it, so
// the URL is printable and curl sends what the server would have seen.
func escapeURL(u string) string {
	var s strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c <= ' ' || c >= 0x7f {
			fmt.Fprintf(&s, "%%%02X", c)
			continue
		}
		s.WriteByte(c)
	}
	return s.String()
}

// quoteComment renders s for a shell comment: one line, printable ASCII.
func quoteComment(s string) string {
	return fmt.Sprintf("%+q", s)
}

// WriteJSONL writes each capture as one line of JSON, its full record. A
// body that is valid UTF-8 JSON is written as JSON ("body",
// "response_body"), so jq can read into it; any other body is base64
// ("body_base64", "response_body_base64").
func WriteJSONL(w io.Writer, cs []*Capture) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, c := range cs {
		line := jsonlCapture{Capture: c}
		line.Body, line.BodyBase64 = jsonOrBase64(c.Body)
		line.RespBody, line.RespBodyBase64 = jsonOrBase64(c.RespBody)
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("write capture %s as JSON: %w", c.ID, err)
		}
	}
	return nil
}

// jsonlCapture is a Capture as WriteJSONL writes it: its bodies shadowed.
type jsonlCapture struct {
	*Capture
	Body           json.RawMessage `json:"body,omitempty"`
	BodyBase64     []byte          `json:"body_base64,omitempty"`
	RespBody       json.RawMessage `json:"response_body,omitempty"`
	RespBodyBase64 []byte          `json:"response_body_base64,omitempty"`
}

func jsonOrBase64(b []byte) (json.RawMessage, []byte) {
	if len(b) == 0 {
		return nil, nil
	}
	if utf8.Valid(b) && json.Valid(b) {
		return json.RawMessage(b), nil
	}
	return nil, b
}

// The HAR 1.2 document (http://www.softwareishard.com/blog/har-12-spec/).
// Fields the spec requires have no omitempty; custom fields start with "_"
// as the spec asks.
type (
	harDoc struct {
		Log harLog `json:"log"`
	}
	harLog struct {
		Version string     `json:"version"`
		Creator harCreator `json:"creator"`
		Entries []harEntry `json:"entries"`
	}
	harCreator struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	harEntry struct {
		StartedDateTime string      `json:"startedDateTime"`
		Time            float64     `json:"time"`
		Request         harRequest  `json:"request"`
		Response        harResponse `json:"response"`
		Cache           struct{}    `json:"cache"`
		Timings         harTimings  `json:"timings"`
		Error           string      `json:"_error,omitempty"`
		Omega           harOmega    `json:"_omega"`
	}
	harRequest struct {
		Method      string      `json:"method"`
		URL         string      `json:"url"`
		HTTPVersion string      `json:"httpVersion"`
		Cookies     []harCookie `json:"cookies"`
		Headers     []harNV     `json:"headers"`
		QueryString []harNV     `json:"queryString"`
		PostData    *harPost    `json:"postData,omitempty"`
		HeadersSize int         `json:"headersSize"`
		BodySize    int         `json:"bodySize"`
	}
	harResponse struct {
		Status      int         `json:"status"`
		StatusText  string      `json:"statusText"`
		HTTPVersion string      `json:"httpVersion"`
		Cookies     []harCookie `json:"cookies"`
		Headers     []harNV     `json:"headers"`
		Content     harContent  `json:"content"`
		RedirectURL string      `json:"redirectURL"`
		HeadersSize int         `json:"headersSize"`
		BodySize    int         `json:"bodySize"`
	}
	harNV struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	harCookie struct {
		Name     string `json:"name"`
		Value    string `json:"value"`
		Path     string `json:"path,omitempty"`
		Domain   string `json:"domain,omitempty"`
		Expires  string `json:"expires,omitempty"`
		HTTPOnly bool   `json:"httpOnly,omitempty"`
		Secure   bool   `json:"secure,omitempty"`
	}
	harPost struct {
		MimeType string `json:"mimeType"`
		Text     string `json:"text"`
		// The spec has no encoding for postData; a binary body is base64
		// and says so here.
		Encoding string `json:"_encoding,omitempty"`
	}
	harContent struct {
		Size     int    `json:"size"`
		MimeType string `json:"mimeType"`
		Text     string `json:"text,omitempty"`
		Encoding string `json:"encoding,omitempty"`
	}
	harTimings struct {
		Send    float64 `json:"send"`
		Wait    float64 `json:"wait"`
		Receive float64 `json:"receive"`
	}
	harOmega struct {
		CaptureID  string `json:"capture_id"`
		EventID    string `json:"event_id,omitempty"`
		EventType  string `json:"event_type,omitempty"`
		EndpointID string `json:"endpoint_id,omitempty"`
		ReplayOf   string `json:"replay_of,omitempty"`
		Outcome    string `json:"outcome"`
		SentStatus int    `json:"sent_status,omitempty"`
		Reject     string `json:"reject_reason,omitempty"`
		Error      string `json:"error,omitempty"`
		Path       string `json:"path"`
	}
)

// harTime is the HAR date format: ISO 8601 with milliseconds.
const harTime = "2006-01-02T15:04:05.000Z07:00"

// WriteHAR writes cs as a HAR 1.2 log, entries in the order they were
// received. creator names the program, "name/version" or "name version".
// Each entry's URL is the one the capture was forwarded to (for a request
// that was never forwarded, its Host and redacted path); its headers are
// those received. A capture the app never answered has response status 0
// and the reason in _error. Bodies that are not UTF-8 are base64.
func WriteHAR(w io.Writer, cs []*Capture, creator string) error {
	name, version, ok := strings.Cut(creator, "/")
	if !ok {
		name, version, _ = strings.Cut(creator, " ")
	}
	doc := harDoc{Log: harLog{Version: "1.2", Creator: harCreator{Name: name, Version: version}, Entries: []harEntry{}}}
	sorted := slices.Clone(cs)
	slices.SortStableFunc(sorted, func(a, b *Capture) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return int(a.Seq - b.Seq)
	})
	for _, c := range sorted {
		doc.Log.Entries = append(doc.Log.Entries, harEntryOf(c))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write HAR: %w", err)
	}
	return nil
}

func harEntryOf(c *Capture) harEntry {
	method := c.Method
	if method == "" {
		method = http.MethodPost
	}
	wait := max(0, float64(c.Duration.Microseconds())/1000)
	e := harEntry{
		StartedDateTime: c.ReceivedAt.Format(harTime),
		Time:            wait,
		Request: harRequest{
			Method: method, URL: harURL(c), HTTPVersion: "HTTP/1.1",
			Cookies: requestCookies(c.Headers), Headers: harHeaders(c.Headers),
			HeadersSize: -1, BodySize: len(c.Body),
		},
		Timings: harTimings{Wait: wait},
		Error:   c.Error,
		Omega: harOmega{
			CaptureID: c.ID, EventID: c.EventID, EventType: c.EventType, EndpointID: c.EndpointID,
			ReplayOf: c.ReplayOf, Outcome: string(c.Outcome()), SentStatus: c.SentStatus,
			Reject: c.RejectReason, Error: c.Error, Path: c.Path,
		},
	}
	if c.ReceivedAt.IsZero() {
		e.StartedDateTime = time.Unix(0, 0).UTC().Format(harTime)
	}
	if e.Error == "" && c.Flags.Has(FlagRejected) {
		e.Error = "rejected: " + c.RejectReason
	}
	e.Request.QueryString = queryOf(e.Request.URL)
	if len(c.Body) > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		p := &harPost{MimeType: headerGet(c.Headers, "Content-Type")}
		if utf8.Valid(c.Body) {
			p.Text = string(c.Body)
		} else {
			p.Text, p.Encoding = base64.StdEncoding.EncodeToString(c.Body), "base64"
		}
		e.Request.PostData = p
	}
	r := &e.Response
	r.Status = c.Status
	r.Cookies, r.Headers = []harCookie{}, []harNV{}
	r.Content.MimeType = ""
	r.BodySize = -1
	if c.Status != 0 {
		r.StatusText = http.StatusText(c.Status)
		r.HTTPVersion = "HTTP/1.1"
		r.Cookies = responseCookies(c.RespHeaders)
		r.Headers = harHeaders(c.RespHeaders)
		r.RedirectURL = headerGet(c.RespHeaders, "Location")
		r.BodySize = len(c.RespBody)
		r.Content.MimeType = headerGet(c.RespHeaders, "Content-Type")
		r.Content.Size = len(c.RespBody)
		if utf8.Valid(c.RespBody) {
			r.Content.Text = string(c.RespBody)
		} else {
			r.Content.Text, r.Content.Encoding = base64.StdEncoding.EncodeToString(c.RespBody), "base64"
		}
	}
	return e
}

// harURL is where the request went: the forward target, or for a request
// never forwarded, where it arrived (the secret path redacted).
func harURL(c *Capture) string {
	if c.Target != "" {
		return c.Target
	}
	host := headerGet(c.Headers, "Host")
	if host == "" {
		host = "omega-listen.invalid"
	}
	path := c.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return "http://" + host + path
}

// queryOf lists the query parameters of u in their order.
func queryOf(u string) []harNV {
	out := []harNV{}
	_, raw, ok := strings.Cut(u, "?")
	if !ok {
		return out
	}
	raw, _, _ = strings.Cut(raw, "#")
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		out = append(out, harNV{Name: k, Value: v})
	}
	return out
}

func harHeaders(h http.Header) []harNV {
	out := []harNV{}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			out = append(out, harNV{Name: k, Value: v})
		}
	}
	return out
}

// headerGet is h.Get that also finds a key stored in another spelling (as
// a capture read back from JSON may have).
func headerGet(h http.Header, key string) string {
	if v := h.Get(key); v != "" {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func requestCookies(h http.Header) []harCookie {
	out := []harCookie{}
	for _, ck := range (&http.Request{Header: h}).Cookies() {
		out = append(out, harCookie{Name: ck.Name, Value: ck.Value})
	}
	return out
}

func responseCookies(h http.Header) []harCookie {
	out := []harCookie{}
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		hc := harCookie{Name: ck.Name, Value: ck.Value, Path: ck.Path, Domain: ck.Domain, HTTPOnly: ck.HttpOnly, Secure: ck.Secure}
		if !ck.Expires.IsZero() {
			hc.Expires = ck.Expires.UTC().Format(harTime)
		}
		out = append(out, hc)
	}
	return out
}
