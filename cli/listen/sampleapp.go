package listen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/lines"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
)

// sampleApp is the app `--emulate` forwards to when no --forward is given:
// a local HTTP server that answers every POST 200 with a JSON account of
// what it received, so the first try ends in a success with nothing else
// running. It is a stand-in, said so everywhere it shows.
type sampleApp struct {
	srv *http.Server
	url string
	// onReceive is told of each request it answered; it must not block.
	onReceive func(sampleReceipt)
	// lines, once set, prints what it received (lines, not the screen).
	lines atomic.Pointer[lines.Printer]
}

// sampleReceipt is what the sample app saw of one request.
type sampleReceipt struct {
	Type      string `json:"type,omitempty"`
	EventID   string `json:"event_id,omitempty"`
	Bytes     int    `json:"bytes"`
	CaptureID string `json:"capture_id,omitempty"` // the Omega-Listen-Capture header
	Replay    string `json:"replay_of,omitempty"`  // the Omega-Listen-Replay header
	Status    int    `json:"status"`
}

// sampleAppPath is where the sample app takes deliveries.
const sampleAppPath = "/webhook"

// startSampleApp listens on a free loopback port.
func startSampleApp(onReceive func(sampleReceipt)) (*sampleApp, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the built-in sample app: %w", err)
	}
	a := &sampleApp{url: "http://" + ln.Addr().String() + sampleAppPath, onReceive: onReceive}
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

func (a *sampleApp) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "the omega-listen sample app takes POSTs", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	rc := sampleReceipt{Bytes: len(body), CaptureID: r.Header.Get(inspector.HeaderCapture),
		Replay: r.Header.Get(inspector.HeaderReplay), Status: http.StatusOK}
	if env, err := omega.ParseEnvelopeHead(body); err == nil {
		rc.Type, rc.EventID = env.Type, env.ID
	}
	out, _ := json.Marshal(struct {
		OK       bool          `json:"ok"`
		App      string        `json:"app"`
		Received sampleReceipt `json:"received"`
	}{true, "omega-listen sample app: replace it with your own with --forward", rc})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rc.Status)
	_, _ = w.Write(append(out, '\n'))
	if a.onReceive != nil {
		a.onReceive(rc)
	}
}

func (a *sampleApp) Close() error { return a.srv.Close() }

// sampleLine is how the lines show what the sample app received.
func sampleLine(rc sampleReceipt) string {
	what := "a request"
	if rc.Type != "" {
		what = cmdutil.Clean(rc.Type) + " [" + cmdutil.Clean(rc.EventID) + "]"
	}
	return fmt.Sprintf("%s  sample app received %s, %d bytes, and answered %d", time.Now().Format(lines.TimeLayout), what, rc.Bytes, rc.Status)
}

// startSample starts the sample app and makes it the target. Its lines
// (what it received) go out with the deliveries', or nowhere on the
// screen, which shows the app's answer instead.
func (l *listener) startSample() error {
	var app *sampleApp
	app, err := startSampleApp(func(rc sampleReceipt) {
		p := app.lines.Load()
		if p == nil {
			return
		}
		p.Emit(sampleLine(rc), struct {
			Type string `json:"type"`
			sampleReceipt
		}{"sample_app", rc})
	})
	if err != nil {
		return err
	}
	l.sample = app
	l.cfg.target, err = url.Parse(app.url)
	return err
}
