package cmdutil

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// UsageError marks an error as the user's invocation being wrong (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef is a UsageError with fmt.Errorf's words (and %w).
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// NeedArgs is cobra's argument count check with a message that names what
// is missing and where to find it, instead of "accepts 1 arg(s), received
// 0". max < 0 means no upper bound.
func NeedArgs(min, max int, what, where string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return Usagef("give %s (%s)", what, where)
		case max >= 0 && len(args) > max:
			return Usagef("%d arguments, but %s takes %s", len(args), cmd.CommandPath(), what)
		}
		return nil
	}
}

// ExitError carries an exit code chosen by a command that already told the
// user what happened (for example replay: some deliveries were not 2xx).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// MarkUsageErrors makes flag and argument mistakes of c and every command
// under it exit with code 2.
func MarkUsageErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	if c.Args != nil {
		args := c.Args
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return &UsageError{Err: err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		MarkUsageErrors(sub)
	}
}

// IsCobraUsageError recognises the usage errors cobra makes itself.
func IsCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "flag needs an argument", "invalid argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// Usage marks err as a usage error (exit 2).
func Usage(err error) error { return &UsageError{Err: err} }
