// Package clitest runs omega-listen's commands in a test: the whole
// command line in this process (Run, StartInProc) with the Factory's seams
// a test sets, and the small things command tests share (an Omega
// emulator and its environment, a local app, a seeded store, free ports).
package clitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/omega/emulator"
	"github.com/omega-listen/omega-listen/tunnel"
	"github.com/spf13/cobra"
)

// Seam sets the factory's test seams (a fake ngrok, the screen's size…)
// before a command line runs.
type Seam func(*cmdutil.Factory)

// Run executes omega-listen in-process with env and returns its exit code
// and output.
func Run(t testing.TB, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return RunWith(t, nil, env, args...)
}

// RunWith is Run with the factory's seams set by seam.
func RunWith(t testing.TB, seam Seam, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	s, out, errb := cmdutil.TestStreams(env)
	f := cmdutil.NewFactory(s)
	if seam != nil {
		seam(f)
	}
	code = cli.Run(args, f)
	return code, out.String(), errb.String()
}

// EmuEnv starts an Omega emulator for the test, and returns the
// environment that points omega-listen at it, with a data dir of its own.
func EmuEnv(t testing.TB, o emulator.Options) (*emulator.Server, map[string]string) {
	t.Helper()
	emu, err := emulator.Start("", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu, map[string]string{"OMEGA_BASE_URL": emu.BaseURL, "OMEGA_API_KEY": emu.APIKey(), "OMEGA_LISTEN_HOME": t.TempDir()}
}

// LockedBuffer is a bytes.Buffer safe to write from one goroutine while
// another reads it.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// InProc is `omega-listen` (listen) run by cli.Run in this process.
type InProc struct {
	Sig      chan os.Signal
	Code     chan int
	Exited   chan int // codes passed to Streams.Exit (a second Ctrl-C)
	Out, Err *LockedBuffer
}

// StartInProc starts a listener with env and args and waits for its ready
// line.
func StartInProc(t testing.TB, env map[string]string, args ...string) *InProc {
	t.Helper()
	return StartInProcWith(t, nil, env, args...)
}

// StartInProcWith is StartInProc with the factory's seams set by seam.
func StartInProcWith(t testing.TB, seam Seam, env map[string]string, args ...string) *InProc {
	t.Helper()
	p := &InProc{Sig: make(chan os.Signal, 2), Code: make(chan int, 1), Exited: make(chan int, 1), Out: &LockedBuffer{}, Err: &LockedBuffer{}}
	s := cmdutil.Streams{In: strings.NewReader(""), Out: p.Out, Err: p.Err, Getenv: func(k string) string { return env[k] },
		Signals: p.Sig, Exit: func(code int) { p.Exited <- code }}
	f := cmdutil.NewFactory(s)
	if seam != nil {
		seam(f)
	}
	go func() { p.Code <- cli.Run(args, f) }()
	deadline := time.After(20 * time.Second)
	for o := p.Out.String(); !strings.Contains(o, "Ready!") && !strings.Contains(o, `"type":"ready"`); o = p.Out.String() {
		select {
		case c := <-p.Code:
			t.Fatalf("exited %d before ready: %s", c, p.Err)
		case <-deadline:
			t.Fatalf("not ready: %s", p.Err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return p
}

// Stop interrupts the listener and wants it to exit 0.
func (p *InProc) Stop(t testing.TB) {
	t.Helper()
	p.Sig <- os.Interrupt
	select {
	case c := <-p.Code:
		if c != 0 {
			t.Fatalf("exit %d: %s", c, p.Err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop")
	}
}

// FakeNgrok stands in for ngrok: a local listener that claims the domain's
// URL.
func FakeNgrok(f *cmdutil.Factory) {
	f.OpenNgrok = func(ctx context.Context, o tunnel.NgrokOptions) (tunnel.Tunnel, error) {
		return tunnel.ListenNone(ctx, tunnel.NoneOptions{ListenAddr: o.ListenAddr, PublicURL: "https://" + o.Domain})
	}
}

// StatusTunnel is a none tunnel whose status stream the test drives.
type StatusTunnel struct {
	tunnel.Tunnel
	ch chan tunnel.Status
}

func (s *StatusTunnel) Status() <-chan tunnel.Status { return s.ch }

// FakeNgrokWithStatus makes --tunnel ngrok open a StatusTunnel (a none
// tunnel) whose status the test sends on st.
func FakeNgrokWithStatus(st chan tunnel.Status) Seam {
	return func(f *cmdutil.Factory) {
		f.OpenNgrok = func(ctx context.Context, o tunnel.NgrokOptions) (tunnel.Tunnel, error) {
			tun, err := tunnel.ListenNone(ctx, tunnel.NoneOptions{ListenAddr: o.ListenAddr})
			return &StatusTunnel{tun, st}, err
		}
	}
}

// FreePort is a port nothing listens on (now).
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// ClosedPort is a local address nothing listens on (now).
func ClosedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// WaitFor waits until s() holds want; the listener prints it right after
// its ready line.
func WaitFor(t testing.TB, s func() string, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", want, s())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s()
}

// ReadyLine is the listener's JSON ready line in out.
func ReadyLine(t testing.TB, out string) map[string]any {
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

// GetBody GETs url: its status and body.
func GetBody(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// App is a local app that records what it gets and answers status.
type App struct {
	*httptest.Server
	Status atomic.Int32 // what it answers
	mu     sync.Mutex
	bodies [][]byte
	hdrs   []http.Header
}

// NewApp starts an App answering status, closed when the test ends.
func NewApp(t testing.TB, status int) *App {
	t.Helper()
	a := &App{}
	a.Status.Store(int32(status))
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.bodies = append(a.bodies, b)
		a.hdrs = append(a.hdrs, r.Header.Clone())
		a.mu.Unlock()
		w.WriteHeader(int(a.Status.Load()))
	}))
	t.Cleanup(a.Close)
	return a
}

// Headers are the headers of the requests it got, in order.
func (a *App) Headers() []http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]http.Header(nil), a.hdrs...)
}

// Got is the bodies it got, in order.
func (a *App) Got() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([][]byte(nil), a.bodies...)
}

// SeedCaptures records deliveries to target that the app answered with
// status, as a listener would have, in the store in dir.
func SeedCaptures(t testing.TB, dir, target string, statuses ...int) []*capture.Capture {
	t.Helper()
	st, err := capture.Open(dir, capture.Options{Retain: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []*capture.Capture
	for _, status := range statuses {
		body, _ := omega.SampleEvent(omega.TypeProcessFailed, "ep_1", "")
		env, _ := omega.ParseEnvelopeHead(body)
		c := &capture.Capture{
			Meta: capture.Meta{
				Method: "POST", Path: inspector.RedactedPath,
				EventID: env.ID, EventType: env.Type, EndpointID: env.EndpointID,
				Target: target, Status: status, SentStatus: status,
			},
			Headers: http.Header{"Content-Type": {"application/json"}},
			Body:    body,
		}
		if status == 0 {
			c.Error, c.SentStatus = "could not reach "+target+": connection refused", 502
		}
		if err := st.Record(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// CountCaptures counts the captures in the store in dir.
func CountCaptures(t testing.TB, dir string) int {
	t.Helper()
	st, err := capture.Open(dir, capture.Options{Retain: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.Count(context.Background(), capture.Query{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// FlagCase is one command line of a flag table: what it must parse to, or
// the usage error it must be refused with.
type FlagCase[O any] struct {
	Name  string
	Args  []string
	Check func(*O) bool // what the checked options hold (nil: only that they parse)
	Usage string        // instead: a usage error whose words contain this
}

// CheckFlags runs each case, as a named subtest, through the command
// build makes (NewCmdX), its run replaced by one that keeps the checked
// options. Nothing runs.
func CheckFlags[O any](t *testing.T, build func(*cmdutil.Factory, func(*O) error) *cobra.Command, cases []FlagCase[O]) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := parseFlags(t, build, tc.Args)
			var ue *cmdutil.UsageError
			switch {
			case tc.Usage != "":
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.Usage) {
					t.Fatalf("err = %v, want a usage error naming %q", err, tc.Usage)
				}
			case err != nil:
				t.Fatal(err)
			case tc.Check != nil && !tc.Check(got):
				t.Fatalf("parsed %+v", got)
			}
		})
	}
}

// parseFlags parses args with the command build makes: the checked
// options, or the error the command line is refused with.
func parseFlags[O any](t testing.TB, build func(*cmdutil.Factory, func(*O) error) *cobra.Command, args []string) (*O, error) {
	t.Helper()
	s, _, _ := cmdutil.TestStreams(map[string]string{"OMEGA_LISTEN_HOME": t.TempDir()})
	f := cmdutil.NewFactory(s)
	var got *O
	cmd := build(f, func(o *O) error { got = o; return nil })
	f.AddGlobalFlags(cmd)
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	if err != nil && got != nil {
		t.Fatalf("%v: the command ran, and then failed: %v", args, err)
	}
	return got, err
}
