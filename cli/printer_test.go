package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
)

// A printer that falls behind the bus prints what it missed from the store.
func TestPrinterCatchesUpFromTheStoreAfterLagging(t *testing.T) {
	store, err := capture.Open(t.TempDir(), capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	bus := capture.NewBus()
	sub := bus.Subscribe(1) // room for one event: the rest are dropped
	const n = 50
	for i := range n {
		c := &capture.Capture{Method: "POST", Path: "/omega/{token}", EventID: fmt.Sprintf("ev%02d", i), EventType: "video.deleted",
			Target: "http://app/", Status: 200, SentStatus: 200, Body: []byte("{}")}
		if err := store.Record(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		bus.Publish(capture.Completed, c)
	}
	out := &lockedBuffer{}
	p := newLinePrinter(out, false)
	done := make(chan struct{})
	go func() { p.follow(sub, store); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "read back from the store") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	sub.Close()
	<-done
	got := out.String()
	for i := range n {
		if id := fmt.Sprintf("[ev%02d]", i); strings.Count(got, id) != 1 {
			t.Errorf("%s printed %d times, want once:\n%s", id, strings.Count(got, id), got)
		}
	}
}
