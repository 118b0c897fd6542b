package relay_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/lines"
	"github.com/omega-listen/omega-listen/omega/emulator"
	"github.com/omega-listen/omega-listen/relay"
	"github.com/omega-listen/omega-listen/tunnel"
)

func TestRelayUsageErrors(t *testing.T) {
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	tok := strings.Repeat("t", 40)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no relay URL", nil, []string{"-f", "8888", "--tunnel", "relay"}, "--relay-url"},
		{"relay URL not ws", nil, []string{"-f", "8888", "--tunnel", "relay", "--relay-url", "ftp://x"}, "wss://"},
		{"no relay token", nil, []string{"-f", "8888", "--tunnel", "relay", "--relay-url", "wss://h.example"}, "--relay-token"},
		{"query in the relay URL", nil, []string{"-f", "8888", "--tunnel", "relay", "--relay-url", "wss://h.example?token=x", "--relay-token", tok}, "query"},
		{"serve without a public URL", nil, []string{"relay", "serve"}, "--public-url is required"},
		{"serve without tokens", nil, []string{"relay", "serve", "--public-url", "https://h.example"}, "OMEGA_RELAY_TOKENS"},
		{"serve with a short token", map[string]string{"OMEGA_RELAY_TOKENS": "alice:short"}, []string{"relay", "serve", "--public-url", "https://h.example"}, "at least 32"},
		{"serve with an unknown offline mode", map[string]string{"OMEGA_RELAY_TOKENS": "alice:" + tok}, []string{"relay", "serve", "--public-url", "https://h.example", "--offline", "drop"}, "--offline"},
		{"serve with a cert and no key", map[string]string{"OMEGA_RELAY_TOKENS": "alice:" + tok}, []string{"relay", "serve", "--public-url", "https://h.example", "--tls-cert", "c.pem"}, "--tls-key"},
		{"token for a bad name", nil, []string{"relay", "token", "Bad Name"}, "client name"},
		{"token without a name", nil, []string{"relay", "token"}, "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			for k, v := range tt.env {
				e[k] = v
			}
			code, _, errs := clitest.Run(t, e, tt.args...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errs, tt.want)
			}
		})
	}
}

func TestRelayTokenPrintsAnEntry(t *testing.T) {
	code, out, errs := clitest.Run(t, nil, "relay", "token", "alice")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	m, err := relay.ParseTokens(out)
	if err != nil || len(m["alice"]) < relay.MinTokenLen {
		t.Fatalf("%q does not parse as a tokens entry: %v", out, err)
	}
	_, out2, _ := clitest.Run(t, nil, "relay", "token", "alice")
	if out2 == out {
		t.Error("two tokens alike")
	}
}

// The receiver and the relay's client agree on the queued-at header.
func TestQueuedAtHeaderAgrees(t *testing.T) {
	if tunnel.QueuedAtHeader != capture.HeaderRelayQueuedAt {
		t.Fatalf("tunnel sends %q, capture reads %q", tunnel.QueuedAtHeader, capture.HeaderRelayQueuedAt)
	}
}

