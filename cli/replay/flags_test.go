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
	clitest.CheckFlags(t, replay.NewCmdReplay, []clitest.FlagCase[replay.Options]{
		{Name: "ids", Args: []string{"c_1", "c_2"}, Check: func(o *replay.Options) bool {
			return slices.Equal(o.IDs, []string{"c_1", "c_2"}) && o.Concurrency == 1 && o.Timeout == 30*time.Second
		}},
		{Name: "filters", Args: []string{"--failed", "--type", "video.deleted,video.process_failed", "--since", "2h", "--last", "3"}, Check: func(o *replay.Options) bool {
			return o.Failed && o.Last == 3 && o.Since == 2*time.Hour && slices.Equal(o.Types, []string{"video.deleted", "video.process_failed"})
		}},
		{Name: "to and headers", Args: []string{"--all", "--to", "9999/hook", "-H", "X-A: 1", "--concurrency", "4"}, Check: func(o *replay.Options) bool {
			return o.All && o.To == "9999/hook" && slices.Equal(o.Headers, []string{"X-A: 1"}) && o.Concurrency == 4
		}},
		{Name: "from omega", Args: []string{"--from-omega", "ev1", "--endpoint", "ep1"}, Check: func(o *replay.Options) bool {
			return o.FromOmega == "ev1" && o.Endpoint == "ep1"
		}},
		{Name: "no selection", Args: nil, Usage: "say what to replay"},
		{Name: "last zero", Args: []string{"--last", "0"}, Usage: "--last must be at least 1"},
		{Name: "concurrency zero", Args: []string{"--all", "--concurrency", "0"}, Usage: "--concurrency"},
		{Name: "bad set", Args: []string{"--all", "--set", "novalue"}, Usage: "path=value"},
		{Name: "bad to", Args: []string{"--all", "--to", "http://"}, Usage: "--to"},
		{Name: "from omega without endpoint", Args: []string{"--from-omega", "ev1"}, Usage: "--endpoint"},
		{Name: "endpoint without from omega", Args: []string{"--all", "--endpoint", "ep1"}, Usage: "--from-omega"},
		{Name: "bad format", Args: []string{"--all", "--format", "yaml"}, Usage: "text or json"},
		{Name: "edit of two", Args: []string{"--edit", "c_1", "c_2"}, Usage: "one"},
	})
}
