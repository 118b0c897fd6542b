package tunnel

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// TestNgrokOnline opens a real tunnel and sends a delivery through its
// public URL to a local app. It needs ngrok's servers, so it runs only when
// asked: NGROK_AUTHTOKEN set and OMEGA_LISTEN_ONLINE=1 (NGROK_DOMAIN
// optionally names a static domain).
func TestNgrokOnline(t *testing.T) {
	token := os.Getenv("NGROK_AUTHTOKEN")
	if token == "" || os.Getenv("OMEGA_LISTEN_ONLINE") != "1" {
		t.Skip("online test: set NGROK_AUTHTOKEN and OMEGA_LISTEN_ONLINE=1 to run it")
	}

	// The local app, and a receiver that forwards to it as omega-listen's does.
	got := make(chan string, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Method + " " + r.URL.Path + " " + string(b)
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "app ok")
	}))
	defer app.Close()
	target, _ := url.Parse(app.URL)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tun, err := ListenNgrok(ctx, NgrokOptions{
		AuthToken:   token,
		Domain:      os.Getenv("NGROK_DOMAIN"),
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Description: "omega-listen online test",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tun.PublicURL(), "https://") {
		t.Errorf("PublicURL = %q", tun.PublicURL())
	}
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(tun)
	defer srv.Close()

	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tun.PublicURL()+"/omega/online-test", strings.NewReader(`{"event":"video.process_succeeded"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ngrok-skip-browser-warning", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || string(body) != "app ok" {
		t.Errorf("answer %d %q, want the app's 202 \"app ok\"", resp.StatusCode, body)
	}
	select {
	case d := <-got:
		if d != `POST /omega/online-test {"event":"video.process_succeeded"}` {
			t.Errorf("the app got %q", d)
		}
	case <-ctx.Done():
		t.Fatal("the delivery never reached the app")
	}

	closed := make(chan error, 1)
	go func() { closed <- tun.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(ngHangGuard):
		t.Fatal("Close hung")
	}
}
