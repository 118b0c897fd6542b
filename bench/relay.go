package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// relayPath is the relay measured beside the direct listener: sender →
// `relay serve` → websocket → `omega-listen --tunnel relay` → app, with
// Omega played by a standalone `omega-listen emulator`.
type relayPath struct {
	bin, tmp, appURL string
	env              []string
	emu, relay, ol   *exec.Cmd
	pubURL           string
	webhookURL       string
}

func startRelayPath(bin, tmp, appURL string) (*relayPath, error) {
	p := &relayPath{bin: bin, tmp: tmp, appURL: appURL}
	emu := exec.Command(bin, "emulator", "--addr", "127.0.0.1:0")
	emu.Stderr = io.Discard
	out, err := emu.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := emu.Start(); err != nil {
		return nil, err
	}
	p.emu = emu
	sc := bufio.NewScanner(out)
	var base, key string
	for sc.Scan() && (base == "" || key == "") {
		l := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(l, "export OMEGA_BASE_URL="); ok {
			base = v
		}
		if v, ok := strings.CutPrefix(l, "export OMEGA_API_KEY="); ok {
			key = v
		}
	}
	go io.Copy(io.Discard, out)
	if base == "" || key == "" {
		p.stop()
		return nil, fmt.Errorf("the emulator printed no base URL and key")
	}
	tok, err := exec.Command(bin, "relay", "token", "bench").Output()
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("relay token: %w", err)
	}
	entry := strings.TrimSpace(string(tok))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.stop()
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	p.pubURL = "http://" + addr
	p.relay = exec.Command(bin, "relay", "serve", "--addr", addr, "--public-url", p.pubURL,
		"--dir", filepath.Join(tmp, "relay"), "--max-in-flight", "256")
	p.relay.Env = append(os.Environ(), "OMEGA_RELAY_TOKENS="+entry)
	p.relay.Stderr = io.Discard // a JSON line per delivery
	if err := p.relay.Start(); err != nil {
		p.stop()
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if r, err := http.Get(p.pubURL + "/healthz"); err == nil {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("the relay did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.env = append(os.Environ(), "OMEGA_BASE_URL="+base, "OMEGA_API_KEY="+key,
		"OMEGA_RELAY_URL="+"ws://"+addr, "OMEGA_RELAY_TOKEN="+entry)
	if err := p.startListener(nil); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// startListener runs `omega-listen --tunnel relay`; each delivery line it
// prints is sent to lines.
func (p *relayPath) startListener(lines chan<- struct{}) error {
	ol := exec.Command(p.bin, "--tunnel", "relay", "--forward", p.appURL, "--format", "json", "--print",
		"--data-dir", filepath.Join(p.tmp, "relay-listener"), "--retain", "1000000")
	ol.Env = p.env
	ol.Stderr = io.Discard
	out, err := ol.StdoutPipe()
	if err != nil {
		return err
	}
	if err := ol.Start(); err != nil {
		return err
	}
	p.ol = ol
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var ready struct {
			Type       string `json:"type"`
			WebhookURL string `json:"webhook_url"`
		}
		if json.Unmarshal(sc.Bytes(), &ready) == nil && ready.Type == "ready" {
			p.webhookURL = ready.WebhookURL
			break
		}
	}
	if p.webhookURL == "" {
		return fmt.Errorf("omega-listen --tunnel relay printed no ready line")
	}
	go func() {
		for sc.Scan() {
			if lines != nil && bytes.Contains(sc.Bytes(), []byte(`"type":"delivery"`)) {
				lines <- struct{}{}
			}
		}
	}()
	return nil
}

func (p *relayPath) target() target { return target{"relay", p.webhookURL, p.relay.Process.Pid} }

func (p *relayPath) stop() {
	for _, c := range []*exec.Cmd{p.ol, p.relay, p.emu} {
		if c != nil {
			stop(c)
		}
	}
}

// queueDrain stops the listener, queues n deliveries at the relay, starts
// the listener again and times the drain: from its ready line until the
// relay's queue is empty and every delivery was printed.
func (p *relayPath) queueDrain(body []byte, n int) (fill, drain time.Duration, rss string, err error) {
	stop(p.ol)
	url := p.webhookURL
	start := time.Now()
	var next atomic.Int64
	var bad atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := loadClient.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	fill = time.Since(start)
	if bad.Load() > 0 {
		return 0, 0, "", fmt.Errorf("%d of %d deliveries were not queued", bad.Load(), n)
	}
	if q := p.queued(); q != n {
		return 0, 0, "", fmt.Errorf("the relay holds %d, want %d", q, n)
	}
	lines := make(chan struct{}, n+100)
	t0 := time.Now()
	if err := p.startListener(lines); err != nil {
		return 0, 0, "", err
	}
	t1 := time.Now()
	for i := 0; i < n; i++ {
		select {
		case <-lines:
		case <-time.After(60 * time.Second):
			return 0, 0, "", fmt.Errorf("only %d of %d queued deliveries arrived", i, n)
		}
	}
	for p.queued() != 0 {
		if time.Since(t1) > 60*time.Second {
			return 0, 0, "", fmt.Errorf("the relay's queue did not empty")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = t0
	return fill, time.Since(t1), vmHWM(p.relay.Process.Pid), nil
}

func (p *relayPath) queued() int {
	r, err := http.Get(p.pubURL + "/healthz")
	if err != nil {
		return -1
	}
	defer r.Body.Close()
	var h struct{ Queued int }
	if json.NewDecoder(r.Body).Decode(&h) != nil {
		return -1
	}
	return h.Queued
}

// reportRelay prints the relay's figures against the direct listener's.
func reportRelay(p *relayPath, res map[string][]result, body []byte, queueN int) error {
	ol32, rl32 := median(res["omega-listen/32"]), median(res["relay/32"])
	ol1, rl1 := median(res["omega-listen/1"]), median(res["relay/1"])
	fmt.Printf("\nrelay vs omega-listen direct: c32 throughput %.2fx (target >= 0.6x), c1 p50 %+v (target <= +200µs)\n",
		rl32.rps/ol32.rps, (rl1.p50 - ol1.p50).Round(time.Microsecond))
	fmt.Printf("relay peak RSS (VmHWM) after the load: %s\n", vmHWM(p.relay.Process.Pid))
	if queueN <= 0 {
		return nil
	}
	fill, drain, rss, err := p.queueDrain(body, queueN)
	if err != nil {
		return fmt.Errorf("relay queue: %w", err)
	}
	fmt.Printf("relay queue: %d deliveries queued in %v (c=32, fsync'd before each 202), drained to the listener in %v (target < 10s); relay peak RSS %s (target < 50 MiB)\n",
		queueN, fill.Round(time.Millisecond), drain.Round(time.Millisecond), rss)
	return nil
}
