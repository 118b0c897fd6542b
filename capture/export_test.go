package capture

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/omega-listen/omega-listen/text"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// rawRequest is a request as it crossed the wire.
type rawRequest struct {
	method, target string
	headers        []string // "lower-case-name: value", as sent
	body           []byte
}

// rawServer accepts one HTTP/1.1 request per connection, records it byte
// for byte and answers 204. Unlike net/http it accepts any header value,
// so hostile values reach the test unchanged.
func rawServer(t *testing.T) (addr string, got <-chan rawRequest) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan rawRequest, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				r, err := readRaw(bufio.NewReader(conn))
				if err != nil {
					t.Errorf("server: %v", err)
					return
				}
				ch <- r
				io.WriteString(conn, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
			}()
		}
	}()
	return ln.Addr().String(), ch
}

func readRaw(br *bufio.Reader) (rawRequest, error) {
	var r rawRequest
	line, err := br.ReadString('\n')
	if err != nil {
		return r, err
	}
	parts := strings.SplitN(strings.TrimRight(line, "\r\n"), " ", 3)
	if len(parts) != 3 || parts[2] != "HTTP/1.1" {
		return r, fmt.Errorf("request line %q", line)
	}
	r.method, r.target = parts[0], parts[1]
	length := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return r, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return r, fmt.Errorf("header line %q", line)
		}
		v = strings.TrimLeft(v, " \t")
		r.headers = append(r.headers, strings.ToLower(k)+": "+v)
		if strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(v)
		}
	}
	r.body = make([]byte, length)
	_, err = io.ReadFull(br, r.body)
	return r, err
}

var hostileBodies = map[string][]byte{
	"json":             []byte(`{"id":"630fac88bd5bb64cf8b24b99","type":"video.process_succeeded","data":{"name":"it's"}}`),
	"empty":            {},
	"quotes":           []byte(`'"'"''\'' "$HOME" '`),
	"command subst":    []byte("$(touch /tmp/omega-pwned) ; rm -rf / ; `touch /tmp/omega-pwned2`"),
	"newlines":         []byte("line one\nline two\r\n\n\n"),
	"NUL":              []byte("a\x00b\x00"),
	"invalid UTF-8":    []byte("\xff\xfe\xc3("),
	"escapes":          []byte("\x1b[2J\x1b]0;title\x07 %s %d %% \\n \\0 \\"),
	"at sign":          []byte("@/etc/passwd"),
	"bidi":             []byte("a\u202eb\u2066c"),
	"trailing newline": []byte("x\n"),
	"large binary":     bytes.Repeat([]byte("\x00\xff'%\\\n$(x)"), 20000),
	"large text":       bytes.Repeat([]byte(`{"k":"v"},`), 20000),
}

