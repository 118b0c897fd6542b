package capture

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// benchCapture is a typical delivery: a 4 KB JSON body and the headers
// Omega sends.
func benchCapture() *Capture {
	body := make([]byte, 4096)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	return &Capture{
		Meta: Meta{
			SessionID:  "s_bench",
			RemoteAddr: "127.0.0.1:54321",
			Method:     http.MethodPost,
			Path:       "/omega/0123456789abcdefghijkl",
			EventID:    "630fac88bd5bb64cf8b24b99",
			EventType:  "video.process_succeeded",
			EndpointID: "6323940a",
			Target:     "http://localhost:8888/webhook",
		},
		Headers: http.Header{
			"Content-Type":     {"application/json"},
			"User-Agent":       {"Omega-Webhooks/1.0"},
			"Omega-Signature":  {"t=1764176401,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
			"X-Forwarded-For":  {"203.0.113.7"},
			"Content-Length":   {"4096"},
			"Accept-Encoding":  {"gzip"},
			"X-Request-Id":     {"req_6323940a1b2c"},
			"Omega-Event-Type": {"video.process_succeeded"},
		},
		Body: body,
	}
}

// finishCapture sets what the forwarder learns from the app.
func finishCapture(c *Capture) {
	c.Status = 200
	c.SentStatus = 200
	c.RespHeaders = http.Header{"Content-Type": {"text/plain"}, "Date": {"Wed, 26 Nov 2026 17:00:01 GMT"}}
	c.RespBody = []byte("ok")
	c.Duration = 3100 * time.Microsecond
}

// BenchmarkBeginFinish is the listener's hot path with the indexer running
// beside it, as in production. In this closed loop the indexer cannot keep
// up and competes for the CPUs; BenchmarkBeginFinishJournal is the write
// path alone.
func BenchmarkBeginFinish(b *testing.B) {
	benchBeginFinish(b, openBench(b))
}

func BenchmarkBeginFinishJournal(b *testing.B) {
	benchBeginFinish(b, openBenchJournal(b))
}

func BenchmarkBeginFinishParallel(b *testing.B) {
	benchBeginFinishParallel(b, openBench(b))
}

func BenchmarkBeginFinishParallelJournal(b *testing.B) {
	benchBeginFinishParallel(b, openBenchJournal(b))
}

func benchBeginFinish(b *testing.B, s *Store) {
	ctx := context.Background()
	tmpl := benchCapture()
	b.SetBytes(int64(len(tmpl.Body)))
	b.ReportAllocs()
	for b.Loop() {
		c := *tmpl
		if err := s.Begin(ctx, &c); err != nil {
			b.Fatal(err)
		}
		finishCapture(&c)
		if err := s.Finish(ctx, &c); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBeginFinishParallel(b *testing.B, s *Store) {
	ctx := context.Background()
	tmpl := benchCapture()
	b.SetBytes(int64(len(tmpl.Body)))
	b.ReportAllocs()
	// GOMAXPROCS times this many goroutines: about 32 on most machines.
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := *tmpl
			if err := s.Begin(ctx, &c); err != nil {
				b.Error(err)
				return
			}
			finishCapture(&c)
			if err := s.Finish(ctx, &c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), Options{Retain: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Error(err)
		}
	})
	return s
}

// openBenchJournal opens a store whose indexer does nothing.
func openBenchJournal(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), Options{Retain: -1, noIndexer: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.crash)
	return s
}
