// Command bench measures what omega-listen costs a delivery: the same local
// app reached directly, through a plain httputil.ReverseProxy (a forwarder
// that captures nothing: the floor), and through the real omega-listen
// binary with every delivery captured durably.
//
//	go run ./bench                  # defaults: 3 rounds, 2000 requests at c=1, 20000 at c=32
//	go run ./bench -rounds 5 -n1 3000 -n32 30000
//
// Both forwarders run as their own processes (the proxy is this program
// re-executed), so their peak RSS (VmHWM) and CPU time are theirs alone.
// Rounds are interleaved so drift on the machine hits every target alike.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/omega-listen/omega-listen/omega"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-serve-proxy" {
		serveProxy(os.Args[2])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "-serve-app" {
		serveApp()
		return
	}
	rounds := flag.Int("rounds", 3, "interleaved rounds (medians are reported)")
	n1 := flag.Int("n1", 2000, "requests per round at concurrency 1")
	n32 := flag.Int("n32", 20000, "requests per round at concurrency 32")
	bin := flag.String("bin", "", "omega-listen binary (default: build it)")
	bodySize := flag.Int("body", 4096, "event body size in bytes")
	flag.IntVar(&relayQueueN, "relay-queue", 10000, "deliveries queued at the relay for the drain measurement (0: skip)")
	flag.Parse()
	if err := run(*rounds, *n1, *n32, *bin, *bodySize); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// serveApp is the local app: it reads the body and answers 200.
func serveApp() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println("http://" + ln.Addr().String() + "/webhook")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("webhook received\n"))
	}))
}

// serveProxy is the baseline: a plain ReverseProxy with enough idle
// connections for the concurrency.
func serveProxy(target string) {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println("http://" + ln.Addr().String() + "/webhook")
	http.Serve(ln, rp)
}

// relayQueueN is -relay-queue (see bench/relay.go).
var relayQueueN int

type target struct {
	name string
	url  string
	pid  int // the forwarder's process, 0 for direct
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	cpuPer1k time.Duration
	errors   int
}

