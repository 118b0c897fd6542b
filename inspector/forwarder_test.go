package inspector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newApp(t *testing.T, answer http.HandlerFunc) (*appSpy, *url.URL) {
	t.Helper()
	app := &appSpy{answer: answer}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/hook")
	return app, u
}

func TestForwardReplayToOtherTarget(t *testing.T) {
	first, firstURL := newApp(t, nil)
	second, secondURL := newApp(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(202) })
	f := NewForwarder(ForwarderOptions{Target: firstURL})
	defer f.Close()

	res := f.Forward(context.Background(), Request{
		Method: "POST",
		// A captured request that already passed through omega-listen:
		// its old ids must not leak into the replay.
		Header:    http.Header{"Content-Type": {"application/json"}, HeaderCapture: {"c_old"}, HeaderReplay: {"c_older"}},
		Body:      []byte(`{"a":1}`),
		CaptureID: "c_new",
		ReplayOf:  "c_orig",
		Target:    secondURL,
	})
	if res.Err != nil || res.Status != 202 || res.URL != secondURL.String() || res.Duration <= 0 {
		t.Fatalf("result %+v", res)
	}
	if n := len(first.requests()); n != 0 {
		t.Errorf("default target got %d requests, want 0", n)
	}
	got := second.requests()[0]
	if got.Header.Get(HeaderCapture) != "c_new" || got.Header.Get(HeaderReplay) != "c_orig" ||
		len(got.Header[HeaderCapture]) != 1 || len(got.Header[HeaderReplay]) != 1 {
		t.Errorf("capture headers %q, replay %q; want c_new, c_orig", got.Header[HeaderCapture], got.Header[HeaderReplay])
	}
	if got.Path != "/hook" || string(got.Body) != `{"a":1}` {
		t.Errorf("app got %s %q", got.Path, got.Body)
	}
}

func TestForwardWithoutReplayHasNoReplayHeader(t *testing.T) {
	app, u := newApp(t, nil)
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()
	f.Forward(context.Background(), Request{Body: []byte("x"), CaptureID: "c_1"})
	got := app.requests()[0]
	if _, ok := got.Header[HeaderReplay]; ok {
		t.Errorf("replay header on a live delivery: %v", got.Header)
	}
	if got.Method != "POST" {
		t.Errorf("default method %s, want POST", got.Method)
	}
}

func TestForwardEmptyBody(t *testing.T) {
	app, u := newApp(t, nil)
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()
	res := f.Forward(context.Background(), Request{Method: "POST"})
	if res.Err != nil || res.Status != 200 {
		t.Fatalf("result %+v", res)
	}
	got := app.requests()[0]
	if got.Header.Get("Content-Length") != "0" || got.ContentLength != 0 || len(got.Body) != 0 || got.TransferEncoding != nil {
		t.Errorf("app got Content-Length %q (%d), TE %v, %d bytes; want an explicit 0", got.Header.Get("Content-Length"), got.ContentLength, got.TransferEncoding, len(got.Body))
	}
}

func TestForwardBasicAuthFromTarget(t *testing.T) {
	app, u := newApp(t, nil)
	u.User = url.UserPassword("me", "secret")
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()
	res := f.Forward(context.Background(), Request{Body: []byte("x")})
	if got := app.requests()[0].Header.Get("Authorization"); got != "Basic bWU6c2VjcmV0" {
		t.Errorf("Authorization %q, want basic auth from the target URL", got)
	}
	if strings.Contains(res.URL, "secret") {
		t.Errorf("Result.URL %q shows the password", res.URL)
	}
}

