package cmdutil

import (
	"strings"

	"github.com/omega-listen/omega-listen/omega"
	"github.com/spf13/cobra"
)

// CompleteEventTypes offers event types with their documented state.
func CompleteEventTypes(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	prefix := ""
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		prefix = toComplete[:i+1]
	}
	out := []string{"all\tevery type"}
	for _, ti := range omega.Catalogue {
		out = append(out, prefix+ti.Type+"\t"+string(ti.State)+": "+ti.Meaning)
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
