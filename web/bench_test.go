//go:build unix

package web

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/omega-listen/omega-listen/capture"
)

// BenchmarkLiveFeedCPU measures what open live feeds cost per delivery
// (its received and completed events): the process's CPU time, which here
// includes the Go clients reading the feeds, divided by deliveries, with
// 0, 1 and 8 feeds open. Deliveries are published in bursts of 50 with a
// millisecond between, about 50 000 a second.
//
//	go test -run '^$' -bench BenchmarkLiveFeedCPU ./web
func BenchmarkLiveFeedCPU(b *testing.B) {
	for _, feeds := range []int{0, 1, 8} {
		b.Run(fmt.Sprintf("feeds=%d", feeds), func(b *testing.B) {
			f := newFixture(b)
			var total int64
			for range feeds {
				ws, _, err := websocket.DefaultDialer.Dial("ws://"+f.addr+"/api/live", http.Header{"Origin": {f.url}})
				if err != nil {
					b.Fatal(err)
				}
				defer ws.Close()
				go func() {
					for {
						var m liveMsg
						if ws.ReadJSON(&m) != nil {
							return
						}
					}
				}()
			}
			body := []byte(`{"id":"630fac88bd5bb64cf8b24b99","type":"video.process_succeeded","data":{"video":{"id":"v_1"}}}`)
			var ru0 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			seq := int64(0)
			for b.Loop() {
				seq++
				c := &capture.Capture{
					Meta: capture.Meta{ID: fmt.Sprint("c", seq), Seq: seq, State: capture.StatePending, Method: "POST", Path: "/omega/{token}",
						EventType: "video.process_succeeded", ReceivedAt: time.Now()},
					Body: body,
				}
				f.bus.Publish(capture.Received, c)
				d := *c
				d.State, d.Status, d.SentStatus, d.CompletedAt = capture.StateDone, 200, 200, time.Now()
				f.bus.Publish(capture.Completed, &d)
				total++
				if seq%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			// Let the feeds catch up (or be told to resync): idle time
			// costs no CPU.
			time.Sleep(time.Second)
			var ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(total)/1000, "cpu-us/delivery")
		})
	}
}