func TestCurlReproducesRequest(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed for this test: %v", err)
	}
	addr, got := rawServer(t)
	baseHeaders := http.Header{
		"Content-Type": {"application/json"},
		"User-Agent":   {"Omega-Webhooks/1.0"},
		"X-Omega-Sig":  {"t=1,v1=abc"},
	}
	type tc struct {
		name    string
		method  string
		headers http.Header
		body    []byte
	}
	var cases []tc
	for name, body := range hostileBodies {
		cases = append(cases, tc{"body " + name, "POST", baseHeaders, body})
	}
	hostileValues := map[string]string{
		"quote":      `'; touch /tmp/omega-pwned; echo '`,
		"subst":      "$(touch /tmp/omega-pwned)`touch /tmp/omega-pwned`",
		"escape":     "\x1b[31mred\x1b[0m",
		"bad utf8":   "\xff\xfe",
		"percent":    "%s%n%%\\x41\\101",
		"empty":      "",
		"double":     `"$HOME"`,
		"unicode":    "café ✓",
		"bidi":       "a\u202eb",
		"tab inside": "a\tb",
	}
	for name, v := range hostileValues {
		h := baseHeaders.Clone()
		h["X-Hostile"] = []string{v, "second"}
		cases = append(cases, tc{"header " + name, "POST", h, []byte(`{}`)})
	}
	cases = append(cases,
		tc{"no user-agent, accept or content-type", "POST", http.Header{"X-A": {"1"}}, []byte("x")},
		tc{"own accept and expect", "POST", http.Header{"Accept": {"text/plain"}, "Expect": {"nothing"}}, []byte("x")},
		tc{"PUT", "PUT", baseHeaders, []byte("put body")},
		tc{"GET without body", "GET", http.Header{"User-Agent": {"x"}}, nil},
		tc{"DELETE with body", "DELETE", baseHeaders, []byte("gone")},
		tc{"hop-by-hop dropped", "POST", http.Header{
			"Host": {"public.example"}, "Connection": {"keep-alive"}, "Transfer-Encoding": {"chunked"},
			"Content-Length": {"999"}, "Keep-Alive": {"timeout=5"}, "Proxy-Authorization": {"secret"},
			"Omega-Listen-Capture": {"c_x"}, "X-Kept": {"yes"},
		}, []byte("hop")},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			capt := &Capture{
				Meta: Meta{ID: "c_test", Method: c.method,
					Target: "http://" + addr + "/webhook/a%20b?x=[1]&y={2}"},
				Headers: c.headers, Body: c.body,
			}
			cmd := Curl(capt, "")
			out, err := runScript(t, cmd)
			if err != nil {
				t.Fatalf("sh: %v\n%s\ncommand:\n%s", err, out, short(cmd))
			}
			var r rawRequest
			select {
			case r = <-got:
			case <-time.After(20 * time.Second):
				t.Fatal("no request arrived")
			}
			if r.method != c.method {
				t.Errorf("method %q, want %q", r.method, c.method)
			}
			if want := "/webhook/a%20b?x=[1]&y={2}"; r.target != want {
				t.Errorf("target %q, want %q", r.target, want)
			}
			if !bytes.Equal(r.body, c.body) {
				t.Errorf("body differs: got %d bytes %q, want %d bytes %q\ncommand:\n%s", len(r.body), trunc(r.body), len(c.body), trunc(c.body), short(cmd))
			}
			// Exactly the captured headers, minus the ones never repeated,
			// plus what the transport itself must send: nothing of curl's.
			var want []string
			for k, vs := range c.headers {
				lk := strings.ToLower(k)
				if curlSkip[lk] || strings.HasPrefix(lk, "proxy-") {
					continue
				}
				for _, v := range vs {
					want = append(want, lk+": "+v)
				}
			}
			want = append(want, "host: "+addr)
			if len(c.body) > 0 || c.method == "POST" || c.method == "PUT" {
				want = append(want, "content-length: "+strconv.Itoa(len(c.body)))
			}
			slices.Sort(want)
			gotH := slices.Sorted(slices.Values(r.headers))
			if !slices.Equal(gotH, want) {
				t.Errorf("headers differ:\n got %q\nwant %q\ncommand:\n%s", gotH, want, short(cmd))
			}
			if !text.DisplaySafe(cmd, true) {
				t.Errorf("command is not safe to print:\n%q", short(cmd))
			}
		})
	}
}

// runScript runs cmd from a file, as a user pasting it or saving it would:
// a command line of over 128 KiB could not be passed as sh -c's argument.
func runScript(t testing.TB, cmd string) ([]byte, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cmd.sh")
	if err := os.WriteFile(path, []byte(cmd), 0o600); err != nil {
		t.Fatal(err)
	}
	return exec.Command("sh", path).CombinedOutput()
}

func short(s string) string {
	if len(s) > 3000 {
		return s[:1500] + "\n[…]\n" + s[len(s)-1500:]
	}
	return s
}

func trunc(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

func TestCurlLeavesOutWhatCannotBeSent(t *testing.T) {
	c := &Capture{
		Meta: Meta{Method: "POST", Target: "http://127.0.0.1:1/x"},
		Body: []byte("{}"), Headers: http.Header{
			"X-Crlf":         {"a\r\nInjected: yes"},
			"X-Nul":          {"a\x00b"},
			"Bad Name\n$(x)": {"v"},
			"X-Ok":           {"fine"},
		},
	}
	cmd := Curl(c, "")
	for _, bad := range []string{"Injected", "a\x00b", "\n$(x)"} {
		if strings.Contains(cmd, bad) {
			t.Errorf("command carries %q:\n%s", bad, cmd)
		}
	}
	for _, want := range []string{"# left out a X-Crlf header", "# left out a X-Nul header", `# left out header "Bad Name\n$(x)"`, "X-Ok: fine"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command lacks %q:\n%s", want, cmd)
		}
	}
}