func run(rounds, n1, n32 int, bin string, bodySize int) error {
	tmp, err := os.MkdirTemp("", "omega-listen-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if bin == "" {
		bin = filepath.Join(tmp, "omega-listen")
		fmt.Fprintln(os.Stderr, "building omega-listen…")
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building omega-listen: %w", err)
		}
	}

	app, appURL, err := startLine(exec.Command(self, "-serve-app"))
	if err != nil {
		return fmt.Errorf("starting the app: %w", err)
	}
	defer stop(app)
	proxy, proxyURL, err := startLine(exec.Command(self, "-serve-proxy", appURL))
	if err != nil {
		return fmt.Errorf("starting the proxy: %w", err)
	}
	defer stop(proxy)

	ol := exec.Command(bin, "--emulate", "--forward", appURL, "--format", "json", "--print",
		"--data-dir", filepath.Join(tmp, "data"), "--retain", "1000000")
	ol.Stderr = os.Stderr
	olOut, err := ol.StdoutPipe()
	if err != nil {
		return err
	}
	if err := ol.Start(); err != nil {
		return err
	}
	defer stop(ol)
	sc := bufio.NewScanner(olOut)
	var webhookURL string
	if sc.Scan() {
		var ready struct {
			Type       string `json:"type"`
			WebhookURL string `json:"webhook_url"`
		}
		if json.Unmarshal(sc.Bytes(), &ready) == nil && ready.Type == "ready" {
			webhookURL = ready.WebhookURL
		}
	}
	if webhookURL == "" {
		return fmt.Errorf("omega-listen printed no ready line")
	}
	var lines atomic.Int64
	go func() { // drain its output as a terminal would, counting lines
		for sc.Scan() {
			lines.Add(1)
		}
	}()

	targets := []target{
		{"direct", appURL, 0},
		{"reverseproxy", proxyURL, proxy.Process.Pid},
		{"omega-listen", webhookURL, ol.Process.Pid},
	}
	rp, err := startRelayPath(bin, tmp, appURL)
	if err != nil {
		return fmt.Errorf("starting the relay path: %w", err)
	}
	defer rp.stop()
	targets = append(targets, rp.target())
	body := eventBody(bodySize)
	conc := []struct{ c, n int }{{1, n1}, {32, n32}}
	res := map[string][]result{}
	key := func(t string, c int) string { return t + "/" + strconv.Itoa(c) }
	// Warm up every path once so connection setup is not measured.
	for _, t := range targets {
		load(t, body, 32, 2000)
	}
	for r := 0; r < rounds; r++ {
		for _, cc := range conc {
			for _, t := range targets {
				rs := load(t, body, cc.c, cc.n)
				if rs.errors > 0 {
					return fmt.Errorf("%s at c=%d: %d requests failed", t.name, cc.c, rs.errors)
				}
				res[key(t.name, cc.c)] = append(res[key(t.name, cc.c)], rs)
				fmt.Fprintf(os.Stderr, "round %d  %-13s c=%-2d %8.0f req/s  p50 %-9v p99 %v\n", r+1, t.name, cc.c, rs.rps, rs.p50, rs.p99)
			}
		}
	}

	fmt.Printf("\nomega-listen bench: %d-byte event body, %d rounds interleaved, medians; %d requests/round at c=1, %d at c=32\n\n", len(body), rounds, n1, n32)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tconc\treq/s\tp50\tp99\tCPU/1k req\tvs proxy req/s\tvs proxy p50\t")
	for _, cc := range conc {
		base := median(res[key("reverseproxy", cc.c)])
		for _, t := range targets {
			m := median(res[key(t.name, cc.c)])
			cpu := "-"
			if t.pid != 0 {
				cpu = m.cpuPer1k.Round(time.Microsecond).String()
			}
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%v\t%v\t%s\t%.2fx\t%.2fx\t\n", t.name, cc.c, m.rps, m.p50.Round(time.Microsecond), m.p99.Round(time.Microsecond), cpu, m.rps/base.rps, float64(m.p50)/float64(base.p50))
		}
	}
	tw.Flush()
	fmt.Printf("\npeak RSS (VmHWM): reverseproxy %s, omega-listen %s\n", vmHWM(proxy.Process.Pid), vmHWM(ol.Process.Pid))
	total := 0
	for _, cc := range conc {
		total += rounds * cc.n
	}
	fmt.Printf("omega-listen printed %d delivery lines for %d+ requests sent to it\n", lines.Load(), total)
	return reportRelay(rp, res, body, relayQueueN)
}

func eventBody(size int) []byte {
	b, err := omega.SampleEvent(omega.TypeProcessSucceeded, omega.NewObjectID(), "")
	if err != nil {
		panic(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	// Pad the video's meta to reach the wanted size, keeping it a real envelope.
	pad := size - len(b) - len(`,"pad":""`)
	if pad > 0 {
		if d, ok := m["data"].(map[string]any); ok {
			d["pad"] = strings.Repeat("x", pad)
		}
	}
	out, _ := json.Marshal(m)
	return out
}

var loadClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}}

func load(t target, body []byte, conc, n int) result {
	cpu0 := cpuTime(t.pid)
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, t.url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := loadClient.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	cpu := cpuTime(t.pid) - cpu0
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{
		rps: float64(n) / el.Seconds(), p50: lat[n/2], p99: lat[n*99/100],
		cpuPer1k: cpu * 1000 / time.Duration(n), errors: int(errs.Load()),
	}
}

func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return result{
		rps:      pick(func(r result) float64 { return r.rps }),
		p50:      time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99:      time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
		cpuPer1k: time.Duration(pick(func(r result) float64 { return float64(r.cpuPer1k) })),
	}
}

// cpuTime is a process's user+system CPU time from /proc.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

func vmHWM(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
		}
	}
	return "?"
}

// startLine starts cmd and reads the URL it prints on its first line.
func startLine(cmd *exec.Cmd) (*exec.Cmd, string, error) {
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop(cmd)
		return nil, "", err
	}
	return cmd, strings.TrimSpace(line), nil
}

func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
