package feed

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/omega-listen/omega-listen/capture"
)

// BenchmarkDelivery is what the stream costs one delivery: the store
// publishes Received and Completed, and every presenter (the lines and the
// web page's counter: two subscribers) reads both. "burst32" publishes 32
// deliveries before waiting for the presenters to read them (a listener at
// concurrency 32); "one" waits after each delivery (concurrency 1, where
// every hop wakes a sleeping goroutine). "bus" is the floor: the same
// presenters reading capture.Bus subscriptions directly, as the line
// printer did before the stream. cpu-ns/op is the process's CPU time (user
// and system) per delivery, which counts the goroutines' wake-ups.
func BenchmarkDelivery(b *testing.B) {
	for _, burst := range []int{1, 32} {
		name := "one"
		if burst > 1 {
			name = fmt.Sprintf("burst%d", burst)
		}
		for _, via := range []string{"bus", "feed"} {
			b.Run(name+"/"+via, func(b *testing.B) { benchDelivery(b, via, burst, 2) })
		}
	}
}

func benchDelivery(b *testing.B, via string, burst, presenters int) {
	bus := capture.NewBus()
	s := New(bus)
	var target atomic.Int64 // completions each presenter is to read before saying so
	done := make(chan struct{}, presenters)
	present := func(completed func() bool) {
		n := int64(0)
		for completed() {
			if n++; n == target.Load() {
				done <- struct{}{}
			}
		}
	}
	for range presenters {
		if via == "feed" {
			sub := s.Subscribe(4096)
			defer sub.Close()
			go present(func() bool {
				for ev := range sub.C() {
					if ev.Lagged {
						panic("lagged")
					}
					if ev.Capture != nil && ev.Kind == capture.Completed {
						return true
					}
				}
				return false
			})
		} else {
			sub := bus.Subscribe(4096)
			defer sub.Close()
			go present(func() bool {
				for ev := range sub.C() {
					if ev.Lagged {
						panic("lagged")
					}
					if ev.Kind == capture.Completed {
						return true
					}
				}
				return false
			})
		}
	}
	c := &capture.Capture{Meta: capture.Meta{ID: "c", Method: "POST", Target: "/webhook"}, Body: make([]byte, 4096)}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	sent := int64(0)
	for i := 0; i < b.N; i += burst {
		k := min(burst, b.N-i)
		target.Store(sent + int64(k))
		for range k {
			sent++
			c.Seq = sent
			bus.Publish(capture.Received, c)
			bus.Publish(capture.Completed, c)
		}
		for range presenters {
			<-done
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}
