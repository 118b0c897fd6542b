package web

// Browser tests: the page in real headless Chromium, driven by chromedp.
// They need Chromium (Debian's `chromium` package, at /usr/bin/chromium, or
// the binary $OMEGA_LISTEN_CHROMIUM names); without it they fail, they do
// not skip: .ci/run installs it.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel func()
	browserErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	os.Exit(code)
}

func chromiumPath() string {
	if p := os.Getenv("OMEGA_LISTEN_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// startBrowser starts one headless Chromium for the package's tests, with
// a fresh profile.
func startBrowser() {
	path := chromiumPath()
	if _, err := os.Stat(path); err != nil {
		browserErr = fmt.Errorf("the browser tests need headless Chromium: %v (install Debian's chromium package, or set OMEGA_LISTEN_CHROMIUM to a Chromium binary)", err)
		return
	}
	// A loaded machine now and then sees Chromium exit before it is up:
	// a fresh profile and another try, three times at most.
	for try := 1; ; try++ {
		err := launchBrowser(path)
		if err == nil {
			return
		}
		if try == 3 {
			browserErr = err
			return
		}
		fmt.Fprintf(os.Stderr, "browser tests: try %d: %v\n", try, err)
		time.Sleep(time.Second)
	}
}

func launchBrowser(path string) error {
	dir, err := os.MkdirTemp("", "omega-listen-chromium-")
	if err != nil {
		return err
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1400, 900),
		chromedp.WSURLReadTimeout(60*time.Second),
	)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		os.RemoveAll(dir)
		return fmt.Errorf("starting %s: %w", path, err)
	}
	browserCtx = bctx
	browserCancel = func() { bcancel(); acancel(); os.RemoveAll(dir) }
	return nil
}

// tab is one browser tab, watched for dialogs and uncaught exceptions.
type tab struct {
	ctx context.Context
	t   testing.TB

	mu         sync.Mutex
	dialogs    []string
	exceptions []string
}

func newTab(t testing.TB) *tab {
	t.Helper()
	browserOnce.Do(startBrowser)
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	tb := &tab{t: t}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, string(e.Type)+": "+e.Message)
			tb.mu.Unlock()
			go chromedp.Call(tb.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		case *runtime.EventExceptionThrown:
			tb.mu.Lock()
			tb.exceptions = append(tb.exceptions, e.ExceptionDetails.Text+" "+describeException(e.ExceptionDetails))
			tb.mu.Unlock()
		}
	}))
	tctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	tb.ctx = tctx
	t.Cleanup(func() {
		tcancel()
		cancel()
		tb.mu.Lock()
		defer tb.mu.Unlock()
		if len(tb.exceptions) > 0 {
			t.Errorf("the page threw: %q", tb.exceptions)
		}
	})
	return tb
}

func describeException(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// until waits (generously) for a JavaScript predicate to hold.
func (tb *tab) until(what, predicate string) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		tb.t.Fatalf("waiting for %s (%s): %v", what, predicate, err)
	}
}

func (tb *tab) open(f *fixture) {
	tb.t.Helper()
	tb.do("opening the page", chromedp.Navigate(f.url+"/"))
	tb.until("the page to load its first rows", "window.__omega && window.__omega.ready")
}

func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

func rowSel(id string) string { return fmt.Sprintf(`#list .row[data-id=%q]`, id) }

// screenshotDir is where the browser tests leave their pictures.
func screenshotDir(t testing.TB) string {
	dir := os.Getenv("OMEGA_LISTEN_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	b, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(screenshotDir(tb.t), name+".png")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot: %s", p)
}

const sampleBody = `{"id":"630fac88bd5bb64cf8b24b99","type":"video.process_succeeded","data":{"video":{"id":"v_1","title":"Launch day","duration":128.5,"renditions":[{"height":720},{"height":1080}],"public":true,"thumbnail":null}}}`

