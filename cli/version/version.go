// Package version is `omega-listen version`.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
)

// NewCmdVersion is `omega-listen version`.
func NewCmdVersion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print omega-listen's version",
		Example: "  omega-listen version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(f.IO.Out, "omega-listen %s (%s, %s/%s)\n", cmdutil.Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
