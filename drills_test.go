//go:build linux

package main

// Reliability and security drills (issue 7). Each Test function here runs
// the real binary (built by TestMain in e2e_test.go) or, where the binary
// cannot show what is measured, cli.Main in-process. The CI forms take a
// few seconds to half a minute each; the long forms are the same tests with
// a longer DRILL_SOAK (see scripts/drills.sh).
//
// The drills read /proc and use prlimit(2), so they are Linux-only.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

// ---------------------------------------------------------------------------
// Settings of the long forms.

// drillDuration reads a duration from env (e.g. DRILL_SOAK=30m), or ci.
func drillDuration(t *testing.T, env string, ci time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return ci
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a duration such as 30m", env, v)
	}
	return d
}

func drillInt(t *testing.T, env string, ci int) int {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return ci
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", env, v)
	}
	return n
}

// drillReport prints one "DRILL key=value ..." line that scripts/drills.sh
// collects.
func drillReport(t *testing.T, name string, kv ...any) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "DRILL %s", name)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	t.Log(b.String())
	if p := os.Getenv("DRILL_REPORT"); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintln(f, b.String())
			f.Close()
		}
	}
}

// drainLines reads the listener's stdout to its end, so a long run never
// blocks on a full pipe, and keeps every line for the escape check.
type lineSink struct {
	mu    sync.Mutex
	n     int
	lines []string
	keep  bool
	done  chan struct{}
}