func TestCurlTarget(t *testing.T) {
	c := &Capture{Meta: Meta{Method: "POST", Target: "http://127.0.0.1:8888/hook"}, Body: []byte("{}")}
	if cmd := Curl(c, "http://other:1/x"); !strings.Contains(cmd, "--url http://other:1/x\n") {
		t.Errorf("explicit target not used:\n%s", cmd)
	}
	if cmd := Curl(c, ""); !strings.Contains(cmd, "--url http://127.0.0.1:8888/hook\n") {
		t.Errorf("capture target not used:\n%s", cmd)
	}
	c.Target = ""
	cmd := Curl(c, "")
	if !strings.Contains(cmd, `"${TARGET:?`) {
		t.Errorf("no target: want $TARGET:\n%s", cmd)
	}
	out, err := runScript(t, cmd)
	if err == nil || !strings.Contains(string(out), "set TARGET") {
		t.Errorf("without TARGET the command should stop and say so: %v %s", err, out)
	}
	c.Target = "http://h/a b\x1b\n"
	if cmd := Curl(c, ""); !strings.Contains(cmd, "--url 'http://h/a%20b%1B%0A'") {
		t.Errorf("control characters in the URL not escaped:\n%s", cmd)
	}
}

// stubCurl runs cmd with curl replaced by a shell function that prints
// each argument NUL-terminated, then a NUL, then its stdin: whatever the
// shell actually passed.
func stubCurl(t testing.TB, cmd string) (args []string, stdin []byte) {
	t.Helper()
	script := `curl() { for a in "$@"; do printf '%s\0' "$a"; done; printf '\0'; cat; }
` + cmd
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatalf("sh: %v\ncommand:\n%q", err, cmd)
	}
	head, rest, ok := bytes.Cut(out, []byte("\x00\x00"))
	if !ok {
		t.Fatalf("stub output %q", out)
	}
	for _, a := range bytes.Split(head, []byte{0}) {
		args = append(args, string(a))
	}
	return args, rest
}

// FuzzCurl: whatever the body, header name and value and method, the shell
// passes curl exactly the intended words and stdin: no byte of them is
// read as shell syntax. An injection would add, split or change words.
func FuzzCurl(f *testing.F) {
	f.Add([]byte(`{"a":1}`), "X-Sig", "v1=abc", "POST")
	f.Add([]byte("$(touch x)`y`'\"\x00\xff\n"), "X-A", "'; id; '", "PUT")
	f.Add([]byte("@/etc/passwd"), "Bad Name", "\x1b[31m", "GET")
	f.Add([]byte{}, "X-E", "", "DELETE")
	f.Add([]byte("%s%n\\101\\"), "X-P", "%d\\x41$HOME", "P'ST")
	f.Add([]byte("-\x00n"), "X-D", "-\x01", "-\xaeqHX") // a leading dash: printf would take it for an option
	f.Fuzz(func(t *testing.T, body []byte, name, value, method string) {
		if len(body) > 1<<16 || len(value) > 1<<12 || method == "" || strings.ContainsAny(method, "\x00\r\n") {
			t.Skip()
		}
		for _, fixed := range []string{"Content-Type", "User-Agent", "Accept", "Expect"} {
			if strings.EqualFold(name, fixed) {
				t.Skip() // the map below would hold two spellings or lose one
			}
		}
		c := &Capture{
			Meta:    Meta{Method: method, Target: "http://127.0.0.1:1/h"},
			Body:    body,
			Headers: http.Header{name: {value}, "Content-Type": {"text/plain"}, "User-Agent": {"u"}, "Accept": {"a"}, "Expect": {"e"}},
		}
		args, stdin := stubCurl(t, Curl(c, ""))
		want := []string{"-q", "-sS", "-i", "--http1.1", "--globoff", "--path-as-is"}
		if method == http.MethodHead {
			want = append(want, "--head")
		} else {
			want = append(want, "-X", method)
		}
		hdr := map[string]string{"Accept": "a", "Content-Type": "text/plain", "Expect": "e", "User-Agent": "u"}
		if lk := strings.ToLower(name); text.IsToken(name) && !curlSkip[lk] && !strings.HasPrefix(lk, "proxy-") && !strings.ContainsAny(value, "\r\n\x00") {
			hdr[name] = value
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range hdr {
				if !yield(k) {
					return
				}
			}
		}) {
			if hdr[k] == "" {
				want = append(want, "-H", k+";")
			} else {
				want = append(want, "-H", k+": "+hdr[k])
			}
		}
		withBody := len(body) > 0 || method == "POST" || method == "PUT" || method == "PATCH"
		if withBody {
			if bytes.Equal(stdin, body) && len(body) > 0 {
				want = append(want, "--data-binary", "@-")
			} else {
				want = append(want, "--data-binary", string(body))
				if len(stdin) != 0 {
					t.Errorf("stdin %q though the body is an argument", stdin)
				}
			}
		}
		want = append(want, "--url", "http://127.0.0.1:1/h")
		if !slices.Equal(args, want) {
			t.Errorf("curl got\n%q\nwant\n%q\ncommand:\n%s", args, want, Curl(c, ""))
		}
	})
}

