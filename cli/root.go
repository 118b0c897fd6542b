package cli

import (
	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/cli/captures"
	"github.com/omega-listen/omega-listen/cli/emulator"
	"github.com/omega-listen/omega-listen/cli/endpoints"
	"github.com/omega-listen/omega-listen/cli/events"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/listen"
	"github.com/omega-listen/omega-listen/cli/relay"
	"github.com/omega-listen/omega-listen/cli/replay"
	"github.com/omega-listen/omega-listen/cli/trigger"
	"github.com/omega-listen/omega-listen/cli/version"
	"github.com/omega-listen/omega-listen/cli/wait"
	"github.com/omega-listen/omega-listen/cli/web"
)

// NewRootCmd is `omega-listen`: the listen command, with the global flags
// and every other command added to it, in one place.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	root := listen.NewCmdListen(f, nil)
	root.Short = "Forward Omega webhooks to your local app, record them, replay them"
	root.Long = `omega-listen opens a public tunnel, registers it as an Omega webhook endpoint for the
event types you choose, forwards every delivery byte for byte to your local app, records each
delivery and your app's answer, and removes the endpoint when you quit.

Run without a subcommand it listens (see the flags below).`
	root.Example = `  # Forward the live event types to a local app through ngrok
  omega-listen --forward localhost:8888/webhook

  # Try it with no account: the built-in Omega emulator and sample app (press t)
  omega-listen --emulate
  omega-listen --emulate --forward localhost:8888/webhook   # your own app
  omega-listen trigger video.process_succeeded              # in another shell

  # Only two types, JSON lines for scripts
  omega-listen -f 8888 -e video.process_succeeded,video.process_failed --format json`
	root.SilenceUsage = true
	root.SilenceErrors = true
	root.Version = cmdutil.Version()
	root.SetVersionTemplate("omega-listen {{.Version}}\n")
	root.CompletionOptions.HiddenDefaultCmd = false

	f.AddGlobalFlags(root)

	// Every command, in one place.
	root.AddCommand(
		captures.NewCmdCaptures(f),
		emulator.NewCmdEmulator(f, nil),
		endpoints.NewCmdEndpoints(f),
		events.NewCmdEvents(f),
		relay.NewCmdRelay(f),
		replay.NewCmdReplay(f, nil),
		trigger.NewCmdTrigger(f, nil),
		version.NewCmdVersion(f),
		wait.NewCmdWait(f, nil),
		web.NewCmdWeb(f, nil),
	)

	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return f.ApplyEnv(cmd)
	}
	cmdutil.AddFormatAliases(root)
	cmdutil.MarkUsageErrors(root)
	return root
}
