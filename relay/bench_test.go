package relay_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The relay's cost for one live delivery at concurrency 1: the same
// delivery straight to the listener and through the relay.
func BenchmarkLiveDelivery(b *testing.B) {
	for _, via := range []string{"direct", "relay"} {
		b.Run(via, func(b *testing.B) {
			r := startRelayB(b)
			a := startAppB(b)
			l := startListenerB(b, r, a)
			u := l.webhookURL()
			if via == "direct" {
				u = "http://" + l.tun.Addr().String() + "/omega/" + pathTok
			}
			body := []byte(`{"id":"630fac88bd5bb64cf8b24b99","type":"video.process_succeeded","data":{"pad":"` + strings.Repeat("x", 4000) + `"}}`)
			b.ResetTimer()
			for b.Loop() {
				res, err := http.Post(u, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					b.Fatalf("status %d", res.StatusCode)
				}
				<-l.done
			}
		})
	}
}

// Draining a queue: deliveries per second through the whole path.
func BenchmarkDrain(b *testing.B) {
	r := startRelayB(b)
	a := startAppB(b)
	n := b.N
	for i := 0; i < n; i++ {
		res, err := http.Post(r.url+"/c/alice/omega/"+pathTok, "application/json", strings.NewReader(`{"id":"x"}`))
		if err != nil || res.StatusCode != 202 {
			b.Fatal(err, res)
		}
		res.Body.Close()
	}
	b.ResetTimer()
	l := startListenerB(b, r, a)
	for range n {
		<-l.done
	}
}