func TestForwardLargeAnswerWithLengthTruncated(t *testing.T) {
	_, u := newApp(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(MaxResponseBody+5))
		io.Copy(w, io.LimitReader(zeros{}, MaxResponseBody+5))
	})
	f := NewForwarder(ForwarderOptions{Target: u})
	defer f.Close()
	res := f.Forward(context.Background(), Request{Body: []byte("x")})
	if res.Err != nil || !res.Truncated || len(res.Body) != MaxResponseBody {
		t.Errorf("err %v, truncated %v, %d bytes; want the first %d bytes, truncated", res.Err, res.Truncated, len(res.Body), MaxResponseBody)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestForwardNoTarget(t *testing.T) {
	f := NewForwarder(ForwarderOptions{})
	res := f.Forward(context.Background(), Request{Body: []byte("x")})
	if res.ErrKind != ErrOther || res.Err == nil || !strings.Contains(res.Err.Error(), "no target") {
		t.Errorf("result %+v", res)
	}
}

func TestForwardTimeoutKind(t *testing.T) {
	_, u := newApp(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	f := NewForwarder(ForwarderOptions{Target: u, Timeout: 20 * time.Millisecond})
	defer f.Close()
	res := f.Forward(context.Background(), Request{Body: []byte("x")})
	var fe *ForwardError
	if res.ErrKind != ErrTimeout || !errors.As(res.Err, &fe) || !errors.Is(res.Err, context.DeadlineExceeded) || res.Status != 0 {
		t.Errorf("result kind %s err %v status %d, want a timeout", res.ErrKind, res.Err, res.Status)
	}
	if f.Timeout() != 20*time.Millisecond {
		t.Errorf("Timeout() = %v", f.Timeout())
	}
}

func TestForwardUsesGivenTransport(t *testing.T) {
	var seen *http.Request
	tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = r
		return &http.Response{StatusCode: 418, Header: http.Header{"X-T": {"1"}}, Body: io.NopCloser(strings.NewReader("teapot")), ContentLength: 6}, nil
	})
	u, _ := url.Parse("http://app.test/x")
	f := NewForwarder(ForwarderOptions{Target: u, Transport: tr})
	f.Close() // not ours to close: must not panic
	res := f.Forward(context.Background(), Request{Header: http.Header{"Host": {"evil.example"}}, Body: []byte("abc")})
	if res.Status != 418 || string(res.Body) != "teapot" || res.Header.Get("X-T") != "1" {
		t.Errorf("result %+v", res)
	}
	if seen.URL.String() != "http://app.test/x" || seen.Host != "" || seen.Header.Get("Host") != "" || seen.ContentLength != 3 {
		t.Errorf("request URL %s Host %q header Host %q length %d", seen.URL, seen.Host, seen.Header.Get("Host"), seen.ContentLength)
	}
}

func TestForwardErrorText(t *testing.T) {
	const u = "http://localhost:8888/webhook"
	opErr := func(op string, err error) error {
		return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		name string
		kind ErrKind
		err  error
		want string
	}{
		{"refused", ErrRefused, opErr("dial", syscall.ECONNREFUSED), "could not reach " + u + ": connection refused"},
		{"unknown host", ErrRefused, &net.OpError{Op: "dial", Err: &net.DNSError{Name: "nohost", IsNotFound: true}}, "could not reach " + u + ": unknown host nohost"},
		{"dial timeout", ErrRefused, &net.OpError{Op: "dial", Err: errors.New("i/o timeout")}, "could not reach " + u + ": i/o timeout"},
		{"no answer in time", ErrTimeout, context.DeadlineExceeded, u + " did not answer within 30s"},
		{"reset by the app", ErrOther, opErr("read", syscall.ECONNRESET), "forwarding to " + u + " failed: connection reset by the app"},
		{"answer cut short", ErrOther, fmt.Errorf("reading the answer: %w", io.ErrUnexpectedEOF), "forwarding to " + u + " failed: the app closed the connection before a complete answer"},
		{"anything else", ErrOther, errors.New("something odd"), "forwarding to " + u + " failed: something odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &ForwardError{Kind: tt.kind, URL: u, Timeout: 30 * time.Second, Err: tt.err}
			if got := e.Error(); got != tt.want {
				t.Errorf("%s %v: %q, want %q", tt.kind, tt.err, got, tt.want)
			}
			if !errors.Is(e, tt.err) {
				t.Errorf("ForwardError does not unwrap to %v", tt.err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	live := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want ErrKind
	}{
		{"cancelled after the deadline", expired, errors.New("net/http: request canceled"), ErrTimeout},
		{"deadline exceeded", live, context.DeadlineExceeded, ErrTimeout},
		{"dial failed", live, &net.OpError{Op: "dial", Err: errors.New("no route")}, ErrRefused},
		{"refused", live, syscall.ECONNREFUSED, ErrRefused},
		{"reset", live, &net.OpError{Op: "read", Err: syscall.ECONNRESET}, ErrOther},
		{"EOF", live, io.EOF, ErrOther},
		{"cancelled", live, context.Canceled, ErrOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.ctx, tt.err); got != tt.want {
				t.Errorf("classify(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}
