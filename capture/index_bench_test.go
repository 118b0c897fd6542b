//go:build unix

package capture

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkIndex measures the background indexer's cost per capture (one
// begin and one finish record), by batch size.
func BenchmarkIndex(b *testing.B) {
	for _, batch := range []int{1, 16, 128} {
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
					recs = append(recs, journalRecord{kind: kindBegin, c: c})
					finishCapture(&c)
					c.State = StateDone
					recs = append(recs, journalRecord{kind: kindFinish, c: c})
				}
				if err := s.apply(recs); err != nil {
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
