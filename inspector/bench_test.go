package inspector

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
)

// The benchmarks compare the Forwarder and the whole Handler with
// httputil.ReverseProxy on the same 4 KB delivery to the same local app.
// BenchmarkHandler and BenchmarkReverseProxy do the same work (take an
// incoming request, forward it, write the answer); the Handler also parses
// the envelope and records (here into a no-op Recorder).

var benchBody = func() []byte {
	prefix := `{"id":"630fac88bd5bb64cf8b24b99","coid":"omega-cop-OyJrgi5-fx","api_version":"v1","created":1661971592,` +
		`"type":"video.process_succeeded","endpoint_id":"6307b4d6570090479813a762","data":{"id":"v1","title":"`
	suffix := `"}}`
	return []byte(prefix + strings.Repeat("x", 4096-len(prefix)-len(suffix)) + suffix)
}()

var benchHeader = http.Header{
	"Content-Type":    {"application/json"},
	"User-Agent":      {"Go-http-client/2.0"},
	"Accept-Encoding": {"gzip"},
	"X-Request-Id":    {"b3f1c0de-1234-5678-9abc-def012345678"},
}

func benchApp(b *testing.B) *url.URL {
	b.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "webhook received\n")
	}))
	b.Cleanup(app.Close)
	u, _ := url.Parse(app.URL + "/webhook")
	return u
}

type nopRecorder struct{}

func (nopRecorder) Begin(context.Context, *capture.Capture) error  { return nil }
func (nopRecorder) Finish(context.Context, *capture.Capture) error { return nil }
func (nopRecorder) Record(context.Context, *capture.Capture) error { return nil }

// BenchmarkForward compares the Forwarder's direct client (the default
// for http:// targets), the same Forwarder on an http.Transport (its old
// path, still used for https), and httputil.ReverseProxy forwarding the
// same request.
func BenchmarkForward(b *testing.B) {
	target := benchApp(b)
	req := Request{Method: "POST", Header: benchHeader, Body: benchBody, CaptureID: "c_01m8ch1jqvm3057b2awrxy8tej"}
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		tr   http.RoundTripper
	}{
		{"direct", nil},
		{"transport", newTransport(nil)},
	} {
		f := NewForwarder(ForwarderOptions{Target: target, Transport: tt.tr})
		b.Cleanup(f.Close)
		if tr, ok := tt.tr.(*http.Transport); ok {
			b.Cleanup(tr.CloseIdleConnections)
		}
		b.Run(tt.name, func(b *testing.B) {
			benchRun(b, func() bool {
				res := f.Forward(ctx, req)
				return res.Err == nil && res.Status == 200
			})
		})
	}
	b.Run("reverseproxy", func(b *testing.B) {
		rp := benchReverseProxy(b, target)
		benchRun(b, func() bool { return serveOnce(rp, "/omega/"+testToken) })
	})
}

func BenchmarkHandler(b *testing.B) {
	f := NewForwarder(ForwarderOptions{Target: benchApp(b)})
	b.Cleanup(f.Close)
	h := NewHandler(HandlerOptions{Token: testToken, Forwarder: f, Recorder: nopRecorder{}})
	benchServe(b, h, h.Path())
}

func BenchmarkReverseProxy(b *testing.B) {
	benchServe(b, benchReverseProxy(b, benchApp(b)), "/omega/"+testToken)
}

func benchReverseProxy(b *testing.B, target *url.URL) *httputil.ReverseProxy {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = ""
		},
		Transport: tr,
	}
}

// benchServe feeds h in-process requests, so only the forward to the app
// crosses a socket.
func benchServe(b *testing.B, h http.Handler, path string) {
	benchRun(b, func() bool { return serveOnce(h, path) })
}

func serveOnce(h http.Handler, path string) bool {
	req := httptest.NewRequest("POST", path, bytes.NewReader(benchBody))
	for k, v := range benchHeader {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code == 200
}

// benchRun runs op serially and from GOMAXPROCS goroutines at once.
func benchRun(b *testing.B, op func() bool) {
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchBody)))
		for b.Loop() {
			if !op() {
				b.Fatal("forward failed")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchBody)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !op() {
					b.Error("forward failed")
					return
				}
			}
		})
	})
}

// BenchmarkParseEnvelope is the envelope inspection the Handler does on
// every delivery, which ReverseProxy does not: it explains most of the
// difference between BenchmarkHandler and BenchmarkReverseProxy.
func BenchmarkParseEnvelope(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		if _, err := omega.ParseEnvelope(benchBody); err != nil {
			b.Fatal(err)
		}
	}
}
