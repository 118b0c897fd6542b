// Package cmdutil is what every omega-listen command shares: the process's
// streams, the Factory of clients and stores (with the seams tests use),
// the usage and exit errors, the hints that turn lower packages' typed
// errors into advice about flags, and the tables and JSON the commands
// print. It holds no command of its own.
package cmdutil

import (
	"bytes"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/charmbracelet/x/term"
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

// TestStreams returns streams for a test: no input, stdout and stderr in
// the returned buffers, the environment from env, no terminal.
func TestStreams(env map[string]string) (s Streams, stdout, stderr *bytes.Buffer) {
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	return Streams{
		In:     strings.NewReader(""),
		Out:    stdout,
		Err:    stderr,
		Getenv: func(k string) string { return env[k] },
	}, stdout, stderr
}

// Env reads the environment variable k ("" when unset or with no
// environment at all).
func (s Streams) Env(k string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(k)
}

// ExitNow ends the process at once with code.
func (s Streams) ExitNow(code int) {
	if s.Exit != nil {
		s.Exit(code)
		return
	}
	os.Exit(code)
}

// Interrupts returns the channel of interrupt signals and a stop func.
func (s Streams) Interrupts() (<-chan os.Signal, func()) {
	if s.Signals != nil {
		return s.Signals, func() {}
	}
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}