// validateHAR checks data against the HAR 1.2 spec: every required field
// present with its type, no field the spec does not name unless it starts
// with "_", and (as our own promise) non-negative timings that add up.
func validateHAR(data []byte) error {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	v := &harValidator{}
	log := v.object(doc, "", "log", true, nil)
	if log == nil {
		return v.errs()
	}
	v.known(doc, "", "log")
	v.known(log, "log", "version", "creator", "browser", "pages", "entries", "comment")
	if s := v.str(log, "log", "version", true); s != "1.2" {
		v.fail("log.version %q, want 1.2", s)
	}
	cr := v.object(log, "log", "creator", true, nil)
	if cr != nil {
		v.known(cr, "log.creator", "name", "version", "comment")
		v.str(cr, "log.creator", "name", true)
		v.str(cr, "log.creator", "version", true)
	}
	entries := v.array(log, "log", "entries", true)
	var prev time.Time
	for i, e := range entries {
		p := fmt.Sprintf("log.entries[%d]", i)
		em, ok := e.(map[string]any)
		if !ok {
			v.fail("%s is not an object", p)
			continue
		}
		v.known(em, p, "pageref", "startedDateTime", "time", "request", "response", "cache", "timings", "serverIPAddress", "connection", "comment")
		v.str(em, p, "pageref", false)
		ts := v.str(em, p, "startedDateTime", true)
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			v.fail("%s.startedDateTime %q: %v", p, ts, err)
		} else if t.Before(prev) {
			v.fail("%s is out of order", p)
		} else {
			prev = t
		}
		total := v.num(em, p, "time", true)
		if total < 0 {
			v.fail("%s.time is negative", p)
		}
		if rq := v.object(em, p, "request", true, nil); rq != nil {
			rp := p + ".request"
			v.known(rq, rp, "method", "url", "httpVersion", "cookies", "headers", "queryString", "postData", "headersSize", "bodySize", "comment")
			v.str(rq, rp, "method", true)
			if u := v.str(rq, rp, "url", true); u == "" {
				v.fail("%s.url is empty", rp)
			}
			v.str(rq, rp, "httpVersion", true)
			v.cookies(rq, rp)
			v.nvs(rq, rp, "headers")
			v.nvs(rq, rp, "queryString")
			if pd := v.object(rq, rp, "postData", false, nil); pd != nil {
				pp := rp + ".postData"
				v.known(pd, pp, "mimeType", "params", "text", "comment")
				v.str(pd, pp, "mimeType", true)
				v.str(pd, pp, "text", false)
				for j, pa := range v.array(pd, pp, "params", false) {
					pam, ok := pa.(map[string]any)
					if !ok {
						v.fail("%s.params[%d] is not an object", pp, j)
						continue
					}
					v.str(pam, pp+".params", "name", true)
				}
			}
			v.integer(rq, rp, "headersSize", true)
			v.integer(rq, rp, "bodySize", true)
		}
		if rs := v.object(em, p, "response", true, nil); rs != nil {
			rp := p + ".response"
			v.known(rs, rp, "status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize", "comment")
			v.integer(rs, rp, "status", true)
			v.str(rs, rp, "statusText", true)
			v.str(rs, rp, "httpVersion", true)
			v.cookies(rs, rp)
			v.nvs(rs, rp, "headers")
			if ct := v.object(rs, rp, "content", true, nil); ct != nil {
				cp := rp + ".content"
				v.known(ct, cp, "size", "compression", "mimeType", "text", "encoding", "comment")
				size := v.integer(ct, cp, "size", true)
				v.integer(ct, cp, "compression", false)
				v.str(ct, cp, "mimeType", true)
				text := v.str(ct, cp, "text", false)
				switch enc := v.str(ct, cp, "encoding", false); enc {
				case "":
					if utf8.RuneCountInString(text) > 0 && len(text) != size {
						v.fail("%s.size %d but text has %d bytes", cp, size, len(text))
					}
				case "base64":
					raw, err := base64.StdEncoding.DecodeString(text)
					if err != nil || len(raw) != size {
						v.fail("%s: base64 text does not decode to size %d bytes (%v)", cp, size, err)
					}
				default:
					v.fail("%s.encoding %q", cp, enc)
				}
			}
			v.str(rs, rp, "redirectURL", true)
			v.integer(rs, rp, "headersSize", true)
			v.integer(rs, rp, "bodySize", true)
		}
		if c := v.object(em, p, "cache", true, nil); c != nil {
			v.known(c, p+".cache", "beforeRequest", "afterRequest", "comment")
		}
		if tm := v.object(em, p, "timings", true, nil); tm != nil {
			tp := p + ".timings"
			v.known(tm, tp, "blocked", "dns", "connect", "send", "wait", "receive", "ssl", "comment")
			sum := 0.0
			for _, k := range []string{"send", "wait", "receive"} {
				n := v.num(tm, tp, k, true)
				if n < 0 {
					v.fail("%s.%s is negative", tp, k)
				}
				sum += n
			}
			for _, k := range []string{"blocked", "dns", "connect", "ssl"} {
				if n := v.num(tm, tp, k, false); n < -1 {
					v.fail("%s.%s below -1", tp, k)
				} else if n > 0 {
					sum += n
				}
			}
			if diff := sum - total; diff > 0.001 || diff < -0.001 {
				v.fail("%s.time %v is not the sum of the timings %v", p, total, sum)
			}
		}
	}
	return v.errs()
}

