// Package cli holds omega-listen's commands. It is the one place that wires
// the other packages together.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK      = cmdutil.ExitOK
	ExitFailure = cmdutil.ExitFailure
	ExitUsage   = cmdutil.ExitUsage
)

// Streams are the process's standard streams and environment.
type Streams = cmdutil.Streams

// StdStreams returns the real process streams.
func StdStreams() Streams { return cmdutil.StdStreams() }

// Main runs omega-listen with args (without the program name) and returns
// the process exit code.
func Main(args []string, s Streams) int {
	return Run(args, cmdutil.NewFactory(s))
}

// Run runs omega-listen with args on the factory f (whose seams a test may
// have set) and returns the process exit code.
func Run(args []string, f *cmdutil.Factory) int {
	s := f.IO
	// Developers' aids for performance work, deliberately not in --help:
	// OMEGA_LISTEN_CPUPROFILE=file writes a CPU profile of the run, and
	// OMEGA_LISTEN_MEMPROFILE=file a heap profile at its end.
	if p := s.Env("OMEGA_LISTEN_MEMPROFILE"); p != "" {
		defer func() {
			if f, err := os.Create(p); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if p := s.Env("OMEGA_LISTEN_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
	}
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return ExitOK
	}
	var ee *cmdutil.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	fmt.Fprintf(s.Err, "Error: %v\n", cmdutil.WithHint(err))
	var ue *cmdutil.UsageError
	if errors.As(err, &ue) || cmdutil.IsCobraUsageError(err) {
		fmt.Fprintf(s.Err, "Run '%s --help' for usage.\n", commandPathFor(root, args))
		return ExitUsage
	}
	return ExitFailure
}

// commandPathFor names the (sub)command args point at, for the usage hint.
func commandPathFor(root *cobra.Command, args []string) string {
	if c, _, err := root.Find(args); err == nil && c != nil {
		return c.CommandPath()
	}
	return root.CommandPath()
}
