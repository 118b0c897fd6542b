package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/omega"
)

func newEndpointsCmd(s Streams, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "endpoints",
		Aliases: []string{"endpoint"},
		Short:   "Manage Omega webhook endpoints",
		Example: `  omega-listen endpoints list
  omega-listen endpoints create --url https://example.com/hook --events video.process_succeeded
  omega-listen endpoints disable 6323940afc8e1c02d9f3b155
  omega-listen endpoints prune          # delete endpoints a crashed omega-listen left behind`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		newEndpointsListCmd(s, g),
		newEndpointsCreateCmd(s, g),
		newEndpointsUpdateCmd(s, g),
		newEndpointsDeleteCmd(s, g),
		newEndpointsStatusCmd(s, g, true),
		newEndpointsStatusCmd(s, g, false),
		newEndpointsPruneCmd(s, g),
	)
	return cmd
}

type endpointsListOptions struct {
	JSON bool
}

func newEndpointsListCmd(s Streams, g *globalOptions) *cobra.Command {
	o := &endpointsListOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List all webhook endpoints of the account",
		Example: "  omega-listen endpoints list\n  omega-listen endpoints list --json | jq '.[].url'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := commandClient(s, g)
			if err != nil {
				return err
			}
			return runEndpointsList(cmd.Context(), s, c, o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func runEndpointsList(ctx context.Context, s Streams, c *omega.Client, o *endpointsListOptions) error {
	eps, err := c.ListEndpoints(ctx)
	if err != nil {
		return fmt.Errorf("listing endpoints: %w", err)
	}
	if o.JSON {
		return writeJSON(s.Out, eps)
	}
	if len(eps) == 0 {
		fmt.Fprintln(s.Out, "No webhook endpoints. Create one with `omega-listen endpoints create`, or run `omega-listen` to make a temporary one.")
		return nil
	}
	t := newTable(s.Out, "ID", "ACTIVE", "URL", "EVENTS", "DESCRIPTION")
	for _, e := range eps {
		t.row(e.ID, yesNo(e.Active), e.URL, strings.Join(e.Events, ","), orDash(e.Desc()))
	}
	return t.flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

type endpointWriteOptions struct {
	URL         string
	Events      string
	Description string
	JSON        bool
}

func newEndpointsCreateCmd(s Streams, g *globalOptions) *cobra.Command {
	o := &endpointWriteOptions{}
	cmd := &cobra.Command{
		Use:   "create --url URL [--events LIST]",
		Short: "Create a webhook endpoint",
		Example: `  omega-listen endpoints create --url https://example.com/hook
  omega-listen endpoints create --url https://example.com/hook --events video.process_succeeded,video.process_failed --description prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.URL == "" {
				return usagef("--url is required")
			}
			events, err := omega.ParseTypes(o.Events)
			if err != nil {
				return &usageError{err}
			}
			c, err := commandClient(s, g)
			if err != nil {
				return err
			}
			ep, err := c.CreateEndpoint(cmd.Context(), omega.EndpointInput{URL: o.URL, Description: o.Description, Events: events})
			if err != nil {
				return fmt.Errorf("creating endpoint: %w", err)
			}
			return printEndpoint(s, ep, o.JSON, "Created")
		},
	}
	addEndpointWriteFlags(cmd, o, "the live types")
	return cmd
}

func addEndpointWriteFlags(cmd *cobra.Command, o *endpointWriteOptions, eventsDefault string) {
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", "", "the URL Omega delivers to")
	f.StringVarP(&o.Events, "events", "e", "", "comma-separated event types, or all (default: "+eventsDefault+")")
	f.StringVar(&o.Description, "description", "", "free text shown in listings")
	f.BoolVar(&o.JSON, "json", false, "print the endpoint as JSON")
	_ = cmd.RegisterFlagCompletionFunc("events", completeEventTypes)
}

func newEndpointsUpdateCmd(s Streams, g *globalOptions) *cobra.Command {
	o := &endpointWriteOptions{}
	cmd := &cobra.Command{
		Use:   "update ID [--url URL] [--events LIST] [--description TEXT]",
		Short: "Change an endpoint's URL, events or description",
		Long:  "Change an endpoint. Omega's update takes the whole endpoint, so fields you do not give keep their current values.",
		Example: `  omega-listen endpoints update 6323940afc8e1c02d9f3b155 --events all
  omega-listen endpoints update 6323940afc8e1c02d9f3b155 --url https://example.com/new`,
		Args: needArgs(1, 1, "one endpoint ID", "`omega-listen endpoints list` shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if !f.Changed("url") && !f.Changed("events") && !f.Changed("description") {
				return usagef("nothing to change: give --url, --events or --description")
			}
			var events []string
			if f.Changed("events") {
				var err error
				if events, err = omega.ParseTypes(o.Events); err != nil {
					return &usageError{err}
				}
			}
			c, err := commandClient(s, g)
			if err != nil {
				return err
			}
			cur, err := findEndpoint(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			in := omega.EndpointInput{URL: cur.URL, Description: cur.Desc(), Events: cur.Events}
			if f.Changed("url") {
				in.URL = o.URL
			}
			if f.Changed("description") {
				in.Description = o.Description
			}
			if events != nil {
				in.Events = events
			}
			ep, err := c.UpdateEndpoint(cmd.Context(), cur.ID, in)
			if err != nil {
				return fmt.Errorf("updating endpoint %s: %w", cur.ID, err)
			}
			return printEndpoint(s, ep, o.JSON, "Updated")
		},
	}
	addEndpointWriteFlags(cmd, o, "keep the current ones")
	return cmd
}

// findEndpoint looks an endpoint up by id among all of the account's.
func findEndpoint(ctx context.Context, c *omega.Client, id string) (*omega.Endpoint, error) {
	eps, err := c.ListEndpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing endpoints: %w", err)
	}
	for i := range eps {
		if eps[i].ID == id {
			return &eps[i], nil
		}
	}
	return nil, fmt.Errorf("no endpoint with id %q; `omega-listen endpoints list` shows them", id)
}

func newEndpointsDeleteCmd(s Streams, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID...",
		Aliases: []string{"rm"},
		Short:   "Delete webhook endpoints",
		Example: "  omega-listen endpoints delete 6323940afc8e1c02d9f3b155",
		Args:    needArgs(1, -1, "one or more endpoint IDs", "`omega-listen endpoints list` shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := commandClient(s, g)
			if err != nil {
				return err
			}
			return eachID(s, args, "delete", "Deleted", func(id string) error {
				return c.DeleteEndpoint(cmd.Context(), id)
			})
		},
	}
}

func newEndpointsStatusCmd(s Streams, g *globalOptions, active bool) *cobra.Command {
	use, short, verb := "enable", "Activate endpoints so Omega delivers to them", "Enabled"
	if !active {
		use, short, verb = "disable", "Deactivate endpoints without deleting them", "Disabled"
	}
	return &cobra.Command{
		Use:     use + " ID...",
		Short:   short,
		Example: "  omega-listen endpoints " + use + " 6323940afc8e1c02d9f3b155",
		Args:    needArgs(1, -1, "one or more endpoint IDs", "`omega-listen endpoints list` shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := commandClient(s, g)
			if err != nil {
				return err
			}
			return eachID(s, args, use, verb, func(id string) error {
				_, err := c.SetEndpointActive(cmd.Context(), id, active)
				return err
			})
		},
	}
}

// eachID applies do to every id, reporting each; it fails (exit 1) if any did.
func eachID(s Streams, ids []string, verb, done string, do func(id string) error) error {
	failed := 0
	for _, id := range ids {
		if err := do(id); err != nil {
			fmt.Fprintf(s.Err, "Could not %s %s: %v\n", verb, clean(id), withHint(err))
			failed++
			continue
		}
		fmt.Fprintf(s.Out, "%s endpoint %s\n", done, clean(id))
	}
	if failed > 0 {
		return &exitError{ExitFailure}
	}
	return nil
}

func printEndpoint(s Streams, ep *omega.Endpoint, asJSON bool, verb string) error {
	if asJSON {
		return writeJSON(s.Out, ep)
	}
	fmt.Fprintf(s.Out, "%s endpoint %s\n", verb, clean(ep.ID))
	t := newTable(s.Out, "  URL", ep.URL)
	t.row("  Events", strings.Join(ep.Events, ","))
	t.row("  Active", yesNo(ep.Active))
	t.row("  Description", orDash(ep.Desc()))
	return t.flush()
}

// completeEventTypes offers event types with their documented state.
func completeEventTypes(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
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