type harValidator struct{ problems []string }

func (v *harValidator) fail(format string, a ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, a...))
}

func (v *harValidator) errs() error {
	if len(v.problems) == 0 {
		return nil
	}
	return fmt.Errorf("invalid HAR:\n  %s", strings.Join(v.problems, "\n  "))
}

func (v *harValidator) known(m map[string]any, p string, names ...string) {
	for k := range m {
		if !slices.Contains(names, k) && !strings.HasPrefix(k, "_") {
			v.fail("%s has %q, which HAR 1.2 does not define (custom fields start with _)", p, k)
		}
	}
}

func (v *harValidator) get(m map[string]any, p, k string, required bool) (any, bool) {
	x, ok := m[k]
	if !ok && required {
		v.fail("%s lacks %q", p, k)
	}
	return x, ok
}

func (v *harValidator) object(m map[string]any, p, k string, required bool, _ any) map[string]any {
	x, ok := v.get(m, p, k, required)
	if !ok {
		return nil
	}
	o, isObj := x.(map[string]any)
	if !isObj {
		v.fail("%s.%s is %T, want an object", p, k, x)
	}
	return o
}

func (v *harValidator) array(m map[string]any, p, k string, required bool) []any {
	x, ok := v.get(m, p, k, required)
	if !ok {
		return nil
	}
	a, isArr := x.([]any)
	if !isArr {
		v.fail("%s.%s is %T, want an array", p, k, x)
	}
	return a
}

func (v *harValidator) str(m map[string]any, p, k string, required bool) string {
	x, ok := v.get(m, p, k, required)
	if !ok {
		return ""
	}
	s, isStr := x.(string)
	if !isStr {
		v.fail("%s.%s is %T, want a string", p, k, x)
	}
	return s
}

func (v *harValidator) num(m map[string]any, p, k string, required bool) float64 {
	x, ok := v.get(m, p, k, required)
	if !ok {
		return 0
	}
	n, isNum := x.(json.Number)
	if !isNum {
		v.fail("%s.%s is %T, want a number", p, k, x)
		return 0
	}
	f, err := n.Float64()
	if err != nil {
		v.fail("%s.%s: %v", p, k, err)
	}
	return f
}