func (p *listenerProc) drain(keep bool) *lineSink {
	s := &lineSink{keep: keep, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for l := range p.lines {
			s.mu.Lock()
			s.n++
			if s.keep || bytes.IndexByte([]byte(l), 0x1b) >= 0 {
				s.lines = append(s.lines, l)
			}
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *lineSink) text() string {
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// stop sends SIGINT and returns the exit code.
func (p *listenerProc) stop(d time.Duration) int {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("omega-listen did not exit within %v of SIGINT; stderr:\n%s", d, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// runToExit runs the binary to its end and returns its exit code and output.
func runToExit(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(cleanEnv(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("omega-listen %v did not exit within 60s; stderr:\n%s", args, e.String())
	}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	return cmd.ProcessState.ExitCode(), o.String(), e.String()
}

func openStoreAll(t *testing.T, dir string) *capture.Store {
	t.Helper()
	s, err := capture.Open(dir, capture.Options{Retain: -1})
	if err != nil {
		t.Fatalf("opening the store after the run: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------------------
// The local app: it can be up, slow, down (not listening) or broken (closes
// the connection mid-answer), and it counts what it receives by capture id.

type appMode int32

const (
	modeUp appMode = iota
	modeSlow
	modeDown
	modeBroken
)

func (m appMode) String() string { return [...]string{"up", "slow", "down", "broken"}[m] }

// appStatuses are what the app answers when up: never 502 or 504, so the
// sender can tell the app's answer from omega-listen's own.
var appStatuses = []int{200, 200, 200, 201, 202, 204, 400, 500}

type drillApp struct {
	t    *testing.T
	addr string
	mode atomic.Int32
	slow time.Duration // upper bound of a slow answer

	mu    sync.Mutex
	srv   *http.Server
	seen  map[string]int // capture id → requests received
	sent  map[string]int // capture id → status answered
	flaps int

	conns atomic.Int64 // open connections, each with a server goroutine
}

func newDrillApp(t *testing.T, slow time.Duration) *drillApp {
	a := &drillApp{t: t, slow: slow, seen: map[string]int{}, sent: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.addr = ln.Addr().String()
	a.serve(ln)
	t.Cleanup(func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.srv != nil {
			a.srv.Close()
		}
	})
	return a
}

func (a *drillApp) url() string { return "http://" + a.addr + "/hook" }

func (a *drillApp) serve(ln net.Listener) {
	a.srv = &http.Server{Handler: a, ConnState: func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			a.conns.Add(1)
		case http.StateHijacked, http.StateClosed:
			a.conns.Add(-1)
		}
	}}
	go a.srv.Serve(ln)
}

// setMode changes the app's behaviour; down closes its listener (and every
// connection), up again listens on the same address.
func (a *drillApp) setMode(m appMode) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := appMode(a.mode.Swap(int32(m)))
	if old == m {
		return
	}
	a.flaps++
	switch {
	case m == modeDown:
		a.srv.Close()
		a.srv = nil
	case old == modeDown:
		var ln net.Listener
		var err error
		for range 50 {
			if ln, err = net.Listen("tcp", a.addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			a.t.Errorf("app cannot listen on %s again: %v", a.addr, err)
			return
		}
		a.serve(ln)
	}
}

func (a *drillApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	id := r.Header.Get("Omega-Listen-Capture")
	status := appStatuses[mrand.IntN(len(appStatuses))]
	a.mu.Lock()
	a.seen[id]++
	a.sent[id] = status
	a.mu.Unlock()
	switch appMode(a.mode.Load()) {
	case modeSlow:
		time.Sleep(time.Duration(mrand.Int64N(int64(a.slow))))
	case modeBroken:
		// A promised body cut short: the app died mid-answer.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
				c.Close()
				return
			}
		}
	}
	w.Header().Set("X-Drill-Capture", id)
	w.WriteHeader(status)
	if status != 204 {
		io.WriteString(w, "app says "+strconv.Itoa(status)+"\n")
	}
}

func (a *drillApp) snapshot() (seen map[string]int, sent map[string]int, flaps int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps(a.seen), maps(a.sent), a.flaps
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ---------------------------------------------------------------------------
// The load generator. Every request carries ?drill=N, which the store keeps
// in the capture's Path, so each request can be found in the store whatever
// became of it.

type shotKind string

const (
	kEvent      shotKind = "event"
	kDup        shotKind = "duplicate"
	kSize       shotKind = "sized"
	kOversize   shotKind = "oversize"
	kBadJSON    shotKind = "invalid-json"
	kWrongPath  shotKind = "wrong-path"
	kWrongVerb  shotKind = "wrong-method"
	kSlowClient shotKind = "slow-client"
	kDying      shotKind = "dying-client"
)

type shot struct {
	n      int64
	kind   shotKind
	status int    // 0: no answer
	capID  string // the app's echo of Omega-Listen-Capture
	err    string
}

type loadGen struct {
	t       *testing.T
	hook    string // the secret URL
	base    string // scheme://host
	maxBody int
	client  *http.Client

	next atomic.Int64

	mu    sync.Mutex
	shots []*shot
	dups  [][]byte
	wg    sync.WaitGroup
	sem   chan struct{}
}

func newLoadGen(t *testing.T, hook string, maxBody int) *loadGen {
	u, err := url.Parse(hook)
	if err != nil {
		t.Fatal(err)
	}
	return &loadGen{
		t: t, hook: hook, base: u.Scheme + "://" + u.Host, maxBody: maxBody,
		client: &http.Client{
			Timeout:   60 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
		},
		sem: make(chan struct{}, 256),
	}
}

// kindOf spreads the kinds over the sequence so every one is sent often.
func kindOf(i int64) shotKind {
	switch i % 20 {
	case 0, 1, 2, 3, 4, 5, 17, 18:
		return kEvent
	case 6, 7:
		return kDup
	case 8, 9, 19:
		return kSize
	case 10:
		return kOversize
	case 11, 12:
		return kBadJSON
	case 13:
		return kWrongPath
	case 14:
		return kWrongVerb
	case 15:
		return kSlowClient
	default:
		return kDying
	}
}

// go sends one request of the given kind (or the next in the sequence when
// kind is "") in its own goroutine, at most cap(sem) at a time.
func (g *loadGen) fire(kind shotKind) {
	n := g.next.Add(1)
	if kind == "" {
		kind = kindOf(n)
	}
	s := &shot{n: n, kind: kind}
	g.mu.Lock()
	g.shots = append(g.shots, s)
	g.mu.Unlock()
	g.sem <- struct{}{}
	g.wg.Add(1)
	go func() {
		defer func() { <-g.sem; g.wg.Done() }()
		g.send(s)
	}()
}

func (g *loadGen) eventBody(n int64) []byte {
	types := omega.AllTypes()
	b, err := omega.SampleEvent(types[int(n)%len(types)], "ep_drill", "")
	if err != nil {
		g.t.Errorf("SampleEvent: %v", err)
	}
	return b
}

func (g *loadGen) send(s *shot) {
	q := "?drill=" + strconv.FormatInt(s.n, 10)
	method, target, ctype := http.MethodPost, g.hook+q, "application/json"
	var body []byte
	switch s.kind {
	case kEvent, kSlowClient, kDying:
		body = g.eventBody(s.n)
		if s.kind == kEvent {
			g.mu.Lock()
			if len(g.dups) < 64 {
				g.dups = append(g.dups, body)
			} else {
				g.dups[s.n%64] = body
			}
			g.mu.Unlock()
		}
	case kDup:
		g.mu.Lock()
		if len(g.dups) > 0 {
			body = g.dups[mrand.IntN(len(g.dups))]
		}
		g.mu.Unlock()
		if body == nil {
			body = g.eventBody(s.n)
		}
	case kSize:
		size := mrand.IntN(g.maxBody + 1)
		switch s.n % 100 {
		case 8:
			size = 0
		case 9:
			size = g.maxBody
		}
		body = bytes.Repeat([]byte{'x'}, size)
		ctype = "application/octet-stream"
	case kOversize:
		body = bytes.Repeat([]byte{'y'}, g.maxBody+1+mrand.IntN(1024))
	case kBadJSON:
		body = []byte(`{"type":"video.process_succeeded","id":` + strconv.FormatInt(s.n, 10) + `,"data":{`)
	case kWrongPath:
		target = g.base + "/omega/" + strings.Repeat("z", 22) + q
		if s.n%2 == 0 {
			target = g.base + "/" + q
		}
		body = g.eventBody(s.n)
	case kWrongVerb:
		method = []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch}[s.n%4]
		if method != http.MethodGet {
			body = g.eventBody(s.n)
		}
	}
	if s.kind == kDying {
		g.dying(s, target, body)
		return
	}
	var rd io.Reader = bytes.NewReader(body)
	if s.kind == kSlowClient {
		rd = &trickle{b: body, step: len(body)/8 + 1, pause: 100 * time.Millisecond}
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		g.t.Errorf("request %d: %v", s.n, err)
		return
	}
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "Omega-Webhooks/1.0 (drill)")
	resp, err := g.client.Do(req)
	if err != nil {
		g.mu.Lock()
		s.err = err.Error()
		g.mu.Unlock()
		return
	}
	_, rerr := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	g.mu.Lock()
	s.status = resp.StatusCode
	s.capID = resp.Header.Get("X-Drill-Capture")
	if rerr != nil {
		s.err = rerr.Error()
	}
	g.mu.Unlock()
}

// dying sends the head and part of the body, then hangs up.
func (g *loadGen) dying(s *shot, target string, body []byte) {
	u, _ := url.Parse(target)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		g.mu.Lock()
		s.err = err.Error()
		g.mu.Unlock()
		return
	}
	defer c.Close()
	var head string
	if s.n%2 == 0 {
		head = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", u.RequestURI(), u.Host, len(body))
		io.WriteString(c, head)
		c.Write(body[:len(body)/2])
	} else {
		head = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", u.RequestURI(), u.Host)
		io.WriteString(c, head)
		fmt.Fprintf(c, "%x\r\n%s", len(body), body[:len(body)/2])
	}
	time.Sleep(20 * time.Millisecond)
	g.mu.Lock()
	s.err = "hung up mid-body"
	g.mu.Unlock()
}

// trickle is a body sent a piece at a time, as a slow client sends it.
type trickle struct {
	b     []byte
	step  int
	pause time.Duration
}

func (r *trickle) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := copy(p[:min(len(p), r.step)], r.b)
	r.b = r.b[n:]
	return n, nil
}

func (g *loadGen) wait() {
	g.wg.Wait()
	g.client.CloseIdleConnections()
}

func (g *loadGen) all() []*shot {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*shot, len(g.shots))
	for i, s := range g.shots {
		c := *s
		out[i] = &c
	}
	return out
}

// run sends at rate per second, with a burst of burst events every 5 s,
// until stop is closed. pause, when it yields, stops sending until it
// yields again.
func (g *loadGen) run(rate, burst int, stop <-chan struct{}) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	bursts := time.NewTicker(5 * time.Second)
	defer bursts.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			g.fire("")
		case <-bursts.C:
			for range burst {
				g.fire(kEvent)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// The store check shared by the soak and the kill drill.

type storeCheck struct {
	sent, answered, stored, lost, dupStored, mismatched, died, diedStored int
	byKind                                                                map[shotKind]int
	byStatus                                                              map[int]int
}

func expectStatus(kind shotKind, status int) bool {
	switch kind {
	case kWrongPath:
		return status == 404
	case kWrongVerb:
		return status == 405
	case kOversize:
		return status == 413
	default:
		return slices.Contains(appStatuses, status) || status == 502 || status == 504
	}
}

// checkStore asserts that every answered shot is in the store exactly once
// with the status its sender was answered, and returns the counts.
func checkStore(t *testing.T, sums []capture.Summary, shots []*shot, seen map[string]int, appSent map[string]int) storeCheck {
	t.Helper()
	byNonce := map[int64][]capture.Summary{}
	for _, c := range sums {
		u, err := url.Parse(c.Path)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(u.Query().Get("drill"), 10, 64)
		if err != nil {
			continue
		}
		byNonce[n] = append(byNonce[n], c)
	}
	r := storeCheck{sent: len(shots), byKind: map[shotKind]int{}, byStatus: map[int]int{}}
	reported := 0
	report := func(format string, a ...any) {
		if reported++; reported <= 20 {
			t.Errorf(format, a...)
		}
	}
	for _, s := range shots {
		cs := byNonce[s.n]
		if len(cs) > 1 {
			r.dupStored++
			report("request %d (%s) is stored %d times", s.n, s.kind, len(cs))
		}
		if s.kind == kDying {
			r.died++
			if len(cs) == 1 {
				r.diedStored++
				if !cs[0].Flags.Has(capture.FlagRejected) {
					report("dying client %d stored as forwarded: %+v", s.n, cs[0])
				}
			}
			continue
		}
		if s.status == 0 {
			continue // never answered: nothing is promised
		}
		r.answered++
		r.byKind[s.kind]++
		r.byStatus[s.status]++
		if !expectStatus(s.kind, s.status) {
			report("request %d (%s) was answered %d", s.n, s.kind, s.status)
		}
		if len(cs) == 0 {
			r.lost++
			report("request %d (%s, answered %d) is missing from the store", s.n, s.kind, s.status)
			continue
		}
		r.stored++
		c := cs[0]
		if c.SentStatus != s.status || c.State != capture.StateDone {
			r.mismatched++
			report("request %d (%s) was answered %d but stored as %s/sent %d (status %d, error %q)", s.n, s.kind, s.status, c.State, c.SentStatus, c.Status, c.Error)
		}
		if s.capID != "" {
			if c.ID != s.capID {
				r.mismatched++
				report("request %d: the app saw capture %s, the store has %s", s.n, s.capID, c.ID)
			}
			if seen != nil && seen[s.capID] != 1 {
				report("request %d: the app received capture %s %d times", s.n, s.capID, seen[s.capID])
			}
			if appSent != nil && appSent[s.capID] != s.status {
				report("request %d: the app answered %d, the sender got %d", s.n, appSent[s.capID], s.status)
			}
		} else if slices.Contains(appStatuses, s.status) && s.kind != kWrongPath && s.kind != kWrongVerb && s.kind != kOversize {
			report("request %d (%s) got the app's %d without the app's capture echo", s.n, s.kind, s.status)
		}
	}
	for id, n := range seen {
		if n > 1 {
			report("the app received capture %s %d times", id, n)
		}
	}
	return r
}

// ---------------------------------------------------------------------------
// Process measurements.

type procSample struct {
	at         time.Duration
	rssKiB     int64
	threads    int64
	fds        int64
	goroutines int64 // in-process runs only
}

func (s procSample) String() string {
	if s.goroutines > 0 {
		return fmt.Sprintf("t=%5.1fs heap=%6dKiB fds=%4d goroutines=%5d", s.at.Seconds(), s.rssKiB, s.fds, s.goroutines)
	}
	return fmt.Sprintf("t=%5.1fs rss=%6dKiB threads=%3d fds=%4d", s.at.Seconds(), s.rssKiB, s.threads, s.fds)
}

func sampleProc(pid int) (procSample, error) {
	var s procSample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			s.rssKiB, _ = strconv.ParseInt(f[1], 10, 64)
		case "Threads:":
			s.threads, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = int64(len(fds))
	return s, nil
}

// ---------------------------------------------------------------------------
// Drill 1: soak.

// TestDrillSoak runs mixed traffic through the real binary while the app
// flaps between up, slow, broken and down, then checks that every request
// that got an answer is stored exactly once with that answer, and that
// RSS, threads and open fds stayed flat. DRILL_SOAK sets the length
// (default 30s), DRILL_RATE the steady requests per second (default 40).
func TestDrillSoak(t *testing.T) {
	dur := drillDuration(t, "DRILL_SOAK", 30*time.Second)
	rate := drillInt(t, "DRILL_RATE", 40)
	const maxBody = 256 << 10
	emu := newEmulator(t)
	app := newDrillApp(t, 1500*time.Millisecond)
	p := startListenerDir(t, filepath.Join(t.TempDir(), "data"), emuEnv(emu), "--tunnel", "none", "--forward", app.url(),
		"--format", "json", "--max-body", "256KiB", "--timeout", "1s", "--retain", "-1")
	sink := p.drain(false)
	pid := p.cmd.Process.Pid
	g := newLoadGen(t, p.webhookURL(), maxBody)

	start := time.Now()
	var (
		smu     sync.Mutex
		samples []procSample
	)
	interval := max(time.Second, dur/60)
	sample := func() procSample {
		s, err := sampleProc(pid)
		if err != nil {
			t.Fatalf("reading /proc of the listener: %v (stderr: %s)", err, p.stderr)
		}
		s.at = time.Since(start)
		smu.Lock()
		samples = append(samples, s)
		smu.Unlock()
		return s
	}
	startSample := sample()

	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(3)
	go func() { defer bg.Done(); g.run(rate, 50, stop) }()
	go func() { // the app flaps
		defer bg.Done()
		modes := []appMode{modeUp, modeSlow, modeUp, modeBroken, modeUp, modeDown}
		step := max(time.Second, min(5*time.Second, dur/30))
		for i := 1; ; i++ {
			select {
			case <-stop:
				app.setMode(modeUp)
				return
			case <-time.After(step):
				app.setMode(modes[i%len(modes)])
			}
		}
	}()
	go func() {
		defer bg.Done()
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				sample()
			}
		}
	}()

	// A quiet point after warm-up is the baseline: load paused, client
	// connections closed.
	warm := dur / 4
	time.Sleep(warm)
	quiet := func() procSample {
		g.wait()
		time.Sleep(1500 * time.Millisecond) // let the server see the closed connections
		return sample()
	}
	time.Sleep(dur - warm)
	close(stop)
	bg.Wait()
	end := quiet()

	smu.Lock()
	var peakRSS int64
	var warmMax procSample
	for _, s := range samples {
		peakRSS = max(peakRSS, s.rssKiB)
		if s.at <= warm+interval {
			warmMax.rssKiB = max(warmMax.rssKiB, s.rssKiB)
			warmMax.threads = max(warmMax.threads, s.threads)
			warmMax.fds = max(warmMax.fds, s.fds)
		}
	}
	var curve strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&curve, "\n  %s", s)
	}
	smu.Unlock()
	t.Logf("listener resources (pid %d):%s", pid, curve.String())

	if code := p.stop(60 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGINT; stderr:\n%s", code, p.stderr)
	}
	if out := sink.text(); out != "" {
		t.Errorf("stdout holds raw ESC bytes:\n%q", out)
	}

	st := openStoreAll(t, p.dataDir)
	sums, err := st.List(context.Background(), capture.Query{})
	if err != nil {
		t.Fatal(err)
	}
	seen, appSent, flaps := app.snapshot()
	r := checkStore(t, sums, g.all(), seen, appSent)
	if r.diedStored != r.died {
		t.Errorf("%d of %d dying clients are in the store as rejected; want all (what was received is recorded)", r.diedStored, r.died)
	}
	if r.answered < r.sent/2 {
		t.Errorf("only %d of %d requests were answered", r.answered, r.sent)
	}
	for _, k := range []shotKind{kEvent, kDup, kSize, kOversize, kBadJSON, kWrongPath, kWrongVerb, kSlowClient} {
		if r.byKind[k] == 0 {
			t.Errorf("no %s request was answered: the drill does not cover it", k)
		}
	}
	for _, st := range []int{502, 504, 200} {
		if r.byStatus[st] == 0 {
			t.Errorf("no request was answered %d: the app's flapping is not covered", st)
		}
	}

	// Flat: the end (at a quiet point) is within tolerance of the warm-up's
	// peak. A race-instrumented binary grows its shadow memory, so it gets
	// more room.
	rssTol := warmMax.rssKiB/2 + 32<<10
	if raceEnabled {
		rssTol = warmMax.rssKiB + 64<<10
	}
	if end.rssKiB > warmMax.rssKiB+rssTol {
		t.Errorf("RSS grew: %d KiB at the end, %d KiB peak during warm-up", end.rssKiB, warmMax.rssKiB)
	}
	if end.threads > warmMax.threads+16 {
		t.Errorf("threads grew: %d at the end, %d peak during warm-up", end.threads, warmMax.threads)
	}
	if end.fds > warmMax.fds+32 {
		t.Errorf("open fds grew: %d at the end, %d peak during warm-up", end.fds, warmMax.fds)
	}
	drillReport(t, "soak", "duration", dur, "rate", rate, "sent", r.sent, "answered", r.answered, "stored", r.stored,
		"lost", r.lost, "duplicates", r.dupStored, "mismatched", r.mismatched, "dying", r.died, "dying_stored", r.diedStored,
		"captures", len(sums), "app_flaps", flaps, "lines", sink.n,
		"rss_start_kib", startSample.rssKiB, "rss_peak_kib", peakRSS, "rss_end_kib", end.rssKiB,
		"threads_start", startSample.threads, "threads_end", end.threads, "fds_start", startSample.fds, "fds_end", end.fds,
		"statuses", fmt.Sprint(r.byStatus))
}

