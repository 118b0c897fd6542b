package cmdutil

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// formatAlias is --format text|json on a command whose JSON switch is
// --json, so `--format json` asks for JSON everywhere (as it does on
// listen and replay) and --json stays as it was.
type formatAlias struct{ json pflag.Value }

func (f formatAlias) String() string {
	if f.json.String() == "true" {
		return "json"
	}
	return "text"
}

func (f formatAlias) Set(v string) error {
	switch v {
	case "json", "JSON":
		return f.json.Set("true")
	case "text":
		return f.json.Set("false")
	}
	return fmt.Errorf("want text or json, not %q", v)
}

func (f formatAlias) Type() string { return "format" }

// AddFormatAliases gives every command with a --json switch and no
// --format of its own a --format text|json.
func AddFormatAliases(c *cobra.Command) {
	if j := c.Flags().Lookup("json"); j != nil && j.Value.Type() == "bool" && c.Flags().Lookup("format") == nil {
		c.Flags().Var(formatAlias{j.Value}, "format", "output format: text or json (the same as --json)")
		_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	}
	for _, sub := range c.Commands() {
		AddFormatAliases(sub)
	}
}
