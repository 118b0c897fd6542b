package replay_test

import (
	"slices"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/replay"
)

// TestReplayFlags checks what the command line parses to, and what it
// refuses, without replaying anything: the command's runF stands in.
func TestReplayFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(*replay.Options) bool
		usage string // a usage error containing this, instead
	}{
		{name: "ids", args: []string{"c_1", "c_2"}, check: func(o *replay.Options) bool {
			return slices.Equal(o.IDs, []string{"c_1", "c_2"}) && o.Concurrency == 1 && o.Timeout == 30*time.Second
		}},
		{name: "filters", args: []string{"--failed", "--type", "video.deleted,video.process_failed", "--since", "2h", "--last", "3"}, check: func(o *replay.Options) bool {
			return o.Failed && o.Last == 3 && o.Since == 2*time.Hour && slices.Equal(o.Types, []string{"video.deleted", "video.process_failed"})
		}},
		{name: "to and headers", args: []string{"--all", "--to", "9999/hook", "-H", "X-A: 1", "--concurrency", "4"}, check: func(o *replay.Options) bool {
			return o.All && o.To == "9999/hook" && slices.Equal(o.Headers, []string{"X-A: 1"}) && o.Concurrency == 4
		}},
		{name: "from omega", args: []string{"--from-omega", "ev1", "--endpoint", "ep1"}, check: func(o *replay.Options) bool {
			return o.FromOmega == "ev1" && o.Endpoint == "ep1"
		}},
		{name: "no selection", args: nil, usage: "say what to replay"},
		{name: "last zero", args: []string{"--last", "0"}, usage: "--last must be at least 1"},
		{name: "concurrency zero", args: []string{"--all", "--concurrency", "0"}, usage: "--concurrency"},
		{name: "bad set", args: []string{"--all", "--set", "novalue"}, usage: "path=value"},
		{name: "bad to", args: []string{"--all", "--to", "http://"}, usage: "--to"},
		{name: "from omega without endpoint", args: []string{"--from-omega", "ev1"}, usage: "--endpoint"},
		{name: "endpoint without from omega", args: []string{"--all", "--endpoint", "ep1"}, usage: "--from-omega"},
		{name: "bad format", args: []string{"--all", "--format", "yaml"}, usage: "text or json"},
		{name: "edit of two", args: []string{"--edit", "c_1", "c_2"}, usage: "one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := clitest.Flags(t, replay.NewCmdReplay, tt.args...)
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
