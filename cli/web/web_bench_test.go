package web_test

// Benchmarks of the web inspector in real headless Chromium (see
// web/browser_test.go for what they need). Run them one at a time:
//
//	go test -run '^$' -bench BenchmarkWebFirstRows -benchtime 5x ./cli
//	go test -run '^$' -bench BenchmarkWebLiveLoad -benchtime 1x ./cli   # OMEGA_LISTEN_BENCH_SECONDS=20 by default
//	go test -run '^$' -bench BenchmarkWebPageMemory -benchtime 1x ./cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/web"
)

// benchBrowser starts headless Chromium with a fresh profile.
func benchBrowser(b testing.TB) context.Context {
	b.Helper()
	path := os.Getenv("OMEGA_LISTEN_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		b.Fatalf("the web inspector's browser tests and benchmarks need headless Chromium: %v (install Debian's chromium package, or set OMEGA_LISTEN_CHROMIUM)", err)
	}
	// A loaded machine now and then sees Chromium exit before it is up:
	// a fresh profile and another try, three times at most.
	for try := 1; ; try++ {
		actx, acancel := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.UserDataDir(b.TempDir()), chromedp.WindowSize(1400, 900), chromedp.WSURLReadTimeout(60*time.Second))
		ctx, cancel := chromedp.NewContext(actx)
		err := chromedp.Do(ctx)
		if err == nil {
			b.Cleanup(func() { cancel(); acancel() })
			return ctx
		}
		cancel()
		acancel()
		if try == 3 {
			b.Fatalf("starting %s: %v", path, err)
		}
		b.Logf("starting %s (try %d): %v", path, try, err)
		time.Sleep(time.Second)
	}
}

func benchEval[T any](b testing.TB, ctx context.Context, expr string) T {
	b.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.Fatalf("%s: %v", expr, err)
	}
	return v
}

func benchPoll(b testing.TB, ctx context.Context, expr string, timeout time.Duration) {
	b.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		b.Fatalf("waiting for %s: %v", expr, err)
	}
}