func TestBrowserLiveDeliveryDetailAndScreenshots(t *testing.T) {
	f := newFixture(t)
	f.deliver("video.deleted", `{"type":"video.deleted"}`, 200)
	f.deliver("video.process_failed", `{"type":"video.process_failed"}`, 500)
	tb := newTab(t)
	tb.open(f)
	tb.until("the two stored deliveries", "document.querySelectorAll('#list .row').length === 2")
	eval[bool](tb, "window.__notReloaded = true")

	c := f.deliver("video.process_succeeded", sampleBody, 0)
	tb.until("the new delivery to appear live", fmt.Sprintf("!!document.querySelector(%q)", rowSel(c.ID)))
	tb.until("it to show pending", fmt.Sprintf("document.querySelector(%q).textContent.includes('…')", rowSel(c.ID)))
	f.finish(c, 200)
	tb.until("it to show its outcome", fmt.Sprintf("document.querySelector(%q + ' .st').textContent === '200'", rowSel(c.ID)))
	if !eval[bool](tb, "window.__notReloaded === true") {
		t.Fatal("the page reloaded to show the delivery")
	}
	if got := eval[string](tb, "document.querySelector('#list .row').dataset.id"); got != c.ID {
		t.Errorf("first row is %s, want the newest %s", got, c.ID)
	}
	tb.until("the counters", "document.getElementById('counters').textContent.includes('3 total') && document.getElementById('counters').textContent.includes('2 ok')")
	tb.screenshot("list")

	tb.click(rowSel(c.ID))
	tb.until("the detail", "!document.getElementById('detail').hidden && document.getElementById('d-title').textContent.includes('"+c.ID+"')")
	outcome := eval[string](tb, "document.getElementById('d-outcome').textContent")
	if !strings.Contains(outcome, "Omega was answered200") || !strings.Contains(outcome, "200 in 3.0 ms") {
		t.Errorf("outcome = %q", outcome)
	}
	if rb := eval[string](tb, "document.getElementById('d-resp-body').textContent"); !strings.Contains(rb, `"ok": true`) {
		t.Errorf("the app's answer body = %q", rb)
	}
	// Pretty: a folding tree of the body, with the raw bytes a click away.
	if n := eval[int](tb, "document.querySelectorAll('#d-body.tree details').length"); n < 4 {
		t.Errorf("the body is not a tree (%d foldable nodes)", n)
	}
	if txt := eval[string](tb, "document.getElementById('d-body').textContent"); !strings.Contains(txt, `"title": "Launch day"`) || !strings.Contains(txt, "2 items") {
		t.Errorf("pretty body = %q", txt)
	}
	tb.click("#raw-toggle")
	if raw := eval[string](tb, "document.getElementById('d-raw').textContent"); raw != sampleBody {
		t.Errorf("raw body = %q, want the bytes as received", raw)
	}
	tb.click("#raw-toggle")
	tb.screenshot("detail")
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	bg := eval[string](tb, "getComputedStyle(document.body).backgroundColor")
	if bg == "rgb(255, 255, 255)" {
		t.Errorf("dark mode: background still %s", bg)
	}
	tb.screenshot("detail-dark")
}

func TestBrowserReplayAndEditReplay(t *testing.T) {
	f := newFixture(t)
	c := f.deliver("video.process_succeeded", sampleBody, 200)
	tb := newTab(t)
	tb.open(f)
	tb.click(rowSel(c.ID))
	tb.until("the detail", "document.getElementById('d-title').textContent.includes('"+c.ID+"')")

	tb.click("#replay")
	tb.until("a replay row", "document.querySelectorAll('#list .row.replay').length === 1")
	if mark := eval[string](tb, "document.querySelector('#list .row.replay .mark').textContent"); mark != "replay" {
		t.Errorf("replay row mark = %q", mark)
	}
	waitFor(t, "the app to get the replay", func() bool { return len(f.appGot()) == 1 })
	tb.click("#curl")
	tb.until("the curl command copied or shown", "document.getElementById('action-status').textContent === 'curl command copied' || document.getElementById('curl-text').value.startsWith('curl ')")
	if got := f.appGot()[0]; string(got) != sampleBody {
		t.Errorf("replay sent %q, want the original", got)
	}

	tb.click("#edit")
	tb.until("the editor", "!document.getElementById('editor').hidden")
	// An edit that is not JSON cannot be sent.
	setText(tb, "edit-body", `{"id": `)
	tb.until("the JSON error", "document.getElementById('edit-send').disabled && document.getElementById('edit-error').textContent.startsWith('Not JSON')")
	edited := "{\n  \"id\": \"edited\",\t\"note\": \"ünïcödé ✓ \\u003c\",\n  \"n\": 1.50\n}\n"
	setText(tb, "edit-body", edited)
	setText(tb, "edit-headers", "Content-Type: application/json\nX-Edited: by the page")
	tb.until("the send button", "!document.getElementById('edit-send').disabled")
	tb.click("#edit-send")
	waitFor(t, "the app to get the edited replay", func() bool { return len(f.appGot()) == 2 })
	if got := f.appGot()[1]; string(got) != edited {
		t.Errorf("edited replay sent %q, want %q byte for byte", got, edited)
	}
	f.mu.Lock()
	h := f.appHdrs[1]
	f.mu.Unlock()
	if h.Get("X-Edited") != "by the page" || h.Get("User-Agent") == "Omega/1" {
		t.Errorf("edited headers: %v", h)
	}
	tb.until("two replay rows and the editor closed", "document.querySelectorAll('#list .row.replay').length === 2 && document.getElementById('editor').hidden")
	// The page opens the new capture, which names its original.
	tb.until("the edited replay's detail", "document.getElementById('d-lineage').textContent.includes('replay of "+c.ID+"')")
}

