package inspector

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestBigAnswerToASlowSender: the receiver's http.Server has a write
// deadline for the whole answer (the listener sets one), but a big answer
// to a sender that reads slowly still arrives whole, since each piece of
// it gets the forward timeout to go out. Without that, the answer is cut
// once the server's deadline passes.
func TestBigAnswerToASlowSender(t *testing.T) {
	const size = 24 << 20
	big := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	r := newRig(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(big)
	}, func(_ *HandlerOptions, fo *ForwarderOptions) { fo.Timeout = 5 * time.Second })

	srv := httptest.NewUnstartedServer(r.h)
	srv.Listener = GuardFraming(srv.Listener)
	srv.Config.ConnContext = FramingContext
	srv.Config.WriteTimeout = 2 * time.Second // for the whole answer, as the listener's
	srv.Start()
	t.Cleanup(srv.Close)

	resp, err := http.Post(srv.URL+r.h.Path(), "application/json", strings.NewReader(`{"id":"e1","type":"video.deleted"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatalf("reading the start of the answer: %v", err)
	}
	// A slow sender: past the server's whole-answer deadline, though never
	// silent for longer than the forward timeout.
	time.Sleep(3 * time.Second)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the answer was cut after %d bytes: %v", len(head)+len(rest), err)
	}
	if got := append(head, rest...); !bytes.Equal(got, big) {
		t.Fatalf("got %d bytes, want the app's %d", len(got), len(big))
	}
}
