//go:build unix

package capture

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkIndex measures the SQLite half of the indexer's cost per capture
// (one begin and one finish record, already decoded), by batch size, in a
// store without a retention limit. BenchmarkIndexer measures the whole job.
func BenchmarkIndex(b *testing.B) {
	for _, batch := range []int{1, 16, 100, 128, 800} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := openBench(b)
			tmpl := benchCapture()
			b.ReportAllocs()
			n := 0
			var ru0 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			for b.Loop() {
				recs := make([]journalRecord, 0, 2*batch)
				for range batch {
					c := *tmpl
					c.ID = NewID()
					n++
					c.Seq = int64(n)
					c.State = StatePending
					// The blobs' places are made up: apply does not look.
					req := blob{off: int64(n) * 8192, n: int64(len(c.Body)) + 600, body: len(c.Body)}
					recs = append(recs, journalRecord{kind: kindBegin, c: c, req: req})
					finishCapture(&c)
					c.State = StateDone
					resp := blob{off: req.off + 5000, n: 70, body: len(c.RespBody)}
					recs = append(recs, journalRecord{kind: kindFinish, c: c, resp: resp})
				}
				if err := s.apply("bench", recs); err != nil {
					b.Fatal(err)
				}
			}
			var ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/capture")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/capture")
		})
	}
}

// BenchmarkIndexer measures the indexer's whole job per capture (a 4 KB
// body, one Begin and one Finish): reading the journal back, decoding it,
// the SQLite transaction, and, in the "full" cases, pruning at the
// retention limit, where a long-running listener always is. Each iteration
// indexes one batch. cpu-us/capture counts every thread of the process (the
// GC included) while the batch is indexed, not while it is written.
func BenchmarkIndexer(b *testing.B) {
	for _, tc := range []struct {
		name   string
		retain int
	}{{"full", DefaultRetain}, {"unlimited", -1}} {
		for _, batch := range []int{1, 50, 100, 800} {
			b.Run(fmt.Sprintf("%s/batch=%d", tc.name, batch), func(b *testing.B) { benchIndexer(b, tc.retain, batch) })
		}
	}
}

func benchIndexer(b *testing.B, retain, batch int) {
	s, err := Open(b.TempDir(), Options{Retain: retain, noIndexer: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.crash)
	tmpl := benchCapture()
	write := func(n int) {
		for range n {
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
	for range max(retain, 0) / 500 { // start at the retention limit
		write(500)
		if err := s.indexAvailable(); err != nil {
			b.Fatal(err)
		}
	}
	var cpu time.Duration
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		write(batch)
		t0 := cpuTime()
		b.StartTimer()
		if err := s.indexAvailable(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - t0
		n += batch
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "us/capture")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-us/capture")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBeginFinishPaced writes one capture per 100µs or so, as a
// listener behind a fast local app would, with the indexer running. It
// reports the time spent in Begin and Finish, and the CPU the whole store
// (indexer included) spends per capture.
func BenchmarkBeginFinishPaced(b *testing.B) {
	b.Run("indexer", func(b *testing.B) { benchPaced(b, openBench(b)) })
	b.Run("journal-only", func(b *testing.B) { benchPaced(b, openBenchJournal(b)) })
}

func benchPaced(b *testing.B, s *Store) {
	tmpl := benchCapture()
	var inStore time.Duration
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	n := 0
	for b.Loop() {
		c := *tmpl
		t0 := time.Now()
		if err := s.Begin(ctx, &c); err != nil {
			b.Fatal(err)
		}
		inStore += time.Since(t0)
		time.Sleep(100 * time.Microsecond) // the forward
		finishCapture(&c)
		t0 = time.Now()
		if err := s.Finish(ctx, &c); err != nil {
			b.Fatal(err)
		}
		inStore += time.Since(t0)
		n++
	}
	if !s.noIndexer {
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(inStore.Nanoseconds())/float64(n), "ns-in-store/op")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
}