// BenchmarkWebFirstRows100k: a store of 100 000 captures; how long after
// navigation the page has drawn its first rows (performance.now() when
// they were drawn: navigation, page, script, websocket, the first query).
func BenchmarkWebFirstRows100k(b *testing.B) {
	st, err := capture.Open(b.TempDir(), capture.Options{Retain: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	body := []byte(`{"id":"630fac88bd5bb64cf8b24b99","type":"video.process_succeeded","data":{"video":{"id":"v_1","title":"Launch day"}}}`)
	for i := range 100000 {
		c := &capture.Capture{
			Meta: capture.Meta{Method: "POST", Path: "/omega/{token}", EventType: omega.TypeProcessSucceeded,
				EventID: strconv.Itoa(i), Target: "http://127.0.0.1:9/x",
				Status: 200, SentStatus: 200, Duration: time.Millisecond},
			Body:    body,
			Headers: http.Header{"Content-Type": {"application/json"}},
		}
		if err := st.Record(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	if n, err := st.Count(ctx, capture.Query{}); err != nil || n != 100000 {
		b.Fatalf("store holds %d (%v)", n, err)
	}
	srv := web.New(web.Options{Actions: web.Actions{List: st.List, Get: st.Get, ListFull: st.ListFull, Count: st.Count},
		Info: web.Info{Mode: "store", KnownTypes: omega.AllTypes()}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv.Start(ln)
	defer srv.Close()
	bctx := benchBrowser(b)
	var ms []float64
	for b.Loop() {
		if err := chromedp.Do(bctx, chromedp.Navigate("about:blank"), chromedp.Navigate("http://"+ln.Addr().String()+"/")); err != nil {
			b.Fatal(err)
		}
		benchPoll(b, bctx, "window.__omega && window.__omega.firstRowsAt > 0", 30*time.Second)
		ms = append(ms, benchEval[float64](b, bctx, "window.__omega.firstRowsAt"))
		if os.Getenv("OMEGA_LISTEN_BENCH_TRACE") != "" {
			b.Log(benchEval[string](b, bctx, "JSON.stringify(performance.getEntries().map(e => [e.name.slice(-40), Math.round(e.startTime), Math.round(e.duration)]))"))
		}
	}
	slices.Sort(ms)
	b.ReportMetric(ms[len(ms)/2], "ms-first-rows-p50")
	b.ReportMetric(ms[len(ms)-1], "ms-first-rows-max")
}

// liveRun is one phase of BenchmarkWebLiveLoad: a listener, deliveries at
// rate for d, with the page open or not.
type liveRun struct {
	sent, ok  int64
	rate      float64 // deliveries answered per second
	meanLat   time.Duration
	p99Lat    time.Duration
	maxRate   float64 // closed-loop deliveries per second
	pageRows  int
	storeRows int
	domMax    int
	resyncs   int
	// cpuPer is this process's CPU time (listener and senders, not the
	// browser) per paced delivery.
	cpuPer time.Duration
}

func runLivePhase(b *testing.B, bctx context.Context, withPage bool, rate int, d time.Duration) liveRun {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer app.Close()
	home := b.TempDir()
	p := clitest.StartInProc(b, map[string]string{"OMEGA_LISTEN_HOME": home}, "--emulate", "--forward", app.URL, "--format", "json", "--web", "127.0.0.1:0", "--retain", "-1")
	defer p.Stop(b)
	ready := readyLineB(b, p.Out.String())
	hook, webURL := ready["webhook_url"].(string), ready["web"].(string)
	if withPage {
		if err := chromedp.Do(bctx, chromedp.Navigate(webURL+"/")); err != nil {
			b.Fatal(err)
		}
		benchPoll(b, bctx, "window.__omega && window.__omega.ready && document.getElementById('conn').textContent === 'live'", 30*time.Second)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := []byte(`{"id":"630fac88bd5bb64cf8b24b99","type":"video.process_succeeded","created_at":"2026-11-26T17:00:01Z","data":{"video":{"id":"v_1","title":"Launch day"}}}`)
	send := func() (time.Duration, bool) {
		start := time.Now()
		resp, err := client.Post(hook, "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), resp.StatusCode == http.StatusNoContent
	}

	var res liveRun
	var mu sync.Mutex
	var lats []time.Duration
	var domMax atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		if !withPage {
			return
		}
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				n := benchEval[int](b, bctx, "window.__omega.domRows()")
				if int64(n) > domMax.Load() {
					domMax.Store(int64(n))
				}
			}
		}
	}()
	// Paced: rate a second (a late tick sends what is due), each on its
	// own goroutine.
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	cpu0 := clitest.ProcessCPU()
	start := time.Now()
	for time.Since(start) < d {
		<-tick.C
		due := int64(time.Since(start).Seconds()*float64(rate)) - res.sent
		for range max(due, 0) {
			res.sent++
			wg.Go(func() {
				lat, ok := send()
				mu.Lock()
				defer mu.Unlock()
				if ok {
					res.ok++
					lats = append(lats, lat)
				}
			})
		}
	}
	tick.Stop()
	wg.Wait()
	res.rate = float64(res.ok) / time.Since(start).Seconds()
	res.cpuPer = (clitest.ProcessCPU() - cpu0) / time.Duration(max(res.ok, 1))
	// Closed loop, 8 at a time, for a quarter of d: the most it can take.
	var closed atomic.Int64
	cstart := time.Now()
	for range 8 {
		wg.Go(func() {
			for time.Since(cstart) < d/4 {
				if _, ok := send(); ok {
					closed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	res.maxRate = float64(closed.Load()) / time.Since(cstart).Seconds()
	close(stopSampling)
	<-sampled
	slices.Sort(lats)
	var sum time.Duration
	for _, l := range lats {
		sum += l
	}
	if len(lats) > 0 {
		res.meanLat = sum / time.Duration(len(lats))
		res.p99Lat = lats[len(lats)*99/100]
	}
	st, err := capture.Open(home, capture.Options{Retain: -1})
	if err != nil {
		b.Fatal(err)
	}
	res.storeRows, _ = st.Count(context.Background(), capture.Query{})
	st.Close()
	if withPage {
		want := res.storeRows
		if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](fmt.Sprintf("window.__omega.rowsInMemory() >= %d", want), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			b.Logf("the page did not reach the store's count: %v", err)
		}
		res.pageRows = benchEval[int](b, bctx, "window.__omega.rowsInMemory()")
		res.domMax = int(domMax.Load())
		res.resyncs = benchEval[int](b, bctx, "window.__omega.resyncs")
		if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
			b.Fatal(err)
		}
	}
	return res
}

func readyLineB(b *testing.B, out string) map[string]any {
	b.Helper()
	for _, line := range bytes.Split([]byte(out), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil && m["type"] == "ready" {
			return m
		}
	}
	b.Fatalf("no ready line in %q", out)
	return nil
}

// BenchmarkWebLiveLoad: 500 deliveries a second through a real listener
// for OMEGA_LISTEN_BENCH_SECONDS (default 20), with the page closed, then
// open; then as many as 8 senders can push for a quarter of that. The
// page must end with as many rows as the store holds, with the DOM
// bounded, and throughput must not drop.
func BenchmarkWebLiveLoad(b *testing.B) {
	secs := 20
	if s, err := strconv.Atoi(os.Getenv("OMEGA_LISTEN_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	d := time.Duration(secs) * time.Second
	bctx := benchBrowser(b)
	for b.Loop() {
		closed := runLivePhase(b, bctx, false, 500, d)
		open := runLivePhase(b, bctx, true, 500, d)
		b.Logf("page closed: %d sent, %d answered, %.1f/s, mean %v, p99 %v, cpu %v/delivery, closed-loop %.0f/s, store %d",
			closed.sent, closed.ok, closed.rate, closed.meanLat, closed.p99Lat, closed.cpuPer, closed.maxRate, closed.storeRows)
		b.Logf("page open:   %d sent, %d answered, %.1f/s, mean %v, p99 %v, cpu %v/delivery, closed-loop %.0f/s, store %d, page rows %d, max DOM rows %d, resyncs %d",
			open.sent, open.ok, open.rate, open.meanLat, open.p99Lat, open.cpuPer, open.maxRate, open.storeRows, open.pageRows, open.domMax, open.resyncs)
		b.ReportMetric(float64(closed.cpuPer.Microseconds()), "cpu-us-per-delivery-closed")
		b.ReportMetric(float64(open.cpuPer.Microseconds()), "cpu-us-per-delivery-open")
		b.ReportMetric(open.rate, "paced-per-s-open")
		b.ReportMetric(closed.rate, "paced-per-s-closed")
		b.ReportMetric(100*(1-open.maxRate/closed.maxRate), "closed-loop-drop-%")
		b.ReportMetric(float64(open.domMax), "max-dom-rows")
		b.ReportMetric(float64(open.pageRows-open.storeRows), "page-minus-store")
		if open.pageRows != open.storeRows {
			b.Errorf("the page shows %d captures, the store holds %d", open.pageRows, open.storeRows)
		}
	}
}

// BenchmarkWebPageMemory: the listener's heap with 8 pages open (real
// tabs, live feed connected) less its heap with none, per page.
func BenchmarkWebPageMemory(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	p := clitest.StartInProc(b, map[string]string{"OMEGA_LISTEN_HOME": b.TempDir()}, "--emulate", "--forward", app.URL, "--format", "json", "--web", "127.0.0.1:0")
	defer p.Stop(b)
	webURL := readyLineB(b, p.Out.String())["web"].(string)
	bctx := benchBrowser(b)
	heap := func() uint64 {
		var m runtime.MemStats
		for range 3 {
			runtime.GC()
		}
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	const pages = 8
	for b.Loop() {
		before := heap()
		var cancels []context.CancelFunc
		for range pages {
			tctx, cancel := chromedp.NewContext(bctx)
			cancels = append(cancels, cancel)
			if err := chromedp.Do(tctx, chromedp.Navigate(webURL+"/")); err != nil {
				b.Fatal(err)
			}
			benchPoll(b, tctx, "document.getElementById('conn').textContent === 'live'", 30*time.Second)
		}
		after := heap()
		b.ReportMetric(float64(int64(after)-int64(before))/pages/1024, "KiB-per-page")
		for _, c := range cancels {
			c()
		}
	}
}