func (v *harValidator) integer(m map[string]any, p, k string, required bool) int {
	x, ok := v.get(m, p, k, required)
	if !ok {
		return 0
	}
	n, isNum := x.(json.Number)
	if !isNum {
		v.fail("%s.%s is %T, want an integer", p, k, x)
		return 0
	}
	i, err := n.Int64()
	if err != nil {
		v.fail("%s.%s %s is not an integer", p, k, n)
	}
	return int(i)
}

func (v *harValidator) nvs(m map[string]any, p, k string) {
	for i, x := range v.array(m, p, k, true) {
		o, ok := x.(map[string]any)
		q := fmt.Sprintf("%s.%s[%d]", p, k, i)
		if !ok {
			v.fail("%s is not an object", q)
			continue
		}
		v.known(o, q, "name", "value", "comment")
		v.str(o, q, "name", true)
		v.str(o, q, "value", true)
	}
}

func (v *harValidator) cookies(m map[string]any, p string) {
	for i, x := range v.array(m, p, "cookies", true) {
		o, ok := x.(map[string]any)
		q := fmt.Sprintf("%s.cookies[%d]", p, i)
		if !ok {
			v.fail("%s is not an object", q)
			continue
		}
		v.known(o, q, "name", "value", "path", "domain", "expires", "httpOnly", "secure", "comment")
		v.str(o, q, "name", true)
		v.str(o, q, "value", true)
		v.str(o, q, "path", false)
		v.str(o, q, "domain", false)
		if e := v.str(o, q, "expires", false); e != "" {
			if _, err := time.Parse(time.RFC3339Nano, e); err != nil {
				v.fail("%s.expires: %v", q, err)
			}
		}
		for _, b := range []string{"httpOnly", "secure"} {
			if x, ok := o[b]; ok {
				if _, isBool := x.(bool); !isBool {
					v.fail("%s.%s is %T, want a bool", q, b, x)
				}
			}
		}
	}
}

func harCaptures() map[string]*Capture {
	t0 := time.Date(2026, 11, 26, 17, 0, 1, 234567891, time.UTC)
	return map[string]*Capture{
		"normal": {
			Meta: Meta{ID: "c_normal", Seq: 1, State: StateDone, ReceivedAt: t0, CompletedAt: t0.Add(3 * time.Millisecond),
				Method: "POST", Path: "/omega/{token}?q=1", Target: "http://localhost:8888/webhook?a=1&b=x%20y",
				EventID: "e1", EventType: "video.created", Status: 200, SentStatus: 200, Duration: 3100 * time.Microsecond},
			Headers:     http.Header{"Content-Type": {"application/json"}, "Cookie": {"s=1; t=2"}, "Host": {"abc.ngrok.app"}},
			Body:        []byte(`{"id":"e1","type":"video.created"}`),
			RespHeaders: http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"sid=abc; Path=/; HttpOnly; Secure; Expires=Wed, 09 Jun 2027 10:18:14 GMT"}, "Location": {"/next"}},
			RespBody:    []byte("ok\n"),
		},
		"failed": {
			Meta: Meta{ID: "c_failed", Seq: 2, State: StateDone, ReceivedAt: t0.Add(time.Second), Method: "POST", Path: "/omega/{token}",
				Target: "http://localhost:8888/webhook", Error: "dial tcp 127.0.0.1:8888: connection refused", SentStatus: 502,
				Duration: time.Millisecond, ReplayOf: "c_normal"},
			Body: []byte(`{}`),
		},
		"binary": {
			Meta: Meta{ID: "c_binary", Seq: 3, State: StateDone, ReceivedAt: t0.Add(2 * time.Second), Method: "POST", Path: "/omega/{token}",
				Target: "http://localhost:8888/webhook",
				Flags:  FlagNotJSON, Status: 500, Duration: -time.Second},
			Headers: http.Header{"X-Bad": {"\xff"}}, Body: []byte("\x00\xff\xfe binary"),
			RespBody: []byte("\xc3\x28"),
		},
		"empty": {
			Meta: Meta{ID: "c_empty", Seq: 4, State: StateDone, ReceivedAt: t0.Add(3 * time.Second), Method: "POST", Path: "/omega/{token}",
				Target: "http://localhost:8888/webhook", Status: 204},
		},
		"rejected": {
			Meta: Meta{ID: "c_rejected", Seq: 5, State: StateDone, ReceivedAt: t0.Add(4 * time.Second), Method: "GET", Path: "/nope",
				Flags: FlagRejected, RejectReason: "wrong path", SentStatus: 404},
			Headers: http.Header{"Host": {"abc.ngrok.app"}},
		},
		"pending": {
			Meta: Meta{ID: "c_pending", Seq: 6, State: StatePending, ReceivedAt: t0.Add(5 * time.Second), Method: "POST", Path: "/omega/{token}"},
			Body: []byte("{}"),
		},
	}
}

