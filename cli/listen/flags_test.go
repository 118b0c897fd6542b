package listen_test

import (
	"slices"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/listen"
)

// TestListenFlags checks what listen's command line parses to, and what
// it refuses, without listening: the command's runF stands in.
func TestListenFlags(t *testing.T) {
	clitest.CheckFlags(t, listen.NewCmdListen, []clitest.FlagCase[listen.Options]{
		{Name: "emulate alone", Args: []string{"--emulate"}, Check: func(o *listen.Options) bool {
			return o.Emulate && o.Tunnel == "none" && o.Forward == "" && o.Timeout == 30*time.Second && o.MaxBody == 10<<20
		}},
		{Name: "forward and events", Args: []string{"--emulate", "-f", "8888/webhook", "-e", "video.deleted", "-H", "X-A: 1", "--max-body", "1MiB"}, Check: func(o *listen.Options) bool {
			return o.Forward == "8888/webhook" && o.Events == "video.deleted" && slices.Equal(o.Headers, []string{"X-A: 1"}) && o.MaxBody == 1<<20
		}},
		{Name: "none with public url", Args: []string{"--tunnel", "none", "--public-url", "https://x.example", "-f", "8888", "--api-key", "k"}},
		{Name: "emulate with ngrok", Args: []string{"--emulate", "--tunnel", "ngrok"}, Usage: "--emulate runs locally"},
		{Name: "unknown tunnel", Args: []string{"--tunnel", "carrier-pigeon", "-f", "8888", "--api-key", "k"}, Usage: "want ngrok, relay or none"},
		{Name: "bad forward", Args: []string{"--emulate", "-f", "http://"}, Usage: "forward"},
		{Name: "bad header", Args: []string{"--emulate", "-H", "Content-Length: 3"}, Usage: "Content-Length"},
		{Name: "short token", Args: []string{"--emulate", "--token", "short"}, Usage: "--token"},
		{Name: "zero timeout", Args: []string{"--emulate", "--timeout", "0s"}, Usage: "--timeout"},
		{Name: "public url needs none", Args: []string{"--emulate", "--public-url", "https://x.example", "--tunnel", "relay"}, Usage: "--emulate"},
		{Name: "backfill needs history", Args: []string{"--emulate", "--backfill", "1h"}, Usage: "--backfill"},
		{Name: "bad web address", Args: []string{"--emulate", "--web", "nowhere"}, Usage: "--web"},
	})
}