// TestDrillSoakGoroutines is the soak in-process (cli.Main with its own
// streams), where the goroutine count can be read: after the load, the
// count comes back to what it was after warm-up. DRILL_SOAK_INPROC sets the
// length (default 10s).
func TestDrillSoakGoroutines(t *testing.T) {
	dur := drillDuration(t, "DRILL_SOAK_INPROC", 10*time.Second)
	rate := drillInt(t, "DRILL_RATE", 40)
	emu := newEmulator(t)
	app := newDrillApp(t, 1500*time.Millisecond)
	dataDir := filepath.Join(t.TempDir(), "data")
	pr, pw := io.Pipe()
	sig := make(chan os.Signal, 2)
	env := map[string]string{"OMEGA_BASE_URL": emu.BaseURL, "OMEGA_API_KEY": emu.APIKey()}
	var stderr syncBuffer
	exit := make(chan int, 1)
	before := runtime.NumGoroutine()
	go func() {
		exit <- cli.Main([]string{"--data-dir", dataDir, "--tunnel", "none", "--forward", app.url(), "--format", "json",
			"--max-body", "256KiB", "--timeout", "1s", "--retain", "-1"},
			cli.Streams{In: strings.NewReader(""), Out: pw, Err: &stderr, Getenv: func(k string) string { return env[k] }, Signals: sig})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if !sc.Scan() {
		t.Fatalf("no ready line; stderr:\n%s", stderr.String())
	}
	var ready map[string]any
	if err := json.Unmarshal(sc.Bytes(), &ready); err != nil || ready["type"] != "ready" {
		t.Fatalf("first line %q; stderr:\n%s", sc.Text(), stderr.String())
	}
	lines := make(chan int)
	go func() {
		n := 0
		for sc.Scan() {
			n++
		}
		lines <- n
	}()
	g := newLoadGen(t, ready["webhook_url"].(string), 256<<10)

	// goroutines counts at a quiet point: the load paused and its
	// connections closed, so only the listener's own goroutines and the
	// test's fixed ones remain. The app runs in this process too: the
	// goroutines of its open connections (the listener keeps up to 256
	// idle ones to it, swept after a while) are not the listener's.
	quietCount := func() int {
		g.wait()
		best := runtime.NumGoroutine() - int(app.conns.Load())
		for range 30 {
			time.Sleep(100 * time.Millisecond)
			best = min(best, runtime.NumGoroutine()-int(app.conns.Load()))
		}
		return best
	}
	phase := func(d time.Duration, flap bool) {
		stop := make(chan struct{})
		var bg sync.WaitGroup
		bg.Add(1)
		go func() { defer bg.Done(); g.run(rate, 50, stop) }()
		if flap {
			modes := []appMode{modeSlow, modeUp, modeBroken, modeDown, modeUp}
			step := d / time.Duration(len(modes)+1)
			for _, m := range modes {
				time.Sleep(step)
				app.setMode(m)
			}
			time.Sleep(step)
		} else {
			time.Sleep(d)
		}
		close(stop)
		bg.Wait()
	}
	phase(dur/4, true)
	base := quietCount()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBase := ms.HeapInuse
	phase(dur-dur/4, true)
	end := quietCount()
	runtime.ReadMemStats(&ms)
	heapEnd := ms.HeapInuse
	t.Logf("goroutines: %d before the listener, %d after warm-up, %d at the end; heap in use %d KiB → %d KiB",
		before, base, end, heapBase>>10, heapEnd>>10)
	if end > base+16 {
		t.Errorf("goroutines grew from %d to %d", base, end)
	}

	sig <- os.Interrupt
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the listener did not stop; stderr:\n%s", stderr.String())
	}
	<-lines
	after := 0
	for range 50 {
		if after = runtime.NumGoroutine(); after <= before+8 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if after > before+8 {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutines: %d before the listener, %d after it exited\n%s", before, after, buf[:n])
	}
	st := openStoreAll(t, dataDir)
	sums, err := st.List(context.Background(), capture.Query{})
	if err != nil {
		t.Fatal(err)
	}
	seen, appSent, _ := app.snapshot()
	r := checkStore(t, sums, g.all(), seen, appSent)
	drillReport(t, "soak-inprocess", "duration", dur, "sent", r.sent, "answered", r.answered, "stored", r.stored, "lost", r.lost,
		"goroutines_before", before, "goroutines_warm", base, "goroutines_end", end, "goroutines_after_exit", after,
		"heap_warm_kib", heapBase>>10, "heap_end_kib", heapEnd>>10)
}

// ---------------------------------------------------------------------------
// Drill 2: faults.

// TestDrillKillMidBurstThenRestart SIGKILLs the listener in the middle of
// mixed traffic, starts it again on the same data dir, and checks that
// every request answered before the kill, and after the restart, is in the
// store once with its answer.
func TestDrillKillMidBurstThenRestart(t *testing.T) {
	emu := newEmulator(t)
	app := newDrillApp(t, 0)
	dataDir := filepath.Join(t.TempDir(), "data")
	args := []string{"--tunnel", "none", "--forward", app.url(), "--format", "json", "--max-body", "64KiB", "--retain", "-1"}
	p := startListenerDir(t, dataDir, emuEnv(emu), args...)
	p.drain(false)
	g := newLoadGen(t, p.webhookURL(), 64<<10)
	stop := make(chan struct{})
	ran := make(chan struct{})
	go func() { g.run(400, 100, stop); close(ran) }()
	// Kill in the middle of a burst, once plenty went through.
	deadline := time.Now().Add(20 * time.Second)
	for {
		answered := 0
		for _, s := range g.all() {
			if s.status != 0 {
				answered++
			}
		}
		if answered >= 300 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 100 {
		g.fire(kEvent)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	close(stop)
	<-ran
	g.wait()
	before := g.all()

	p2 := startListenerDir(t, dataDir, emuEnv(emu), args...)
	p2.drain(false)
	g2 := newLoadGen(t, p2.webhookURL(), 64<<10)
	g2.next.Store(g.next.Load() + 1000) // nonces stay unique across runs
	for range 40 {
		g2.fire("")
	}
	g2.wait()
	if code := p2.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d after restart; stderr:\n%s", code, p2.stderr)
	}
	st := openStoreAll(t, dataDir)
	sums, err := st.List(context.Background(), capture.Query{})
	if err != nil {
		t.Fatal(err)
	}
	seen, appSent, _ := app.snapshot()
	all := append(before, g2.all()...)
	r := checkStore(t, sums, all, seen, appSent)
	pending := 0
	for _, c := range sums {
		if c.State == capture.StatePending {
			pending++
		}
	}
	if r.answered < 300 {
		t.Errorf("only %d requests answered in all", r.answered)
	}
	drillReport(t, "kill-restart", "sent", r.sent, "answered", r.answered, "stored", r.stored, "lost", r.lost,
		"duplicates", r.dupStored, "pending_at_kill", pending, "captures", len(sums))
}

// setFileSizeLimit sets RLIMIT_FSIZE of process pid. A write past the limit
// fails with EFBIG, as one fails with ENOSPC on a full disk; unlike a
// read-only mode it stops root too (these drills run as root in CI), and it
// hits the files the store already has open. The Go runtime ignores
// SIGXFSZ, so the process lives on.
func setFileSizeLimit(t *testing.T, pid int, limit uint64) {
	t.Helper()
	lim := syscall.Rlimit{Cur: limit, Max: ^uint64(0)}
	if limit == ^uint64(0) {
		lim.Cur = ^uint64(0)
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_FSIZE), uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if e != 0 {
		t.Fatalf("prlimit(%d, RLIMIT_FSIZE, %d): %v", pid, limit, e)
	}
}

// postEvents sends n valid events to hook and returns, for each answered
// one, the capture id the app echoed.
func postEvents(t *testing.T, hook string, n int) (ids []string, statuses []int) {
	t.Helper()
	for i := range n {
		body, _ := omega.SampleEvent(omega.AllTypes()[i%len(omega.AllTypes())], "ep", "")
		resp, err := http.Post(hook, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ids = append(ids, resp.Header.Get("X-Drill-Capture"))
		statuses = append(statuses, resp.StatusCode)
	}
	return ids, statuses
}

// TestDrillDiskFullStillForwards fills the "disk" under a running listener
// (RLIMIT_FSIZE: every write that grows a file fails) and checks that
// deliveries are still forwarded and answered, that the failure is shown
// loudly on stderr, that nothing crashes, and that recording resumes once
// the disk has room again.
func TestDrillDiskFullStillForwards(t *testing.T) {
	emu := newEmulator(t)
	app := newDrillApp(t, 0)
	p := startListenerDir(t, filepath.Join(t.TempDir(), "data"), emuEnv(emu), "--tunnel", "none", "--forward", app.url(), "--format", "json")
	p.drain(false)
	pid := p.cmd.Process.Pid
	okIDs, _ := postEvents(t, p.webhookURL(), 5)

	setFileSizeLimit(t, pid, 1)
	fullIDs, fullStatus := postEvents(t, p.webhookURL(), 20)
	seen, appSent, _ := app.snapshot()
	for i, id := range fullIDs {
		if id == "" || seen[id] != 1 || fullStatus[i] != appSent[id] {
			t.Errorf("with the disk full, delivery %d: answered %d, app saw capture %q %d times", i, fullStatus[i], id, seen[id])
		}
	}
	const warning = "WARNING: captures are NOT being recorded"
	if got := strings.Count(p.stderr.String(), warning); got != 1 {
		t.Errorf("stderr says %q %d times, want once:\n%s", warning, got, p.stderr)
	}
	select {
	case <-p.done:
		t.Fatalf("the listener died with the disk full; stderr:\n%s", p.stderr)
	default:
	}

	setFileSizeLimit(t, pid, ^uint64(0))
	// The indexer may be backing off after SQLite's failure; recording
	// resumes with the next write either way.
	afterIDs, _ := postEvents(t, p.webhookURL(), 5)
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, p.stderr)
	}
	st := openStoreAll(t, p.dataDir)
	sums, err := st.List(context.Background(), capture.Query{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]capture.Summary{}
	for _, c := range sums {
		byID[c.ID] = c
	}
	for _, id := range append(okIDs, afterIDs...) {
		if c, ok := byID[id]; !ok || c.State != capture.StateDone {
			t.Errorf("capture %s, written while the disk had room, is missing or incomplete: %+v", id, c)
		}
	}
	storedDuring := 0
	for _, id := range fullIDs {
		if _, ok := byID[id]; ok {
			storedDuring++
		}
	}
	drillReport(t, "disk-full", "before", len(okIDs), "during", len(fullIDs), "during_stored", storedDuring, "after", len(afterIDs), "captures", len(sums))
	t.Logf("stderr:\n%s", p.stderr)
}

// TestDrillAppClosesMidBody: an app that hangs up mid-request or
// mid-answer gets Omega a 502 with a short text; the capture records the
// error, and the listener carries on.
func TestDrillAppClosesMidBody(t *testing.T) {
	var which atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj := w.(http.Hijacker)
		switch which.Load() {
		case 0: // reads half the request, then hangs up
			io.CopyN(io.Discard, r.Body, r.ContentLength/2)
			c, _, _ := hj.Hijack()
			c.Close()
		case 1: // promises 100 bytes, sends 7
			io.Copy(io.Discard, r.Body)
			c, _, _ := hj.Hijack()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
			c.Close()
		case 2: // resets the connection after the head
			io.Copy(io.Discard, r.Body)
			c, _, _ := hj.Hijack()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	emu := newEmulator(t)
	p := startListenerDir(t, filepath.Join(t.TempDir(), "data"), emuEnv(emu), "--tunnel", "none", "--forward", srv.URL, "--format", "json")
	p.drain(false)
	body := bytes.Repeat([]byte(`{"pad":"`+strings.Repeat("p", 1000)+`"}`), 1)
	for i := range 3 {
		which.Store(int32(i))
		resp, err := http.Post(p.webhookURL(), "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 502 || len(b) > 300 || !strings.HasPrefix(string(b), "omega-listen: ") ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("case %d: answered %d %q %q, want 502 with a short text", i, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	which.Store(3)
	if _, st := postEvents(t, p.webhookURL(), 1); st[0] != 200 {
		t.Errorf("after the app's hang-ups a delivery got %d", st[0])
	}
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, p.stderr)
	}
	caps, err := openStoreAll(t, p.dataDir).ListFull(context.Background(), capture.Query{})
	if err != nil || len(caps) != 4 {
		t.Fatalf("store holds %d captures, %v", len(caps), err)
	}
	for _, c := range caps[:3] {
		if c.SentStatus != 502 || c.Error == "" || c.Outcome() != capture.OutcomeFailed {
			t.Errorf("capture %s: sent %d, outcome %s, error %q; want 502, failed, the reason", c.ID, c.SentStatus, c.Outcome(), c.Error)
		}
	}
}

// failingOmega is the emulator behind a switch that fails chosen calls.
type failingOmega struct {
	emu     *emulator.Emulator
	srv     *httptest.Server
	fail    func(r *http.Request) int // status to fail with, or 0
	creates atomic.Int32
	deletes atomic.Int32
}

func newFailingOmega(t *testing.T, key string, fail func(r *http.Request) int) *failingOmega {
	f := &failingOmega{emu: emulator.New(emulator.Options{APIKey: key}), fail: fail}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/client/webhooks") {
			f.creates.Add(1)
		}
		if r.Method == http.MethodDelete {
			f.deletes.Add(1)
		}
		if st := f.fail(r); st != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(st)
			fmt.Fprintf(w, `{"message":"drill: %s"}`, http.StatusText(st))
			return
		}
		f.emu.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *failingOmega) env() []string {
	return []string{"OMEGA_BASE_URL=" + f.srv.URL + "/company", "OMEGA_API_KEY=" + f.emu.APIKey()}
}

// TestDrillOmegaFailsAtStart: Omega refusing or unreachable at start is a
// clear error and exit 1, with nothing left behind. Create is sent once:
// retrying it after a lost answer could register the endpoint twice.
func TestDrillOmegaFailsAtStart(t *testing.T) {
	cases := []struct {
		name   string
		status int
		want   []string
	}{
		{"unavailable", 503, []string{"registering the webhook endpoint with Omega", "503"}},
		{"key rejected", 401, []string{"registering the webhook endpoint with Omega", "key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFailingOmega(t, "omega_drill_"+randHex(16), func(r *http.Request) int {
				if r.Method == http.MethodPost {
					return tc.status
				}
				return 0
			})
			dataDir := filepath.Join(t.TempDir(), "data")
			code, out, errOut := runToExit(t, f.env(), "--data-dir", dataDir, "--tunnel", "none", "--forward", "8888", "--format", "json")
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(errOut), strings.ToLower(w)) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(out, `"ready"`) {
				t.Errorf("printed a ready line: %s", out)
			}
			if n := f.creates.Load(); n != 1 {
				t.Errorf("create was sent %d times, want 1", n)
			}
			if ents, _ := os.ReadDir(filepath.Join(dataDir, "sessions")); len(ents) != 0 {
				t.Errorf("a session file was left behind: %v", ents)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		code, _, errOut := runToExit(t, []string{"OMEGA_BASE_URL=http://" + addr + "/company", "OMEGA_API_KEY=omega_drill_x"},
			"--data-dir", filepath.Join(t.TempDir(), "data"), "--tunnel", "none", "--forward", "8888")
		if code != 1 || !strings.Contains(errOut, "could not be reached") || !strings.Contains(errOut, "--emulate") {
			t.Errorf("exit code %d, stderr:\n%s", code, errOut)
		}
	})
}

