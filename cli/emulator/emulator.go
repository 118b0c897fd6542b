// Package emulator is `omega-listen emulator`: the built-in Omega emulator on its own.
package emulator

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

// Options are the flags and arguments of its command.
type Options struct {
	Addr   string
	APIKey string
}

// NewCmdEmulator is `omega-listen emulator`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdEmulator(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run the built-in Omega emulator on its own",
		Long: `Run an in-process imitation of Omega's webhook API: it serves every documented route,
keeps endpoints and their delivery history in memory, and really delivers sample events.
Point any omega-listen command at it with the two variables it prints.`,
		Example: `  omega-listen emulator --addr 127.0.0.1:7070
  # in another shell, with the values it printed:
  export OMEGA_BASE_URL=http://127.0.0.1:7070/company OMEGA_API_KEY=omega_emu_...
  omega-listen endpoints create --url http://127.0.0.1:9/x --events video.process_succeeded`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return runEmulator(f, o)
		},
	}
	cmd.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:7070", "address to serve on")
	cmd.Flags().StringVar(&o.APIKey, "key", "", "API key to accept (default: a fresh random one)")
	return cmd
}

func runEmulator(f *cmdutil.Factory, o *Options) error {
	srv, err := emulator.Start(o.Addr, emulator.Options{APIKey: o.APIKey, Logger: f.Logger()})
	if err != nil {
		return fmt.Errorf("%w (choose another address with --addr)", err)
	}
	defer srv.Close()
	fmt.Fprintf(f.IO.Out, "Omega emulator serving at %s\n\n", srv.BaseURL)
	fmt.Fprintf(f.IO.Out, "  export OMEGA_BASE_URL=%s\n", srv.BaseURL)
	// The emulator's key is a throwaway that only this process accepts, so
	// printing it is the point; real keys are never printed.
	fmt.Fprintf(f.IO.Out, "  export OMEGA_API_KEY=%s\n\n", srv.APIKey())
	fmt.Fprintln(f.IO.Out, "Deliver an event:  omega-listen trigger TYPE (with those variables set)")
	fmt.Fprintln(f.IO.Out, "Press Ctrl-C to stop.")
	sig, stop := f.IO.Interrupts()
	defer stop()
	<-sig
	fmt.Fprintln(f.IO.Err, "Stopping the emulator.")
	return nil
}
