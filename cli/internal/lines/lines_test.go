package lines

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/feed"
)

// A printer that falls behind the bus prints what it missed from the store.
func TestPrinterCatchesUpFromTheStoreAfterLagging(t *testing.T) {
	store, err := capture.Open(t.TempDir(), capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	bus := capture.NewBus()
	sub := feed.New(bus).Subscribe(1) // room for one event: the rest are dropped
	// A delivery that is still pending while the rest flood in: its
	// Received fits, its Completed is dropped. It was received before all
	// the others, so only reading back from where the bus says the misses
	// start finds its completion.
	slow := &capture.Capture{Meta: capture.Meta{Method: "POST", Path: "/omega/{token}", EventID: "slow", EventType: "video.deleted", Target: "http://app/"}, Body: []byte("{}")}
	if err := store.Begin(context.Background(), slow); err != nil {
		t.Fatal(err)
	}
	bus.Publish(capture.Received, slow)
	const n = 50
	for i := range n {
		c := &capture.Capture{
			Meta: capture.Meta{Method: "POST", Path: "/omega/{token}", EventID: fmt.Sprintf("ev%02d", i), EventType: "video.deleted",
				Target: "http://app/", Status: 200, SentStatus: 200},
			Body: []byte("{}"),
		}
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
	p := New(out, false)
	done := make(chan struct{})
	go func() { p.Follow(sub, store); close(done) }()
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

// TestPrinterNotes: the listener's news reaches the lines through the
// stream: tunnel changes (not the state at the start, not repeats),
// notices and finished steps on stderr in text, NDJSON lines with --format
// json; a step being taken is not printed (its outcome is).
func TestPrinterNotes(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run(map[bool]string{false: "text", true: "json"}[asJSON], func(t *testing.T) {
			stream := feed.New(capture.NewBus())
			stream.SetTunnel(feed.TunnelState{Provider: "ngrok", State: "connected", URL: "https://a.example"})
			sub := stream.Subscribe(8)
			out, errOut := &lockedBuffer{}, &lockedBuffer{}
			p := New(out, asJSON)
			p.ErrW = errOut
			done := make(chan struct{})
			go func() { p.Follow(sub, nil); close(done) }()
			stream.SetTunnel(feed.TunnelState{Provider: "ngrok", State: "disconnected", Err: "EOF"})
			stream.SetTunnel(feed.TunnelState{Provider: "ngrok", State: "disconnected", Err: "EOF"})
			stream.SetTunnel(feed.TunnelState{Provider: "ngrok", State: "reconnected", URL: "https://a.example"})
			stream.Notice("Backfill (start): nothing to do.", false)
			stream.Notice("WARNING: disk full", true)
			stream.Note(feed.Note{Kind: feed.Step, Text: "Deleting endpoint e1…", Pending: true})
			stream.Step("Deleted endpoint e1.")
			sub.Finish()
			<-done
			o, e := out.String(), errOut.String()
			if asJSON {
				if strings.Count(o, `"type":"tunnel"`) != 2 || !strings.Contains(o, `"state":"disconnected"`) || !strings.Contains(o, `"error":"EOF"`) ||
					!strings.Contains(o, `"state":"reconnected"`) || !strings.Contains(o, `"type":"notice"`) {
					t.Errorf("stdout:\n%s", o)
				}
				for _, line := range strings.Split(strings.TrimSpace(o), "\n") {
					if !strings.HasPrefix(line, "{") {
						t.Errorf("not JSON: %q", line)
					}
				}
			} else {
				if strings.TrimSpace(o) != "WARNING: disk full" {
					t.Errorf("stdout in text mode has more than the warning:\n%s", o)
				}
				if strings.Count(e, "Tunnel disconnected (EOF)") != 1 || !strings.Contains(e, "Tunnel reconnected: https://a.example") ||
					!strings.Contains(e, "Backfill (start): nothing to do.") {
					t.Errorf("stderr:\n%s", e)
				}
			}
			if asJSON && (!strings.Contains(o, `"type":"warning"`) || !strings.Contains(e, "WARNING: disk full")) {
				t.Errorf("a warning with NDJSON: a warning line and a word on stderr; got\n%s\n%s", o, e)
			}
			if !asJSON && !strings.Contains(o, "WARNING: disk full") {
				t.Errorf("a warning is one of the lines; got\n%s", o)
			}
			if !strings.Contains(e, "Deleted endpoint e1.") || strings.Contains(e, "Deleting") {
				t.Errorf("stderr:\n%s", e)
			}
		})
	}
}

// lockedBuffer is a bytes.Buffer safe to write from one goroutine while
// another reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A JSON delivery line carries a JSON body as "event", on one line, as
// encoding/json would have written it; a body that is not JSON has none.
func TestJSONLineEvent(t *testing.T) {
	body := "{\n  \"type\": \"video.deleted\",\n  \"data\": {\"title\": \"<b>a & b</b>\"}\n}\n"
	for _, tc := range []struct{ name, body, event string }{
		{"json", body, `{"type":"video.deleted","data":{"title":"\u003cb\u003ea \u0026 b\u003c/b\u003e"}}`},
		{"not json", "{not json", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			p := New(&out, true)
			c := capture.Capture{Meta: capture.Meta{ID: "c1", Method: "POST", Target: "http://app/", Status: 200, SentStatus: 200, Flags: capture.FlagFromOmega}, Body: []byte(tc.body)}
			p.CompletedWith(c.Summary(), c.Body)
			p.Flush()
			line := out.String()
			var got map[string]json.RawMessage
			if strings.Count(line, "\n") != 1 || json.Unmarshal([]byte(line), &got) != nil {
				t.Fatalf("not one JSON line: %q", line)
			}
			if string(got["event"]) != tc.event || string(got["capture_id"]) != `"c1"` || string(got["from_omega"]) != "true" {
				t.Errorf("line %s: event %s, want %s", line, got["event"], tc.event)
			}
		})
	}
}