func TestWriteHARValid(t *testing.T) {
	caps := harCaptures()
	for name, c := range caps {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteHAR(&buf, []*Capture{c}, "omega-listen/1.2.3"); err != nil {
				t.Fatal(err)
			}
			if err := validateHAR(buf.Bytes()); err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
		})
	}

	all := []*Capture{caps["pending"], caps["empty"], caps["normal"], caps["rejected"], caps["binary"], caps["failed"]}
	var buf bytes.Buffer
	if err := WriteHAR(&buf, all, "omega-listen/1.2.3"); err != nil {
		t.Fatal(err)
	}
	if err := validateHAR(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Log struct {
			Creator harCreator
			Entries []map[string]any
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Log.Creator != (harCreator{"omega-listen", "1.2.3"}) {
		t.Errorf("creator %+v", doc.Log.Creator)
	}
	var ids []string
	for _, e := range doc.Log.Entries {
		ids = append(ids, e["_omega"].(map[string]any)["capture_id"].(string))
	}
	if want := []string{"c_normal", "c_failed", "c_binary", "c_empty", "c_rejected", "c_pending"}; !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}

	get := func(e map[string]any, path ...string) any {
		var x any = e
		for _, p := range path {
			switch y := x.(type) {
			case map[string]any:
				x = y[p]
			case []any:
				i, _ := strconv.Atoi(p)
				x = y[i]
			}
		}
		return x
	}
	normal, failed, binary, empty, rejected := doc.Log.Entries[0], doc.Log.Entries[1], doc.Log.Entries[2], doc.Log.Entries[3], doc.Log.Entries[4]
	checks := []struct {
		what string
		got  any
		want any
	}{
		{"started", normal["startedDateTime"], "2026-11-26T17:00:01.234Z"},
		{"time", normal["time"], 3.1},
		{"url", get(normal, "request", "url"), "http://localhost:8888/webhook?a=1&b=x%20y"},
		{"query", get(normal, "request", "queryString", "1", "value"), "x y"},
		{"cookie", get(normal, "request", "cookies", "1", "name"), "t"},
		{"post text", get(normal, "request", "postData", "text"), `{"id":"e1","type":"video.created"}`},
		{"post mime", get(normal, "request", "postData", "mimeType"), "application/json"},
		{"status", get(normal, "response", "status"), 200.0},
		{"statusText", get(normal, "response", "statusText"), "OK"},
		{"set-cookie", get(normal, "response", "cookies", "0", "httpOnly"), true},
		{"redirect", get(normal, "response", "redirectURL"), "/next"},
		{"resp text", get(normal, "response", "content", "text"), "ok\n"},
		{"event", get(normal, "_omega", "event_type"), "video.created"},
		{"failed status", get(failed, "response", "status"), 0.0},
		{"failed _error", failed["_error"], "dial tcp 127.0.0.1:8888: connection refused"},
		{"replay_of", get(failed, "_omega", "replay_of"), "c_normal"},
		{"binary post", get(binary, "request", "postData", "text"), base64.StdEncoding.EncodeToString([]byte("\x00\xff\xfe binary"))},
		{"binary post enc", get(binary, "request", "postData", "_encoding"), "base64"},
		{"binary resp enc", get(binary, "response", "content", "encoding"), "base64"},
		{"negative duration", get(binary, "timings", "wait"), 0.0},
		{"empty body size", get(empty, "request", "bodySize"), 0.0},
		{"empty resp size", get(empty, "response", "content", "size"), 0.0},
		{"rejected url", get(rejected, "request", "url"), "http://abc.ngrok.app/nope"},
		{"rejected _error", rejected["_error"], "rejected: wrong path"},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestWriteHAREmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHAR(&buf, nil, "omega-listen"); err != nil {
		t.Fatal(err)
	}
	if err := validateHAR(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"entries": []`) {
		t.Errorf("entries not an empty array:\n%s", buf.String())
	}
}

func TestValidateHARCatchesMistakes(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHAR(&buf, []*Capture{harCaptures()["normal"]}, "x/1"); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	for name, bad := range map[string]string{
		"missing field":   strings.Replace(good, `"redirectURL"`, `"redirectUrl"`, 1),
		"wrong type":      strings.Replace(good, `"headersSize": -1`, `"headersSize": "-1"`, 1),
		"unknown field":   strings.Replace(good, `"cache": {}`, `"cache": {}, "extra": 1`, 1),
		"bad version":     strings.Replace(good, `"1.2"`, `"1.1"`, 1),
		"bad time sum":    strings.Replace(good, `"time": 3.1`, `"time": 4`, 1),
		"not JSON":        good[:len(good)/2],
		"bad start":       strings.Replace(good, "2026-11-26T", "2026/11/26T", 1),
		"negative timing": strings.Replace(good, `"send": 0`, `"send": -1`, 1),
	} {
		if bad == good {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if validateHAR([]byte(bad)) == nil {
			t.Errorf("%s: validator accepted it", name)
		}
	}
}

func FuzzWriteHAR(f *testing.F) {
	f.Add([]byte(`{"a":1}`), []byte("ok"), "application/json", 200, "POST", "http://localhost:1/x?a=%zz&b", "", int64(1500))
	f.Add([]byte("\x00\xff"), []byte("\xc3("), "\xff\x00", 0, "", "", "refused", int64(-5))
	f.Add([]byte{}, []byte{}, "", 999, "GET", "\x00", "\u2028", int64(1<<62))
	f.Fuzz(func(t *testing.T, body, resp []byte, hv string, status int, method, target, errText string, dur int64) {
		c := &Capture{
			Meta: Meta{ID: "c_fuzz", Method: method, Target: target, Status: status, Error: errText,
				Duration: time.Duration(dur), ReceivedAt: time.Unix(0, dur).UTC(), State: StateDone},
			Body:        body,
			Headers:     http.Header{"Content-Type": {hv}, hv: {hv}, "Cookie": {hv}},
			RespHeaders: http.Header{"Set-Cookie": {hv}, "Location": {hv}, "Content-Type": {hv}}, RespBody: resp,
		}
		var buf bytes.Buffer
		if err := WriteHAR(&buf, []*Capture{c, c}, "omega-listen/"+hv); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(buf.Bytes()) {
			t.Fatalf("not JSON:\n%s", buf.String())
		}
		if err := validateHAR(buf.Bytes()); err != nil {
			t.Fatalf("%v\n%s", err, buf.String())
		}
	})
}

func TestWriteJSONL(t *testing.T) {
	caps := harCaptures()
	in := []*Capture{caps["normal"], caps["binary"], caps["empty"]}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, in); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(in) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(in), buf.String())
	}
	for i, l := range lines {
		var c struct {
			ID             string          `json:"id"`
			Status         int             `json:"status"`
			Body           json.RawMessage `json:"body"`
			RespBodyJSON   json.RawMessage `json:"response_body"`
			BodyB64        []byte          `json:"body_base64"`
			RespBodyBase64 []byte          `json:"response_body_base64"`
		}
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		body := []byte(c.Body)
		if body == nil {
			body = c.BodyB64
		}
		resp := []byte(c.RespBodyJSON)
		if resp == nil {
			resp = c.RespBodyBase64
		}
		if c.ID != in[i].ID || !bytes.Equal(body, in[i].Body) || !bytes.Equal(resp, in[i].RespBody) || c.Status != in[i].Status {
			t.Errorf("line %d round trip: %s", i, l)
		}
		// JSON bodies are JSON (jq reads into them), never base64.
		if json.Valid(in[i].Body) && (c.Body == nil || c.BodyB64 != nil) {
			t.Errorf("line %d: a JSON body was not written as JSON: %s", i, l)
		}
		if len(in[i].Body) > 0 && !json.Valid(in[i].Body) && c.BodyB64 == nil {
			t.Errorf("line %d: a non-JSON body was not base64: %s", i, l)
		}
	}
	var sawJSON bool
	for _, c := range in {
		sawJSON = sawJSON || json.Valid(c.Body)
	}
	if !sawJSON {
		t.Fatal("no capture with a JSON body in the test")
	}
}