// setText sets a textarea as typing would (an input event follows).
func setText(tb *tab, id, text string) {
	tb.t.Helper()
	eval[bool](tb, fmt.Sprintf("(() => { const e = document.getElementById(%q); e.value = %s; e.dispatchEvent(new Event('input')); return true })()", id, jsString(text)))
}

func jsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestBrowserFilterNarrows(t *testing.T) {
	f := newFixture(t)
	f.deliver("video.process_succeeded", `{"a":1}`, 200)
	bad := f.deliver("video.process_failed", `{"a":2}`, 503)
	f.deliver("video.deleted", `{"a":3}`, 200)
	tb := newTab(t)
	tb.open(f)
	tb.until("three rows", "document.querySelectorAll('#list .row').length === 3")
	tb.do("typing a filter", chromedp.SendKeys(chromedp.CSS("#filter"), "status:5xx\r"))
	tb.until("one row", fmt.Sprintf("document.querySelectorAll('#list .row').length === 1 && !!document.querySelector(%q)", rowSel(bad.ID)))
	// Live deliveries are filtered too, and only matches show.
	tb.until("the filtered feed", "document.getElementById('conn').textContent === 'live'")
	f.deliver("video.deleted", `{"a":4}`, 200)
	late := f.deliver("video.deleted", `{"a":5}`, 500)
	tb.until("the live match", fmt.Sprintf("!!document.querySelector(%q)", rowSel(late.ID)))
	if n := eval[int](tb, "document.querySelectorAll('#list .row').length"); n != 2 {
		t.Errorf("%d rows, want the 2 matches", n)
	}
	if href := eval[string](tb, "document.getElementById('har-all').getAttribute('href')"); href != "/api/export.har?filter=status%3A5xx" {
		t.Errorf("HAR link = %q", href)
	}
	setText(tb, "filter", "")
	tb.do("a bad filter", chromedp.SendKeys(chromedp.CSS("#filter"), "status:7xx\r"))
	tb.until("the filter's error", "document.getElementById('filter-error').textContent.includes('status:7xx')")
}

func TestBrowserHostileBodyIsOnlyText(t *testing.T) {
	f := newFixture(t)
	hostile := `{"x":"<img src=x onerror=alert(1)>","y":"</script><script>alert(2)</script>","z":"<b id=injected>bold</b>"}`
	c := f.deliver(`<img src=x onerror=alert(3)>`, hostile, 200)
	tb := newTab(t)
	tb.open(f)
	tb.until("the row", fmt.Sprintf("!!document.querySelector(%q)", rowSel(c.ID)))
	tb.click(rowSel(c.ID))
	tb.until("the detail", "document.getElementById('d-title').textContent.includes('"+c.ID+"')")
	tb.click("#raw-toggle")
	time.Sleep(300 * time.Millisecond) // an onerror would fire by now: nothing more may come
	if n := eval[int](tb, "document.querySelectorAll('img, #injected, body script:not([src])').length"); n != 0 {
		t.Errorf("%d elements made from the body", n)
	}
	if raw := eval[string](tb, "document.getElementById('d-raw').textContent"); raw != hostile {
		t.Errorf("raw = %q, want the characters as sent", raw)
	}
	if ev := eval[string](tb, "document.querySelector("+jsString(rowSel(c.ID))+").textContent"); !strings.Contains(ev, "<img src=x onerror=alert(3)>") {
		t.Errorf("row text = %q, want the event type as text", ev)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.dialogs) > 0 {
		t.Errorf("the page opened dialogs: %q", tb.dialogs)
	}
}

func TestBrowserListIsVirtualAndPagesBack(t *testing.T) {
	f := newFixture(t)
	for i := range 1500 {
		f.deliver("video.process_succeeded", fmt.Sprintf(`{"i":%d}`, i), 200)
	}
	tb := newTab(t)
	tb.open(f)
	for i := 0; i < 40 && eval[int](tb, "window.__omega.rowsInMemory()") < 1500; i++ {
		eval[bool](tb, "(() => { const l = document.getElementById('list'); l.scrollTop = l.scrollHeight; l.dispatchEvent(new Event('scroll')); return true })()")
		time.Sleep(100 * time.Millisecond)
	}
	if n := eval[int](tb, "window.__omega.rowsInMemory()"); n != 1500 {
		t.Fatalf("paged back to %d captures, want all 1500", n)
	}
	if n := eval[int](tb, "window.__omega.domRows()"); n > 80 {
		t.Errorf("%d rows in the DOM for 1500 captures: the list is not virtual", n)
	}
	if txt := eval[string](tb, "document.querySelector('#list .row:last-child').textContent"); txt == "" {
		t.Error("no row rendered at the bottom")
	}
}