// --tunnel relay end to end in this process: the public URL is the
// relay's, the endpoint is reused by the next run and deactivated at exit,
// and what arrives while the listener is away is queued and then shown,
// marked, when it is back.
func TestListenThroughRelay(t *testing.T) {
	emu, env := clitest.EmuEnv(t, emulator.Options{})
	pub := relayEnv(t, env)
	var mu sync.Mutex
	var got []string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Omega-Listen-Capture"))
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer app.Close()
	args := []string{"--forward", app.URL, "--tunnel", "relay", "-e", "video.process_succeeded", "--print"}

	p := clitest.StartInProc(t, env, args...)
	eps := emu.Endpoints()
	if len(eps) != 1 || !regexp.MustCompile(`^`+regexp.QuoteMeta(pub)+`/c/alice/omega/[A-Za-z0-9_-]{22,}$`).MatchString(eps[0].URL) {
		t.Fatalf("registered %+v, want the relay's URL for alice", eps)
	}
	first := eps[0]
	if !strings.Contains(p.Out.String(), pub+"/c/alice") {
		t.Errorf("the ready line does not name the relay URL: %s", p.Out)
	}
	p.Stop(t)
	if eps = emu.Endpoints(); len(eps) != 1 || eps[0].Active {
		t.Fatalf("after exit: %+v, want the endpoint kept, inactive", eps)
	}

	// Away: Omega (here, us) delivers to the endpoint's URL; the relay keeps it.
	res, err := http.Post(first.URL, "application/json", strings.NewReader(`{"id":"6323940a0000000000000001","type":"video.process_succeeded","created_time":"2026-11-26T17:00:01Z","data":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 202 {
		t.Fatalf("while away: %d", res.StatusCode)
	}

	p = clitest.StartInProc(t, env, args...)
	if eps = emu.Endpoints(); len(eps) != 1 || eps[0].ID != first.ID || eps[0].URL != first.URL || !eps[0].Active {
		t.Fatalf("second run: %+v, want %s reused and active", eps, first.ID)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !regexp.MustCompile(`--> video.process_succeeded \[6323940a0000000000000001\] \(queued \d\d:\d\d:\d\d\)`).MatchString(p.Out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("the queued delivery was not shown marked:\n%s\n%s", p.Out, p.Err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Stop(t)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Errorf("the app got %d deliveries, want 1", len(got))
	}
	if !strings.Contains(p.Err.String(), "--tunnel relay") {
		t.Errorf("exit message does not say how the next run reuses the endpoint: %s", p.Err)
	}
}

// relayEnv runs a relay in this process and points env at it as alice.
func relayEnv(t *testing.T, env map[string]string) string {
	t.Helper()
	tok := relay.NewToken()
	hs := httptest.NewUnstartedServer(nil)
	pub := "http://" + hs.Listener.Addr().String()
	rs, err := relay.New(relay.Options{PublicURL: pub, Tokens: map[string]string{"alice": tok}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = rs
	hs.Start()
	t.Cleanup(func() { rs.Close(); hs.Close() })
	env["OMEGA_RELAY_URL"] = pub
	env["OMEGA_RELAY_TOKEN"] = "alice:" + tok
	return pub
}

// A listener replaced by a newer one with the same relay name and the same
// URL (the same token, on another machine or data dir: one data dir takes
// one listener) stops, saying why, and leaves the endpoint they share
// active for the newer one.
func TestReplacedListenerLeavesTheEndpoint(t *testing.T) {
	emu, env := clitest.EmuEnv(t, emulator.Options{})
	relayEnv(t, env)
	env["OMEGA_LISTEN_TOKEN"] = "shared-token_0123456789abcdef"
	args := []string{"--forward", "8888", "--tunnel", "relay", "--print"}
	first := clitest.StartInProc(t, env, args...)
	other := maps.Clone(env)
	other["OMEGA_LISTEN_HOME"] = t.TempDir()
	second := clitest.StartInProc(t, other, args...)
	select {
	case code := <-first.Code:
		if code != 0 {
			t.Errorf("the replaced listener exited %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the replaced listener kept running")
	}
	for _, want := range []string{"replaced by a newer connection for alice", "Left endpoint"} {
		if !strings.Contains(first.Err.String(), want) {
			t.Errorf("the replaced listener did not say %q:\n%s", want, first.Err)
		}
	}
	if eps := emu.Endpoints(); len(eps) != 1 || !eps[0].Active {
		t.Errorf("endpoints after the replacement: %+v, want the shared one, active", eps)
	}
	second.Stop(t)
}

// Queued deliveries are marked with when the relay accepted them, in text
// and in JSON; a summary from the index (no headers) still says queued.
func TestPrinterMarksQueued(t *testing.T) {
	at := time.Date(2026, 12, 2, 12, 3, 4, 0, time.Local)
	c := &capture.Capture{
		Meta: capture.Meta{ID: "c1", Method: "POST", EventID: "e1", EventType: "video.deleted", Flags: capture.FlagQueued,
			State: capture.StateDone, Status: 200, SentStatus: 200, Target: "http://app/"},
		Headers: map[string][]string{capture.HeaderRelayQueuedAt: {at.UTC().Format(time.RFC3339Nano)}},
	}
	print := func(asJSON bool, f func(p *lines.Printer)) string {
		out := &clitest.LockedBuffer{}
		p := lines.New(out, asJSON)
		f(p)
		p.Flush()
		return out.String()
	}
	if out := print(false, func(p *lines.Printer) { p.Received(c.Summary()) }); !strings.Contains(out, "video.deleted [e1] (queued 12:03:04)") {
		t.Errorf("text: %q", out)
	}
	s := c.Summary()
	s.QueuedAt = time.Time{}
	if out := print(false, func(p *lines.Printer) { p.Received(s) }); !strings.Contains(out, "(queued by the relay)") {
		t.Errorf("text without the time: %q", out)
	}
	if out := print(true, func(p *lines.Printer) { p.Completed(c.Summary()) }); !strings.Contains(out, `"queued_at":"`+at.UTC().Format(time.RFC3339)) {
		t.Errorf("json: %q", out)
	}
	c.Flags = 0
	if out := print(true, func(p *lines.Printer) { p.Completed(c.Summary()) }); strings.Contains(out, "queued") || out == "" {
		t.Errorf("json of a live delivery: %q", out)
	}
}

// `relay serve` with --tls-cert/--tls-key serves https and wss, logs JSON
// lines, answers /healthz and stops on a signal.
func TestRelayServeTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tok := relay.NewToken()
	sig := make(chan os.Signal, 1)
	errb := &clitest.LockedBuffer{}
	s := cmdutil.Streams{In: strings.NewReader(""), Out: &clitest.LockedBuffer{}, Err: errb, Signals: sig,
		Getenv: func(k string) string {
			if k == "OMEGA_RELAY_TOKENS" {
				return "alice:" + tok
			}
			return ""
		}}
	code := make(chan int, 1)
	go func() {
		code <- cli.Main([]string{"relay", "serve", "--addr", "127.0.0.1:0", "--public-url", "https://hooks.example.com",
			"--tls-cert", cert, "--tls-key", key, "--data-dir", dir}, s)
	}()
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == ""; {
		if m := regexp.MustCompile(`"addr":"([^"]+)"`).FindStringSubmatch(errb.String()); m != nil {
			addr = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no serving line: %s", errb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	tlsConf := &tls.Config{RootCAs: pool}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}}
	res, err := hc.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("healthz: %d", res.StatusCode)
	}
	tun, err := tunnel.DialRelay(context.Background(), tunnel.RelayOptions{URL: "wss://" + addr, Token: tok, TLSConfig: tlsConf})
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	if tun.PublicURL() != "https://hooks.example.com/c/alice" {
		t.Errorf("public URL %q", tun.PublicURL())
	}
	// The relay sends hello before it logs the connection (on the
	// upgraded connection's goroutine, which shutting down does not wait
	// for), so DialRelay returning does not mean the line is written yet.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(errb.String(), `"msg":"connected","name":"alice"`); {
		if time.Now().After(deadline) {
			t.Fatalf("no structured connect line: %s", errb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tun.Close()
	sig <- os.Interrupt
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit %d: %s", c, errb)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("relay serve did not stop")
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}
