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
	// A delivery that is still pending while the rest flood in: its
	// Received fits, its Completed is dropped. It was received before all
	// the others, so only reading back from where the bus says the misses
	// start finds its completion.
	slow := &capture.Capture{Method: "POST", Path: "/omega/{token}", EventID: "slow", EventType: "video.deleted", Target: "http://app/", Body: []byte("{}")}
	if err := store.Begin(context.Background(), slow); err != nil {
		t.Fatal(err)
	}
	bus.Publish(capture.Received, slow)
	const n = 50
	for i := range n {
		c := &capture.Capture{Method: "POST", Path: "/omega/{token}", EventID: fmt.Sprintf("ev%02d", i), EventType: "video.deleted",
			Target: "http://app/", Status: 200, SentStatus: 200, Body: []byte("{}")}
		if err := store.Record(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		bus.Publish(capture.Completed, c)
	}
	slow.Status, slow.SentStatus = 202, 202
	if err := store.Finish(context.Background(), slow); err != nil {
		t.Fatal(err)
	}
	bus.Publish(capture.Completed, slow)
	// After the lag, events repeat what the read-back found.
	bus.Publish(capture.Completed, slow)
	out := &lockedBuffer{}
	p := newLinePrinter(out, false)
	done := make(chan struct{})
	go func() { p.follow(sub, store); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "<--") < n+1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a repeat would show by now
	sub.Close()
	<-done
	got := out.String()
	if !strings.Contains(got, "reading the rest back from the store") {
		t.Errorf("no word that output fell behind:\n%s", got)
	}
	if c := strings.Count(got, "<-- [202] POST http://app/ [slow]"); c != 1 {
		t.Errorf("the slow delivery's completion printed %d times, want once:\n%s", c, got)
	}
	for i := range n {
		if id := fmt.Sprintf("[ev%02d]", i); strings.Count(got, id) != 1 {
			t.Errorf("%s printed %d times, want once:\n%s", id, strings.Count(got, id), got)
		}
	}
}
