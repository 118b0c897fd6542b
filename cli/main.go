// Package cli holds omega-listen's commands. It is the one place that wires
// the other packages together.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Streams are the process's standard streams and environment, injected so
// commands can be tested without touching the real ones.
type Streams struct {
	In            io.Reader
	Out           io.Writer
	Err           io.Writer
	OutIsTerminal bool
	// InIsTerminal: In is a terminal, so the screen can read keys and
	// prompts can ask.
	InIsTerminal bool
	Getenv       func(string) string
	// Signals delivers SIGINT/SIGTERM to long-running commands; nil means
	// subscribe to the real process signals.
	Signals <-chan os.Signal
	// Exit ends the process at once (a second Ctrl-C); nil means os.Exit.
	Exit func(code int)
}

// StdStreams returns the real process streams.
func StdStreams() Streams {
	return Streams{
		In:            os.Stdin,
		Out:           os.Stdout,
		Err:           os.Stderr,
		OutIsTerminal: term.IsTerminal(os.Stdout.Fd()),
		InIsTerminal:  term.IsTerminal(os.Stdin.Fd()),
		Getenv:        os.Getenv,
	}
}

func (s Streams) getenv(k string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(k)
}

func (s Streams) exit(code int) {
	if s.Exit != nil {
		s.Exit(code)
		return
	}
	os.Exit(code)
}

// signals returns the channel of interrupt signals and a stop func.
func (s Streams) signals() (<-chan os.Signal, func()) {
	if s.Signals != nil {
		return s.Signals, func() {}
	}
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

// usageError marks an error as the user's invocation being wrong (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// needArgs is cobra's argument count check with a message that names what
// is missing and where to find it, instead of "accepts 1 arg(s), received
// 0". max < 0 means no upper bound.
func needArgs(min, max int, what, where string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usagef("give %s (%s)", what, where)
		case max >= 0 && len(args) > max:
			return usagef("%d arguments, but %s takes %s", len(args), cmd.CommandPath(), what)
		}
		return nil
	}
}

// exitError carries an exit code chosen by a command that already told the
// user what happened (for example replay: some deliveries were not 2xx).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs omega-listen with args (without the program name) and returns
// the process exit code.
func Main(args []string, s Streams) int {
	// Developers' aids for performance work, deliberately not in --help:
	// OMEGA_LISTEN_CPUPROFILE=file writes a CPU profile of the run, and
	// OMEGA_LISTEN_MEMPROFILE=file a heap profile at its end.
	if p := s.getenv("OMEGA_LISTEN_MEMPROFILE"); p != "" {
		defer func() {
			if f, err := os.Create(p); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if p := s.getenv("OMEGA_LISTEN_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
	}
	root := newRootCmd(s)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(s.Err, "Error: %v\n", withHint(err))
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsageError(err) {
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