// TestDrillOmegaFailsAtExit: when the endpoint cannot be deleted at exit,
// stderr names it as left behind with the prune command.
func TestDrillOmegaFailsAtExit(t *testing.T) {
	f := newFailingOmega(t, "omega_drill_"+randHex(16), func(r *http.Request) int {
		if r.Method == http.MethodDelete {
			return 503
		}
		return 0
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p := startListenerDir(t, filepath.Join(t.TempDir(), "data"), f.env(), "--tunnel", "none", "--forward", srv.URL, "--format", "json")
	p.drain(false)
	id, _ := p.ready["endpoint_id"].(string)
	code := p.stop(60 * time.Second)
	errOut := p.stderr.String()
	if code != 0 {
		t.Errorf("exit code %d", code)
	}
	for _, w := range []string{"Could not delete endpoint " + id, "left behind", "omega-listen endpoints prune"} {
		if id == "" || !strings.Contains(errOut, w) {
			t.Errorf("stderr does not say %q:\n%s", w, errOut)
		}
	}
	if eps := f.emu.Endpoints(); len(eps) != 1 || eps[0].ID != id {
		t.Errorf("endpoints at Omega = %+v, want %s left", eps, id)
	}
	t.Logf("delete attempts: %d", f.deletes.Load())
}

// TestDrillPortInUse: a busy --listen address is a clear error and exit 1,
// before anything is registered.
func TestDrillPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	emu := newEmulator(t)
	code, _, errOut := runToExit(t, emuEnv(emu), "--data-dir", filepath.Join(t.TempDir(), "data"), "--tunnel", "none",
		"--forward", "8888", "--listen", ln.Addr().String())
	if code != 1 || !strings.Contains(errOut, ln.Addr().String()+" is already in use") || !strings.Contains(errOut, "--listen") {
		t.Errorf("exit code %d, stderr:\n%s", code, errOut)
	}
	if n := len(emu.Endpoints()); n != 0 {
		t.Errorf("%d endpoints registered although the receiver could not listen", n)
	}
}

// ---------------------------------------------------------------------------
// Drill 3: hostile input.

// rawExchange writes raw to addr and reads responses until the server
// closes the connection, or it has want of them and the server then stays
// silent for quiet. The wanted answers get a generous wait (the forward,
// under -race beside the other drills, can be slow); only the silence that
// says "the connection stayed open" is short, and slowness cannot fake it.
func rawExchange(t *testing.T, addr, raw string, want int, quiet time.Duration) (statuses []int, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for {
		wait := quiet
		if len(statuses) < want {
			wait = 30 * time.Second
		}
		c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return statuses, false
			}
			return statuses, true
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
}

// TestDrillSlowloris trickles request heads on many connections: the
// receiver drops each one after its header timeout (10 s), and serves a
// real delivery meanwhile.
func TestDrillSlowloris(t *testing.T) {
	t.Parallel()
	emu := newEmulator(t)
	app := newDrillApp(t, 0)
	p := startListenerDir(t, filepath.Join(t.TempDir(), "data"), emuEnv(emu), "--tunnel", "none", "--forward", app.url(), "--format", "json")
	p.drain(false)
	u, _ := url.Parse(p.webhookURL())
	const conns = 50
	const giveUp = 30 * time.Second
	var wg sync.WaitGroup
	dropped := make(chan time.Duration, conns)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			start := time.Now()
			closed := make(chan struct{})
			go func() { io.Copy(io.Discard, c); close(closed) }()
			io.WriteString(c, "POST "+u.Path+" HTTP/1.1\r\nHost: "+u.Host+"\r\nX-Slow: ")
			for time.Since(start) < giveUp {
				select {
				case <-closed:
					dropped <- time.Since(start)
					return
				case <-time.After(500 * time.Millisecond):
					if _, err := c.Write([]byte("a")); err != nil {
						<-closed
						dropped <- time.Since(start)
						return
					}
				}
			}
		}()
	}
	time.Sleep(time.Second)
	for i, st := range func() []int { _, st := postEvents(t, p.webhookURL(), 3); return st }() {
		if !slices.Contains(appStatuses, st) {
			t.Errorf("delivery %d during the slowloris got %d, not the app's answer", i, st)
		}
	}
	wg.Wait()
	close(dropped)
	var longest time.Duration
	n := 0
	for d := range dropped {
		n++
		longest = max(longest, d)
	}
	if n != conns {
		t.Errorf("%d of %d trickling connections were dropped within %v", n, conns, giveUp)
	}
	drillReport(t, "slowloris", "connections", conns, "dropped", n, "longest_s", longest.Round(100*time.Millisecond).Seconds())
	if code := p.stop(30 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestDrillOversizedHeaders: a head over 64 KiB is refused with 431 and
// not forwarded; one under it is delivered.
func TestDrillOversizedHeaders(t *testing.T) {
	t.Parallel()
	emu := newEmulator(t)
	app := newDrillApp(t, 0)
	p := startListenerDir(t, filepath.Join(t.TempDir(), "data"), emuEnv(emu), "--tunnel", "none", "--forward", app.url(), "--format", "json")
	p.drain(false)
	u, _ := url.Parse(p.webhookURL())
	body := `{"type":"x"}`
	head := func(extra string) string {
		return "POST " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\n" + extra +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	var many strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&many, "X-H%d: %s\r\n", i, strings.Repeat("v", 20))
	}
	cases := []struct {
		name  string
		extra string
		want  int
	}{
		{"one 80 KiB header", "X-Big: " + strings.Repeat("b", 80<<10) + "\r\n", 431},
		{"3000 headers", many.String(), 431},
		{"one 1 MiB header", "X-Huge: " + strings.Repeat("b", 1<<20) + "\r\n", 431},
		{"one 32 KiB header", "X-Ok: " + strings.Repeat("b", 32<<10) + "\r\n", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := rawExchange(t, u.Host, head(tc.extra), 1, time.Second)
			// 200 stands for "forwarded": any of the app's answers.
			if len(st) != 1 || st[0] != tc.want && !(tc.want == 200 && slices.Contains(appStatuses, st[0])) {
				t.Errorf("%s: answered %v, want %d", tc.name, st, tc.want)
			}
		})
	}
	seen, _, _ := app.snapshot()
	if len(seen) != 1 {
		t.Errorf("the app received %d requests, want only the one within the limit", len(seen))
	}
	if code := p.stop(30 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// TestDrillSmuggling sends the request-smuggling shapes. Ambiguous framing
// is refused (400, or 501 for a transfer coding net/http does not know),
// and nothing is forwarded as two requests: the "smuggled" request hidden
// in a body never reaches the app.
func TestDrillSmuggling(t *testing.T) {
	t.Parallel()
	emu := newEmulator(t)
	var (
		mu     sync.Mutex
		bodies []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	p := startListenerDir(t, filepath.Join(t.TempDir(), "data"), emuEnv(emu), "--tunnel", "none", "--forward", srv.URL, "--format", "json")
	p.drain(false)
	u, _ := url.Parse(p.webhookURL())
	h := "POST " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\n"
	smuggled := h + "Content-Length: 8\r\n\r\nSMUGGLED"
	cases := []struct {
		name string
		raw  string
		want []int // acceptable single answers
	}{
		{"conflicting Content-Length", h + "Content-Length: 4\r\nContent-Length: 40\r\n\r\nabcd" + smuggled, []int{400}},
		{"Content-Length list", h + "Content-Length: 4, 40\r\n\r\nabcd" + smuggled, []int{400}},
		{"signed Content-Length", h + "Content-Length: +4\r\n\r\nabcd" + smuggled, []int{400}},
		{"chunked with a garbage size", h + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabcd\r\n0\r\n\r\n" + smuggled, []int{400}},
		{"chunked with bare LF", h + "Transfer-Encoding: chunked\r\n\r\n4\nabcd\n0\n\n" + smuggled, []int{400}},
		{"unknown transfer coding", h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled, []int{400, 501}},
		{"chunked twice", h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, []int{400, 501}},
		{"space before colon", h + "Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\nabcd" + smuggled, []int{400}},
		{"obs-fold Transfer-Encoding", h + "Transfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\nabcd" + smuggled, []int{400}},
		{"two Hosts", h + "Host: other\r\nContent-Length: 4\r\n\r\nabcd" + smuggled, []int{400}},
		// net/http would serve this one with chunked framing, dropping the
		// Content-Length; the receiver's framing guard sees both and
		// refuses it, and closes the connection (RFC 9112 §6.1, §6.3).
		{"Content-Length and chunked", h + "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n" + smuggled, []int{400}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, closed := rawExchange(t, u.Host, tc.raw, 1, time.Second)
			if len(st) != 1 || !slices.Contains(tc.want, st[0]) || !closed {
				t.Errorf("%s: answered %v (connection closed: %v), want one of %v then close", tc.name, st, closed, tc.want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range bodies {
		if strings.Contains(b, "SMUGGLED") {
			t.Errorf("the smuggled request reached the app: %q", b)
		}
	}
	if len(bodies) != 0 {
		t.Errorf("the app received %d requests, want none: %q", len(bodies), bodies)
	}
	if code := p.stop(30 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// hasControl reports the first byte of s that a terminal would act on: C0
// controls but tab and newline, and DEL; with c1, also C1 controls (raw or
// UTF-8: some terminals take U+009B as CSI).
func hasControl(s string, c1 bool) (int, bool) {
	for i, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if r < 0x20 || r == 0x7f || c1 && r >= 0x80 && r <= 0x9f {
			return i, true
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b || c1 && s[i] == 0x9b {
			return i, true
		}
	}
	return 0, false
}

// TestDrillTerminalEscapes sends deliveries whose event type, id, headers,
// path and body carry ESC [ … and OSC sequences, in both output formats
// and with --debug: nothing the binary prints contains a C0 control byte
// (ESC included), nor, in text lines, a C1 one. (C1 in NDJSON:
// drills_pending_test.go.)
func TestDrillTerminalEscapes(t *testing.T) {
	t.Parallel()
	t.Run("text", func(t *testing.T) { terminalEscapeDrill(t, "text", true) })
	t.Run("json", func(t *testing.T) { terminalEscapeDrill(t, "json", false) })
}

func terminalEscapeDrill(t *testing.T, format string, c1 bool) {
	const csi, osc = "\x1b[31m", "\x1b]0;pwned\x07"
	evil := []string{
		// valid JSON: the escapes decode to ESC in the fields
		`{"id":"\u001b[2J\u001b[H","type":"video.process_succeeded\u001b]0;pwned\u0007","endpoint_id":"\u001b[31mep","created":"2026-01-01T00:00:00Z","data":{}}`,
		`{"id":"630fac88bd5bb64cf8b24b99","type":"` + "\u009b31m" + `video.deleted","data":{"title":"\u001b[5m"}}`,
		// not JSON: raw bytes
		"\x1b[31mraw" + osc + "\x9b2J\r\x08\x7f",
		`{"type":"` + csi + `video.deleted","id":"` + osc + `"}`,
	}
	emu := newEmulator(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The app answers with escapes too.
		w.Header().Set("X-App", "\x9b")
		w.WriteHeader(500)
		io.WriteString(w, csi+"app error"+osc)
	}))
	defer srv.Close()
	p := startListenerDirAny(t, filepath.Join(t.TempDir(), "data"), emuEnv(emu), "--tunnel", "none", "--forward", srv.URL,
		"--format", format, "--debug")
	sink := p.drain(true)
	hook := p.webhookURL()
	u, _ := url.Parse(hook)
	for _, b := range evil {
		req, _ := http.NewRequest(http.MethodPost, hook+"?q=%1b%5b31m", strings.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Evil", "\x9b31m\xc2\x9b")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Raw requests that net/http would not let a client build.
	for _, raw := range []string{
		"POST " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nX-Evil: " + csi + "\r\nContent-Length: 2\r\n\r\n{}",
		"POST /omega/" + csi + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Length: 2\r\n\r\n{}",
		"POST /omega/%1b%5b31m%1b]0;x%07 HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Length: 2\r\n\r\n{}",
		"GE\x1bT " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\n\r\n",
		"PUT " + u.Path + " HTTP/1.1\r\nHost: " + csi + "\r\nContent-Length: 2\r\n\r\n{}",
		"POST " + u.Path + " HTTP/1.1\r\nHost: \x9b" + u.Host + "\r\nUser-Agent: \xc2\x9b2J\r\nContent-Length: 2\r\n\r\n{}",
	} {
		rawExchange(t, u.Host, raw, 1, time.Second)
	}
	if code := p.stop(30 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
	out, errOut := sink.text(), p.stderr.String()
	if i, bad := hasControl(out, c1); bad {
		t.Errorf("stdout holds a control byte at %d: %q", i, out[max(0, i-40):min(len(out), i+40)])
	}
	if i, bad := hasControl(errOut, c1); bad {
		t.Errorf("stderr holds a control byte at %d: %q", i, errOut[max(0, i-40):min(len(errOut), i+40)])
	}
	if sink.n < len(evil) {
		t.Errorf("only %d lines printed:\n%s", sink.n, out)
	}
}

// startListenerDirAny is startListenerDir for either output format: the
// text Ready line names the public URL, not the secret one, so with text
// output the secret URL comes from the session file.
func startListenerDirAny(t *testing.T, dataDir string, env []string, args ...string) *listenerProc {
	t.Helper()
	p := startListenerDir(t, dataDir, env, args...)
	if p.ready == nil {
		si := readSession(t, dataDir)
		p.ready = map[string]any{"webhook_url": si["public_url"]}
	}
	return p
}

func readSession(t *testing.T, dataDir string) map[string]any {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dataDir, "sessions"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("sessions: %v %v", ents, err)
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "sessions", ents[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// ---------------------------------------------------------------------------
// Drill 4: secrets and exposure.

// grepTree returns the files under dir that contain any of secrets, and
// checks the modes: files 0600, dirs 0700.
func grepTree(t *testing.T, dir string, secrets ...string) (hits []string, files int) {
	t.Helper()
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed while we walked (a journal renamed)
			}
			return err
		}
		perm := fi.Mode().Perm()
		if fi.IsDir() && perm != 0o700 || fi.Mode().IsRegular() && perm != 0o600 {
			t.Errorf("%s has mode %v", path, perm)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				hits = append(hits, path+": "+s[:6]+"…")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits, files
}

// listeningAddrs returns the local addresses pid listens on (TCP, v4 and
// v6), from /proc.
func listeningAddrs(t *testing.T, pid int) []string {
	t.Helper()
	inodes := map[string]bool{}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) < 10 || fs[3] != "0A" || !inodes[fs[9]] {
				continue
			}
			out = append(out, decodeProcAddr(fs[1]))
		}
	}
	return out
}

// decodeProcAddr turns /proc/net/tcp's "0100007F:1F90" into "127.0.0.1:8080".
func decodeProcAddr(s string) string {
	hexIP, hexPort, _ := strings.Cut(s, ":")
	port, _ := strconv.ParseUint(hexPort, 16, 16)
	raw, _ := hex.DecodeString(hexIP)
	ip := make(net.IP, len(raw))
	for i := 0; i+4 <= len(raw); i += 4 { // each 32-bit word is little-endian
		ip[i], ip[i+1], ip[i+2], ip[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10))
}

func TestDecodeProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:0050":                         "0.0.0.0:80",
		"00000000000000000000000001000000:0016": "[::1]:22",
	} {
		t.Run(want, func(t *testing.T) {
			if got := decodeProcAddr(in); got != want {
				t.Errorf("decodeProcAddr(%s) = %s, want %s", in, got, want)
			}
		})
	}
}

// TestDrillSecretsNeverLeak runs the listener with an API key and an ngrok
// token in its environment (the token unused: --tunnel none), with --debug,
// through deliveries, bad requests and a failing app, and greps stdout,
// stderr and every file of the data dir (while running and after) for
// them. Modes: files 0600, dirs 0700. Every socket it listens on is on
// loopback.
func TestDrillSecretsNeverLeak(t *testing.T) {
	key := "omega_drill_key_" + randHex(16)
	ngrokToken := "2drillNgrokToken_" + randHex(16)
	app := newDrillApp(t, 0)

	check := func(t *testing.T, p *listenerProc, sink *lineSink, secrets []string, deliver func()) {
		for _, a := range listeningAddrs(t, p.cmd.Process.Pid) {
			host, _, _ := net.SplitHostPort(a)
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				t.Errorf("listens on %s, which is not loopback", a)
			}
		}
		if len(listeningAddrs(t, p.cmd.Process.Pid)) == 0 {
			t.Errorf("found no listening socket of pid %d in /proc", p.cmd.Process.Pid)
		}
		deliver()
		app.setMode(modeBroken)
		postEvents(t, p.webhookURL(), 2)
		app.setMode(modeUp)
		http.Get(p.webhookURL())
		http.Post(p.webhookURL()+"x", "application/json", strings.NewReader("{}"))
		if hits, _ := grepTree(t, p.dataDir, secrets...); len(hits) > 0 {
			t.Errorf("secrets in the data dir while running: %v", hits)
		}
		if code := p.stop(30 * time.Second); code != 0 {
			t.Errorf("exit code %d", code)
		}
		hits, files := grepTree(t, p.dataDir, secrets...)
		if len(hits) > 0 {
			t.Errorf("secrets in the data dir after exit: %v", hits)
		}
		out, errOut := sink.text(), p.stderr.String()
		for _, s := range secrets {
			if strings.Contains(out, s) || strings.Contains(errOut, s) {
				t.Errorf("secret %s… printed:\nstdout:\n%s\nstderr:\n%s", s[:6], out, errOut)
			}
		}
		if !strings.Contains(errOut, "level=DEBUG") && !strings.Contains(errOut, `"level":"DEBUG"`) {
			t.Logf("note: --debug printed no debug record:\n%s", errOut)
		}
		t.Logf("checked %d lines of stdout, %d bytes of stderr, %d files", sink.n, len(errOut), files)
	}

	t.Run("against Omega", func(t *testing.T) {
		emu, err := emulator.Start("", emulator.Options{APIKey: key})
		if err != nil {
			t.Fatal(err)
		}
		defer emu.Close()
		env := []string{"OMEGA_BASE_URL=" + emu.BaseURL, "OMEGA_API_KEY=" + key, "NGROK_AUTHTOKEN=" + ngrokToken}
		p := startListenerDir(t, filepath.Join(t.TempDir(), "data"), env, "--tunnel", "none", "--forward", app.url(), "--format", "json", "--debug")
		sink := p.drain(true)
		check(t, p, sink, []string{key, ngrokToken}, func() {
			for _, typ := range omega.AllTypes() {
				if _, err := emu.Deliver(context.Background(), typ); err != nil {
					t.Fatal(err)
				}
			}
		})
		// The other commands that hold the key.
		for _, args := range [][]string{{"endpoints", "list"}, {"events", "list"}, {"captures", "list"}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				_, o, e := runToExit(t, env, append(args, "--data-dir", p.dataDir, "--debug")...)
				if strings.Contains(o+e, key) || strings.Contains(o+e, ngrokToken) {
					t.Errorf("%v printed a secret:\n%s%s", args, o, e)
				}
			})
		}
	})
	t.Run("emulated", func(t *testing.T) {
		env := []string{"OMEGA_API_KEY=" + key, "NGROK_AUTHTOKEN=" + ngrokToken}
		p := startListenerDir(t, filepath.Join(t.TempDir(), "data"), env, "--emulate", "--forward", app.url(), "--format", "json", "--debug")
		sink := p.drain(true)
		check(t, p, sink, []string{key, ngrokToken}, func() {
			// trigger exits 1 when the app answers non-2xx, which this app
			// does at random: what matters is that both were delivered.
			out, _ := exec.Command(binPath, "trigger", "video.process_succeeded", "video.deleted", "--data-dir", p.dataDir).CombinedOutput()
			if strings.Count(string(out), "Omega (emulator) delivered") != 2 {
				t.Fatalf("trigger did not deliver both events:\n%s", out)
			}
		})
	})
}

// NDJSON (--format json) carries no C1 control characters either
// (U+0080–U+009F; U+009B is CSI to some terminals): encoding/json escapes
// only C0, so the printer escapes the rest. A drill found it.
func TestDrillNoC1ControlsInNDJSON(t *testing.T) {
	terminalEscapeDrill(t, "json", true)
}
