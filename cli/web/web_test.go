package web_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/omega-listen/omega-listen/cli"
	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/omega/emulator"
	"github.com/omega-listen/omega-listen/tunnel"
)

func TestListenServesTheWebInspector(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := clitest.StartInProc(t, env, "--emulate", "--forward", app.URL, "--format", "json", "--web", "127.0.0.1:0")
	defer p.Stop(t)
	web, _ := clitest.ReadyLine(t, p.Out.String())["web"].(string)
	if !strings.HasPrefix(web, "http://127.0.0.1:") {
		t.Fatalf("ready line web = %q", web)
	}
	code, page := clitest.GetBody(t, web+"/")
	if code != 200 || !strings.Contains(page, `name="omega-listen-token"`) {
		t.Fatalf("GET /: %d %.200s", code, page)
	}
	code, sess := clitest.GetBody(t, web+"/api/session")
	if code != 200 || !strings.Contains(sess, `"webhook_url":"http://127.0.0.1:`) || !strings.Contains(sess, "/omega/{token}") {
		t.Fatalf("session: %d %s", code, sess)
	}
	// The receiver's secret path appears nowhere.
	webhook, _ := clitest.ReadyLine(t, p.Out.String())["webhook_url"].(string)
	secret := webhook[strings.LastIndex(webhook, "/")+1:]
	if len(secret) < 22 || strings.Contains(page+sess, secret) {
		t.Errorf("the secret token %q is in the page or the API", secret)
	}
}

func TestListenWebOffAndBadAddress(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	env := map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()}
	p := clitest.StartInProc(t, env, "--emulate", "--forward", app.URL, "--format", "json", "--web", "off")
	if _, ok := clitest.ReadyLine(t, p.Out.String())["web"]; ok {
		t.Errorf("--web off: the ready line names a web inspector: %s", p.Out)
	}
	p.Stop(t)

	code, _, stderr := clitest.Run(t, env, "--emulate", "--forward", "8888", "--web", "nonsense")
	if code != 2 || !strings.Contains(stderr, "--web") {
		t.Errorf("--web nonsense: exit %d, %s", code, stderr)
	}
}

func TestWebCommandServesTheStore(t *testing.T) {
	home := t.TempDir()
	sig := make(chan os.Signal, 1)
	out := &clitest.LockedBuffer{}
	s := cmdutil.Streams{In: strings.NewReader(""), Out: out, Err: io.Discard, Getenv: func(k string) string {
		if k == "OMEGA_LISTEN_HOME" {
			return home
		}
		return ""
	}, Signals: sig}
	done := make(chan int, 1)
	go func() { done <- cli.Main([]string{"web", "--addr", "127.0.0.1:0", "--to", "http://127.0.0.1:9/x"}, s) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Web inspector: http://") {
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed: %q", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	url := strings.Fields(strings.TrimPrefix(out.String(), "Web inspector: "))[0]
	code, sess := clitest.GetBody(t, url+"/api/session")
	if code != 200 || !strings.Contains(sess, `"mode":"store"`) || !strings.Contains(sess, `"replay_to":"http://127.0.0.1:9/x"`) {
		t.Errorf("session: %d %s", code, sess)
	}
	code, list := clitest.GetBody(t, url+"/api/captures")
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
	p := clitest.StartInProc(t, env, "--emulate", "--forward", app.URL, "--format", "json", "--web", "127.0.0.1:0")
	defer p.Stop(t)
	web := clitest.ReadyLine(t, p.Out.String())["web"].(string)
	ctx := benchBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(web+"/")); err != nil {
		t.Fatal(err)
	}
	benchPoll(t, ctx, "document.getElementById('conn').textContent === 'live' && window.__omega.ready", 30*time.Second)
	benchEval[bool](t, ctx, "window.__notReloaded = true")
	if code, _, errs := clitest.Run(t, env, "trigger", "video.process_succeeded"); code != 0 {
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
	_, env := clitest.EmuEnv(t, emulator.Options{})
	env["NGROK_AUTHTOKEN"] = "x"
	p := clitest.StartInProcWith(t, clitest.FakeNgrokWithStatus(st), env, "--forward", "8888", "--format", "json", "--web", "127.0.0.1:0")
	defer p.Stop(t)
	web := clitest.ReadyLine(t, p.Out.String())["web"].(string)
	st <- tunnel.Status{State: tunnel.Disconnected, Err: errors.New("network gone")}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, sess := clitest.GetBody(t, web+"/api/session")
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
		_, sess := clitest.GetBody(t, web+"/api/session")
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
