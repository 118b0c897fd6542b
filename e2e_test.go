package main

// End-to-end tests: they build the real binary and run it against the
// Omega emulator and httptest apps, as a user would.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "omega-listen-e2e-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "omega-listen")
	args := []string{"build", "-o", binPath}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building omega-listen: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// appRecorder is the developer's local app: it records every request.
type appRecorder struct {
	mu   sync.Mutex
	reqs []appRequest
}

type appRequest struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

func (a *appRecorder) add(r *http.Request) appRequest {
	body, _ := io.ReadAll(r.Body)
	req := appRequest{r.Method, r.URL.Path, r.Header.Clone(), body}
	a.mu.Lock()
	a.reqs = append(a.reqs, req)
	a.mu.Unlock()
	return req
}

func (a *appRecorder) all() []appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]appRequest(nil), a.reqs...)
}

// listenerProc is a running omega-listen.
type listenerProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	lines   chan string
	stderr  *syncBuffer
	dataDir string
	ready   map[string]any
	done    chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startListener runs the binary with args (plus a private data dir and
// NDJSON output unless args say otherwise) and waits for its ready line.
func startListener(t *testing.T, env []string, args ...string) *listenerProc {
	t.Helper()
	return startListenerDir(t, filepath.Join(t.TempDir(), "data"), env, args...)
}

// startListenerDir is startListener on a given data dir, so that a second
// run can use the first one's.
func startListenerDir(t *testing.T, dataDir string, env []string, args ...string) *listenerProc {
	t.Helper()
	p := &listenerProc{t: t, lines: make(chan string, 10000), stderr: &syncBuffer{}, done: make(chan struct{}), dataDir: dataDir}
	args = append([]string{"--data-dir", p.dataDir}, args...)
	p.cmd = exec.Command(binPath, args...)
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	first := p.next(30 * time.Second)
	if strings.HasPrefix(first, "{") {
		if err := json.Unmarshal([]byte(first), &p.ready); err != nil || p.ready["type"] != "ready" {
			t.Fatalf("first line is not the ready object: %q (stderr: %s)", first, p.stderr)
		}
	} else if !strings.HasPrefix(first, "Ready! ") {
		t.Fatalf("first line is not the Ready line: %q (stderr: %s)", first, p.stderr)
	}
	return p
}

func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OMEGA_") || strings.HasPrefix(kv, "NGROK_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// next returns the next stdout line, failing the test after d.
func (p *listenerProc) next(d time.Duration) string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("omega-listen exited; stderr:\n%s", p.stderr)
		}
		return l
	case <-time.After(d):
		p.t.Fatalf("no output line within %v; stderr:\n%s", d, p.stderr)
	}
	return ""
}

// nextJSON returns the next NDJSON line of the given type.
func (p *listenerProc) nextJSON(typ string) map[string]any {
	p.t.Helper()
	for {
		l := p.next(20 * time.Second)
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			p.t.Fatalf("line is not JSON: %q", l)
		}
		if m["type"] == typ {
			return m
		}
	}
}

func (p *listenerProc) webhookURL() string { return p.ready["webhook_url"].(string) }

// interrupt sends SIGINT and waits for a clean exit.
func (p *listenerProc) interrupt() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("omega-listen did not exit after SIGINT; stderr:\n%s", p.stderr)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("exit code %d after SIGINT; stderr:\n%s", code, p.stderr)
	}
}

func newEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	emu, err := emulator.Start("", emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

func emuEnv(emu *emulator.Server) []string {
	return []string{"OMEGA_BASE_URL=" + emu.BaseURL, "OMEGA_API_KEY=" + emu.APIKey()}
}

func openStore(t *testing.T, dir string) *capture.Store {
	t.Helper()
	s, err := capture.Open(dir, capture.Options{})
	if err != nil {
		t.Fatalf("opening the store after the run: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestE2EDeliveryIsForwardedByteExactAndHistoryShowsTheAnswer(t *testing.T) {
	emu := newEmulator(t)
	app := &appRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.add(r)
		w.Header().Set("X-App", "yes")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "queued by the app\n")
	}))
	defer srv.Close()

	p := startListener(t, emuEnv(emu), "--tunnel", "none", "--forward", srv.URL+"/hooks/omega", "--format", "json",
		"-e", "video.process_succeeded,video.deleted", "-H", "X-Extra: 1")
	eps := emu.Endpoints()
	if len(eps) != 1 || eps[0].URL != p.webhookURL() || !strings.HasPrefix(eps[0].Desc(), "omega-listen ") {
		t.Fatalf("endpoints after start = %+v, want one tagged for %s", eps, p.webhookURL())
	}
	if got := strings.Join(eps[0].Events, ","); got != "video.process_succeeded,video.deleted" {
		t.Errorf("subscribed events = %s", got)
	}

	ds, err := emu.Deliver(context.Background(), omega.TypeProcessSucceeded)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Deliver = %v, %v", ds, err)
	}
	line := p.nextJSON("delivery")
	if line["event_id"] != ds[0].EventID || line["event_type"] != omega.TypeProcessSucceeded || line["status"] != float64(202) || line["outcome"] != "ok" {
		t.Errorf("delivery line = %v", line)
	}

	hist := emu.History(eps[0].ID)
	if len(hist) != 1 {
		t.Fatalf("history has %d events", len(hist))
	}
	resp := hist[0].Response
	if resp == nil || resp.StatusCode != 202 || resp.Body != "queued by the app\n" || resp.Status != "202 Accepted" {
		t.Errorf("Omega's history shows %+v, want the app's 202 and body", resp)
	}

	reqs := app.all()
	if len(reqs) != 1 {
		t.Fatalf("app got %d requests", len(reqs))
	}
	got := reqs[0]
	sent, err := json.Marshal(json.RawMessage(hist[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		ID   string          `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(got.Body, &env); err != nil || env.ID != ds[0].EventID {
		t.Fatalf("app body is not the event: %v %q", err, got.Body)
	}
	if !bytes.Equal(compact(t, env.Data), compact(t, sent)) {
		t.Errorf("data differs:\napp  %s\nomega %s", env.Data, sent)
	}
	if got.Path != "/hooks/omega" || got.Header.Get("User-Agent") != "Omega-Webhooks/1.0 (emulator)" ||
		got.Header.Get("Content-Type") != "application/json" || got.Header.Get("X-Extra") != "1" ||
		got.Header.Get("Omega-Listen-Capture") != line["capture_id"] {
		t.Errorf("app saw path %q headers %v", got.Path, got.Header)
	}

	// Byte-exact: what the store recorded as received is what the app got.
	p.interrupt()
	st := openStore(t, p.dataDir)
	c, err := st.Get(context.Background(), line["capture_id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Body, got.Body) || c.Status != 202 || string(c.RespBody) != "queued by the app\n" {
		t.Errorf("capture body equal=%v status=%d resp=%q", bytes.Equal(c.Body, got.Body), c.Status, c.RespBody)
	}
	if len(emu.Endpoints()) != 0 {
		t.Errorf("endpoint not deleted at exit: %+v", emu.Endpoints())
	}
	if !strings.Contains(p.stderr.String(), "Deleted endpoint "+eps[0].ID) {
		t.Errorf("stderr does not report the deletion:\n%s", p.stderr)
	}
}

func compact(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("compact %q: %v", b, err)
	}
	return buf.Bytes()
}

func TestE2ETextLines(t *testing.T) {
	emu := newEmulator(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	p := startListener(t, emuEnv(emu), "--tunnel", "none", "--forward", srv.URL+"/webhook")
	ds, _ := emu.Deliver(context.Background(), omega.TypeProcessFailed)
	in := p.next(20 * time.Second)
	out := p.next(20 * time.Second)
	wantIn := "  --> video.process_failed [" + ds[0].EventID + "]"
	if !strings.HasSuffix(in, wantIn) || !isTimestamp(in) {
		t.Errorf("received line = %q, want timestamp + %q", in, wantIn)
	}
	wantOut := "  <-- [200] POST " + srv.URL + "/webhook [" + ds[0].EventID + "] "
	if !strings.Contains(out, wantOut) || !isTimestamp(out) {
		t.Errorf("answer line = %q, want %q", out, wantOut)
	}
	p.interrupt()
}

func isTimestamp(line string) bool {
	_, err := time.ParseInLocation("2006-01-02 15:04:05", line[:min(19, len(line))], time.Local)
	return err == nil
}

func TestE2EKeepLeavesEndpoint(t *testing.T) {
	emu := newEmulator(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p := startListener(t, emuEnv(emu), "--tunnel", "none", "--forward", srv.URL, "--keep")
	p.interrupt()
	if n := len(emu.Endpoints()); n != 1 {
		t.Errorf("with --keep, %d endpoints remain, want 1", n)
	}
}

func TestE2EDeadAppGets502AndListenerKeepsRunning(t *testing.T) {
	emu := newEmulator(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // connection refused from now on

	p := startListener(t, emuEnv(emu), "--tunnel", "none", "--forward", deadURL+"/webhook", "--format", "json")
	ds, _ := emu.Deliver(context.Background(), omega.TypeProcessSucceeded)
	line := p.nextJSON("delivery")
	if line["outcome"] != "failed" || line["sent_status"] != float64(502) || !strings.Contains(fmt.Sprint(line["error"]), "refused") {
		t.Errorf("delivery line = %v", line)
	}
	hist := emu.History(ds[0].EndpointID)
	if len(hist) != 1 || hist[0].Response.StatusCode != 502 || !strings.Contains(hist[0].Response.Body, "could not reach") {
		t.Errorf("Omega's history = %+v", hist[0].Response)
	}
	// Still serving: a second delivery gets an answer too.
	emu.Deliver(context.Background(), omega.TypeProcessSucceeded)
	if l := p.nextJSON("delivery"); l["sent_status"] != float64(502) {
		t.Errorf("second delivery line = %v", l)
	}
	p.interrupt()
	st := openStore(t, p.dataDir)
	caps, err := st.ListFull(context.Background(), capture.Query{})
	if err != nil || len(caps) != 2 {
		t.Fatalf("store holds %d captures, %v", len(caps), err)
	}
	for _, c := range caps {
		if c.Outcome() != capture.OutcomeFailed || c.Error == "" {
			t.Errorf("capture %s outcome %s error %q", c.ID, c.Outcome(), c.Error)
		}
	}
}

func TestE2EBadRequestsAreRefusedRecordedAndHarmless(t *testing.T) {
	emu := newEmulator(t)
	app := &appRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { app.add(r) }))
	defer srv.Close()
	p := startListener(t, emuEnv(emu), "--tunnel", "none", "--forward", srv.URL, "--format", "json")
	hook := p.webhookURL()
	base := hook[:strings.Index(hook, "/omega/")]

	post := func(url, ctype string, body io.Reader) *http.Response {
		t.Helper()
		resp, err := http.Post(url, ctype, body)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := post(base+"/omega/not-the-token", "application/json", strings.NewReader("{}")); r.StatusCode != 404 {
		t.Errorf("wrong path: %d, want 404", r.StatusCode)
	}
	resp, err := http.Get(hook)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow=%q, want 405 POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if r := post(hook, "application/json", bytes.NewReader(bytes.Repeat([]byte("a"), 11<<20))); r.StatusCode != 413 {
		t.Errorf("11 MiB: %d, want 413", r.StatusCode)
	}
	if r := post(hook, "text/plain", strings.NewReader("hello, not json")); r.StatusCode != 200 {
		t.Errorf("non-JSON: %d, want the app's 200", r.StatusCode)
	}
	reqs := app.all()
	if len(reqs) != 1 || string(reqs[0].Body) != "hello, not json" || reqs[0].Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("app got %d requests: %+v", len(reqs), reqs)
	}
	// Each left a line, and the listener still serves real deliveries.
	kinds := map[string]int{}
	for range 4 {
		l := p.nextJSON2()
		kinds[l["type"].(string)]++
	}
	if kinds["rejected"] != 3 || kinds["delivery"] != 1 {
		t.Errorf("lines by type = %v, want 3 rejected and 1 delivery", kinds)
	}
	emu.Deliver(context.Background(), omega.TypeProcessSucceeded)
	if l := p.nextJSON("delivery"); l["outcome"] != "ok" {
		t.Errorf("delivery after bad requests: %v", l)
	}
	p.interrupt()

	st := openStore(t, p.dataDir)
	caps, err := st.ListFull(context.Background(), capture.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var rejected, notJSON, ok int
	for _, c := range caps {
		switch {
		case c.Flags.Has(capture.FlagRejected):
			rejected++
		case c.Flags.Has(capture.FlagNotJSON):
			notJSON++
		case c.Outcome() == capture.OutcomeOK:
			ok++
		}
	}
	if rejected != 3 || notJSON != 1 || ok != 1 {
		t.Errorf("store: %d rejected, %d not-JSON, %d ok; want 3, 1, 1", rejected, notJSON, ok)
	}
}

// nextJSON2 returns the next NDJSON line whatever its type.
func (p *listenerProc) nextJSON2() map[string]any {
	p.t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(p.next(20*time.Second)), &m); err != nil {
		p.t.Fatal(err)
	}
	return m
}

func TestE2EEmulateAndTrigger(t *testing.T) {
	app := &appRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.add(r)
		io.WriteString(w, "webhook received\n")
	}))
	defer srv.Close()
	p := startListener(t, nil, "--emulate", "--forward", srv.URL+"/webhook")
	out, err := exec.Command(binPath, "trigger", "video.process_succeeded", "video.process_failed", "--data-dir", p.dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("trigger: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "Omega (emulator) delivered"); n != 2 || !strings.Contains(string(out), "→ 200 OK") {
		t.Errorf("trigger printed:\n%s", out)
	}
	if n := len(app.all()); n != 2 {
		t.Errorf("app got %d deliveries, want 2", n)
	}
	p.interrupt()
	// With the listener gone, trigger says what to do.
	out, err = exec.Command(binPath, "trigger", "video.process_succeeded", "--data-dir", p.dataDir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no omega-listen is running") || !strings.Contains(string(out), "--emulate") {
		t.Errorf("trigger without a listener: %v\n%s", err, out)
	}
}

func TestE2EStoreAndSessionFilesArePrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p := startListener(t, nil, "--emulate", "--forward", srv.URL)
	check := func() {
		err := filepath.Walk(p.dataDir, func(path string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			perm := fi.Mode().Perm()
			if fi.IsDir() && perm != 0o700 || !fi.IsDir() && perm != 0o600 {
				t.Errorf("%s has mode %v", path, perm)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check()
	p.interrupt()
	check()
}

// The crash test: SIGKILL mid-load leaves a store that opens and holds
// every delivery whose sender got an answer.
func TestE2EKillMidLoadLosesNothingAnswered(t *testing.T) {
	emu := newEmulator(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	p := startListener(t, emuEnv(emu), "--tunnel", "none", "--forward", srv.URL, "--format", "json")
	hook := p.webhookURL()

	var (
		mu       sync.Mutex
		answered []string // event ids whose sender got an answer
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body, _ := omega.SampleEvent(omega.TypeProcessSucceeded, "ep", "")
				var ev struct{ ID string }
				json.Unmarshal(body, &ev)
				resp, err := client.Post(hook, "application/json", bytes.NewReader(body))
				if err != nil {
					return // the listener is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					answered = append(answered, ev.ID)
					mu.Unlock()
				}
			}
		}()
	}
	// Kill once a good number of senders got their answer. (Counting the
	// listener's delivery lines is not the same: a line can be printed
	// before its answer reaches the sender, which once made 200 lines
	// mean 199 answers.)
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(answered)
		mu.Unlock()
		if n >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d deliveries answered in 20s; stderr:\n%s", n, p.stderr)
		}
		time.Sleep(time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	close(stop)
	wg.Wait()

	st := openStore(t, p.dataDir)
	caps, err := st.ListFull(context.Background(), capture.Query{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]*capture.Capture{}
	for _, c := range caps {
		stored[c.EventID] = c
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range answered {
		c, ok := stored[id]
		if !ok {
			t.Errorf("answered delivery %s is missing from the store", id)
			continue
		}
		if c.State != capture.StateDone || c.Status != 200 {
			t.Errorf("answered delivery %s stored as %s/%d", id, c.State, c.Status)
		}
	}
	t.Logf("%d answered before SIGKILL, %d in the store", len(answered), len(caps))
}
