package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const envAnnotation = "omega-listen/env"

// globalOptions are the flags every command that talks to Omega or the
// store shares.
type globalOptions struct {
	APIKey  string
	BaseURL string
	DataDir string
	Debug   bool
}

const defaultBaseURL = "https://api.omegastream.net/company"

func newRootCmd(s Streams) *cobra.Command {
	g := &globalOptions{}
	lo := &listenOptions{global: g}
	root := &cobra.Command{
		Use:   "omega-listen",
		Short: "Forward Omega webhooks to your local app, record them, replay them",
		Long: `omega-listen opens a public tunnel, registers it as an Omega webhook endpoint for the
event types you choose, forwards every delivery byte for byte to your local app, records each
delivery and your app's answer, and removes the endpoint when you quit.

Run without a subcommand it listens (see the flags below).`,
		Example: `  # Forward the live event types to a local app through ngrok
  omega-listen --forward localhost:8888/webhook

  # Try it with no account: the built-in Omega emulator and sample app (press t)
  omega-listen --emulate
  omega-listen --emulate --forward localhost:8888/webhook   # your own app
  omega-listen trigger video.process_succeeded              # in another shell

  # Only two types, JSON lines for scripts
  omega-listen -f 8888 -e video.process_succeeded,video.process_failed --format json`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runListenCmd(cmd, s, lo)
		},
	}
	root.SetVersionTemplate("omega-listen {{.Version}}\n")
	root.CompletionOptions.HiddenDefaultCmd = false

	pf := root.PersistentFlags()
	pf.StringVar(&g.APIKey, "api-key", "", "Omega API key (never printed or stored)")
	pf.StringVar(&g.BaseURL, "base-url", defaultBaseURL, "Omega API base URL")
	pf.StringVar(&g.DataDir, "data-dir", "", "directory for captures and session files (default: per-user state dir)")
	pf.BoolVar(&g.Debug, "debug", false, "log diagnostics to stderr")
	bindEnv(pf, "api-key", "OMEGA_API_KEY")
	bindEnv(pf, "base-url", "OMEGA_BASE_URL")
	bindEnv(pf, "data-dir", "OMEGA_LISTEN_HOME")

	addListenFlags(root, lo)

	// Every command, in one place.
	root.AddCommand(
		newCapturesCmd(s, g),
		newEmulatorCmd(s, g),
		newEndpointsCmd(s, g),
		newEventsCmd(s, g),
		newRelayCmd(s, g),
		newReplayCmd(s, g),
		newTriggerCmd(s, g),
		newVersionCmd(s),
		newWaitCmd(s, g),
		newWebCmd(s, g),
	)

	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return applyEnv(cmd, s)
	}
	addFormatAliases(root)
	markUsageErrors(root)
	return root
}

// bindEnv makes flag name readable from env var, and says so in its help.
func bindEnv(fs *pflag.FlagSet, name, env string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("bindEnv: no flag " + name)
	}
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[envAnnotation] = []string{env}
	f.Usage += " (env " + env + ")"
}

// applyEnv sets every flag the user did not give from its env var.
func applyEnv(cmd *cobra.Command, s Streams) error {
	var firstErr error
	visit := func(f *pflag.Flag) {
		env := f.Annotations[envAnnotation]
		if len(env) == 0 || f.Changed || firstErr != nil {
			return
		}
		v := s.getenv(env[0])
		if v == "" {
			return
		}
		if err := f.Value.Set(v); err != nil {
			firstErr = usagef("invalid %s=%q: %v", env[0], redactIf(f.Name, v), err)
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	return firstErr
}

func redactIf(flag, v string) string {
	if strings.Contains(flag, "key") || strings.Contains(flag, "token") {
		return "<redacted>"
	}
	return v
}

// markUsageErrors makes flag and argument mistakes exit with code 2.
func markUsageErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	if c.Args != nil {
		args := c.Args
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return &usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markUsageErrors(sub)
	}
}

func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "flag needs an argument", "invalid argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
