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
	tests := []struct {
		name  string
		args  []string
		check func(*listen.Options) bool
		usage string // a usage error containing this, instead
	}{
		{name: "emulate alone", args: []string{"--emulate"}, check: func(o *listen.Options) bool {
			return o.Emulate && o.Tunnel == "none" && o.Forward == "" && o.Timeout == 30*time.Second && o.MaxBody == 10<<20
		}},
		{name: "forward and events", args: []string{"--emulate", "-f", "8888/webhook", "-e", "video.deleted", "-H", "X-A: 1", "--max-body", "1MiB"}, check: func(o *listen.Options) bool {
			return o.Forward == "8888/webhook" && o.Events == "video.deleted" && slices.Equal(o.Headers, []string{"X-A: 1"}) && o.MaxBody == 1<<20
		}},
		{name: "none with public url", args: []string{"--tunnel", "none", "--public-url", "https://x.example", "-f", "8888", "--api-key", "k"}, usage: ""},
		{name: "emulate with ngrok", args: []string{"--emulate", "--tunnel", "ngrok"}, usage: "--emulate runs locally"},
		{name: "unknown tunnel", args: []string{"--tunnel", "carrier-pigeon", "-f", "8888", "--api-key", "k"}, usage: "want ngrok, relay or none"},
		{name: "bad forward", args: []string{"--emulate", "-f", "http://"}, usage: "forward"},
		{name: "bad header", args: []string{"--emulate", "-H", "Content-Length: 3"}, usage: "Content-Length"},
		{name: "short token", args: []string{"--emulate", "--token", "short"}, usage: "--token"},
		{name: "zero timeout", args: []string{"--emulate", "--timeout", "0s"}, usage: "--timeout"},
		{name: "public url needs none", args: []string{"--emulate", "--public-url", "https://x.example", "--tunnel", "relay"}, usage: "--emulate"},
		{name: "backfill needs history", args: []string{"--emulate", "--backfill", "1h"}, usage: "--backfill"},
		{name: "bad web address", args: []string{"--emulate", "--web", "nowhere"}, usage: "--web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := clitest.Flags(t, listen.NewCmdListen, tt.args...)
			switch {
			case tt.usage != "":
				if !clitest.IsUsage(err, tt.usage) {
					t.Fatalf("err = %v, want a usage error naming %q", err, tt.usage)
				}
			case err != nil:
				t.Fatal(err)
			case tt.check != nil && !tt.check(got):
				t.Fatalf("parsed %+v", got)
			}
		})
	}
}
