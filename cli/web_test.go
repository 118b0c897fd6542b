package cli

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/omega-listen/omega-listen/omega/emulator"
	"github.com/omega-listen/omega-listen/tunnel"
)

func readyLine(t *testing.T, out string) map[string]any {
	t.Helper()
	for line := range strings.SplitSeq(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["type"] == "ready" {
			return m
		}
	}
	t.Fatalf("no ready line in %q", out)
	return nil
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestListenServesTheWebInspector(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := startInProc(t, env, "--emulate", "--forward", app.URL, "--format", "json", "--web", "127.0.0.1:0")
	defer p.stop(t)
	web, _ := readyLine(t, p.out.String())["web"].(string)
	if !strings.HasPrefix(web, "http://127.0.0.1:") {
		t.Fatalf("ready line web = %q", web)
	}
	code, page := getBody(t, web+"/")
	if code != 200 || !strings.Contains(page, `name="omega-listen-token"`) {
		t.Fatalf("GET /: %d %.200s", code, page)
	}
	code, sess := getBody(t, web+"/api/session")
	if code != 200 || !strings.Contains(sess, `"webhook_url":"http://127.0.0.1:`) || !strings.Contains(sess, "/omega/{token}") {
		t.Fatalf("session: %d %s", code, sess)
	}
	// The receiver's secret path appears nowhere.
	webhook, _ := readyLine(t, p.out.String())["webhook_url"].(string)
	secret := webhook[strings.LastIndex(webhook, "/")+1:]
	if len(secret) < 22 || strings.Contains(page+sess, secret) {
		t.Errorf("the secret token %q is in the page or the API", secret)
	}
}

func TestListenWebOffAndBadAddress(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := startInProc(t, env, "--emulate", "--forward", app.URL, "--format", "json", "--web", "off")
	if _, ok := readyLine(t, p.out.String())["web"]; ok {
		t.Errorf("--web off: the ready line names a web inspector: %s", p.out)
	}
	p.stop(t)

	code, _, stderr := run(t, env, "--emulate", "--forward", "8888", "--web", "nonsense")
	if code != 2 || !strings.Contains(stderr, "--web") {
		t.Errorf("--web nonsense: exit %d, %s", code, stderr)
	}
}

func TestWebDefaultMovesToTheNextFreePort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s := Streams{Err: io.Discard}
	ln, err := listenWeb(s, busy.Addr().String(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() == busy.Addr().String() {
		t.Fatal("took the busy port")
	}
	if _, err := listenWeb(s, busy.Addr().String(), true); err == nil || !strings.Contains(err.Error(), "--web") {
		t.Errorf("a chosen busy address: %v, want an error naming --web", err)
	}
	var errs strings.Builder
	wide, err := listenWeb(Streams{Err: &errs}, "0.0.0.0:0", true)
	if err != nil {
		t.Fatal(err)
	}
	wide.Close()
	if !strings.Contains(errs.String(), "Warning") {
		t.Errorf("no warning for a non-loopback address: %q", errs.String())
	}
}

func TestWebCommandServesTheStore(t *testing.T) {
	home := t.TempDir()
	sig := make(chan os.Signal, 1)
	out := &lockedBuffer{}
	s := Streams{In: strings.NewReader(""), Out: out, Err: io.Discard, Getenv: func(k string) string {
		if k == "OMEGA_LISTEN_HOME" {
			return home
		}
		return ""
	}, Signals: sig}
	done := make(chan int, 1)
	go func() { done <- Main([]string{"web", "--addr", "127.0.0.1:0", "--to", "http://127.0.0.1:9/x"}, s) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Web inspector: http://") {
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed: %q", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	url := strings.Fields(strings.TrimPrefix(out.String(), "Web inspector: "))[0]
	code, sess := getBody(t, url+"/api/session")
	if code != 200 || !strings.Contains(sess, `"mode":"store"`) || !strings.Contains(sess, `"replay_to":"http://127.0.0.1:9/x"`) {
		t.Errorf("session: %d %s", code, sess)
	}
	code, list := getBody(t, url+"/api/captures")
	if code != 200 || !strings.Contains(list, `"captures":[]`) {
		t.Errorf("list: %d %s", code, list)
	}
	sig <- os.Interrupt
	select {
	case c := <-done:
		if c != 0 {
			t.Errorf("exit %d", c)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("web did not stop on Ctrl-C")
	}
}

// TestWebPageShowsATriggeredDelivery: the real listener, its page in
// headless Chromium, a delivery sent by `trigger`: the row appears without
// a reload, and replaying it from the page reaches the app.
func TestWebPageShowsATriggeredDelivery(t *testing.T) {
	var hits atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer app.Close()
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := startInProc(t, env, "--emulate", "--forward", app.URL, "--format", "json", "--web", "127.0.0.1:0")
	defer p.stop(t)
	web := readyLine(t, p.out.String())["web"].(string)
	ctx := benchBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(web+"/")); err != nil {
		t.Fatal(err)
	}
	benchPoll(t, ctx, "document.getElementById('conn').textContent === 'live' && window.__omega.ready", 30*time.Second)
	benchEval[bool](t, ctx, "window.__notReloaded = true")
	if code, _, errs := run(t, env, "trigger", "video.process_succeeded"); code != 0 {
		t.Fatalf("trigger: exit %d: %s", code, errs)
	}
	benchPoll(t, ctx, "[...document.querySelectorAll('#list .row')].some(r => r.textContent.includes('video.process_succeeded') && r.querySelector('.st').textContent === '200')", 20*time.Second)
	if !benchEval[bool](t, ctx, "window.__notReloaded === true") {
		t.Error("the page reloaded")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#list .row"), chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	benchPoll(t, ctx, "!document.getElementById('detail').hidden && !document.getElementById('replay').disabled", 20*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#replay"), chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	benchPoll(t, ctx, "document.querySelectorAll('#list .row.replay').length === 1", 20*time.Second)
	if n := hits.Load(); n != 2 {
		t.Errorf("the app got %d requests, want the delivery and its replay", n)
	}
}

// TestWebSessionFollowsTheTunnel: the page is told of tunnel state changes
// (it shows the state the API reports).
func TestWebSessionFollowsTheTunnel(t *testing.T) {
	st := make(chan tunnel.Status, 8)
	fakeNgrokWithStatus(t, st)
	_, env := emuEnv(t, emulator.Options{})
	env["NGROK_AUTHTOKEN"] = "x"
	p := startInProc(t, env, "--forward", "8888", "--format", "json", "--web", "127.0.0.1:0")
	defer p.stop(t)
	web := readyLine(t, p.out.String())["web"].(string)
	st <- tunnel.Status{State: tunnel.Disconnected, Err: errors.New("network gone")}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, sess := getBody(t, web+"/api/session")
		if strings.Contains(sess, `"tunnel_state":"reconnecting","tunnel_error":"network gone"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session never showed the disconnect: %s", sess)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st <- tunnel.Status{State: tunnel.Reconnected, URL: "https://b.test"}
	for {
		_, sess := getBody(t, web+"/api/session")
		if strings.Contains(sess, `"webhook_url":"https://b.test/omega/{token}"`) && strings.Contains(sess, `"tunnel_state":"connected"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session never showed the reconnect: %s", sess)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(st)
}
