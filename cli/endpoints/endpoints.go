// Package endpoints is `omega-listen endpoints`: Omega's webhook endpoints (list, create, update, delete,
// enable, disable, prune the ones crashed runs left).
package endpoints

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/omega"
)

// NewCmdEndpoints is `omega-listen endpoints`.
func NewCmdEndpoints(f *cmdutil.Factory) *cobra.Command {
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
		NewCmdList(f, nil),
		NewCmdCreate(f, nil),
		NewCmdUpdate(f, nil),
		NewCmdDelete(f),
		NewCmdStatus(f, true),
		NewCmdStatus(f, false),
		NewCmdPrune(f, nil),
	)
	return cmd
}

// ListOptions are the flags and arguments of its command.
type ListOptions struct {
	JSON bool
}

// NewCmdList is `omega-listen endpoints list`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	o := &ListOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List all webhook endpoints of the account",
		Example: "  omega-listen endpoints list\n  omega-listen endpoints list --json | jq '.[].url'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.CommandClient()
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runEndpointsList(cmd.Context(), f, c, o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func runEndpointsList(ctx context.Context, f *cmdutil.Factory, c *omega.Client, o *ListOptions) error {
	eps, err := c.ListEndpoints(ctx)
	if err != nil {
		return fmt.Errorf("listing endpoints: %w", err)
	}
	if o.JSON {
		return cmdutil.WriteJSON(f.IO.Out, eps)
	}
	if len(eps) == 0 {
		fmt.Fprintln(f.IO.Out, "No webhook endpoints. Create one with `omega-listen endpoints create`, or run `omega-listen` to make a temporary one.")
		return nil
	}
	t := cmdutil.NewTable(f.IO.Out, "ID", "ACTIVE", "URL", "EVENTS", "DESCRIPTION")
	for _, e := range eps {
		t.Row(e.ID, yesNo(e.Active), e.URL, strings.Join(e.Events, ","), cmdutil.OrDash(e.Desc()))
	}
	return t.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// WriteOptions are the flags and arguments of its command.
type WriteOptions struct {
	URL         string
	Events      string
	Description string
	JSON        bool
}

// NewCmdCreate is `omega-listen endpoints create`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdCreate(f *cmdutil.Factory, runF func(*WriteOptions) error) *cobra.Command {
	o := &WriteOptions{}
	cmd := &cobra.Command{
		Use:   "create --url URL [--events LIST]",
		Short: "Create a webhook endpoint",
		Example: `  omega-listen endpoints create --url https://example.com/hook
  omega-listen endpoints create --url https://example.com/hook --events video.process_succeeded,video.process_failed --description prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.URL == "" {
				return cmdutil.Usagef("--url is required")
			}
			events, err := omega.ParseTypes(o.Events)
			if err != nil {
				return cmdutil.Usage(err)
			}
			if runF != nil {
				return runF(o)
			}
			c, err := f.CommandClient()
			if err != nil {
				return err
			}
			ep, err := c.CreateEndpoint(cmd.Context(), omega.EndpointInput{URL: o.URL, Description: o.Description, Events: events})
			if err != nil {
				return fmt.Errorf("creating endpoint: %w", err)
			}
			return printEndpoint(f, ep, o.JSON, "Created")
		},
	}
	addEndpointWriteFlags(cmd, o, "the live types")
	return cmd
}

func addEndpointWriteFlags(cmd *cobra.Command, o *WriteOptions, eventsDefault string) {
	fl := cmd.Flags()
	fl.StringVar(&o.URL, "url", "", "the URL Omega delivers to")
	fl.StringVarP(&o.Events, "events", "e", "", "comma-separated event types, or all (default: "+eventsDefault+")")
	fl.StringVar(&o.Description, "description", "", "free text shown in listings")
	fl.BoolVar(&o.JSON, "json", false, "print the endpoint as JSON")
	_ = cmd.RegisterFlagCompletionFunc("events", cmdutil.CompleteEventTypes)
}

// NewCmdUpdate is `omega-listen endpoints update`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdUpdate(f *cmdutil.Factory, runF func(*WriteOptions) error) *cobra.Command {
	o := &WriteOptions{}
	cmd := &cobra.Command{
		Use:   "update ID [--url URL] [--events LIST] [--description TEXT]",
		Short: "Change an endpoint's URL, events or description",
		Long:  "Change an endpoint. Omega's update takes the whole endpoint, so fields you do not give keep their current values.",
		Example: `  omega-listen endpoints update 6323940afc8e1c02d9f3b155 --events all
  omega-listen endpoints update 6323940afc8e1c02d9f3b155 --url https://example.com/new`,
		Args: cmdutil.NeedArgs(1, 1, "one endpoint ID", "`omega-listen endpoints list` shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if !fl.Changed("url") && !fl.Changed("events") && !fl.Changed("description") {
				return cmdutil.Usagef("nothing to change: give --url, --events or --description")
			}
			var events []string
			if fl.Changed("events") {
				var err error
				if events, err = omega.ParseTypes(o.Events); err != nil {
					return cmdutil.Usage(err)
				}
			}
			if runF != nil {
				return runF(o)
			}
			c, err := f.CommandClient()
			if err != nil {
				return err
			}
			cur, err := Find(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			in := omega.EndpointInput{URL: cur.URL, Description: cur.Desc(), Events: cur.Events}
			if fl.Changed("url") {
				in.URL = o.URL
			}
			if fl.Changed("description") {
				in.Description = o.Description
			}
			if events != nil {
				in.Events = events
			}
			ep, err := c.UpdateEndpoint(cmd.Context(), cur.ID, in)
			if err != nil {
				return fmt.Errorf("updating endpoint %s: %w", cur.ID, err)
			}
			return printEndpoint(f, ep, o.JSON, "Updated")
		},
	}
	addEndpointWriteFlags(cmd, o, "keep the current ones")
	return cmd
}

// Find looks an endpoint up by id among all of the account's.
func Find(ctx context.Context, c *omega.Client, id string) (*omega.Endpoint, error) {
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

// NewCmdDelete is `omega-listen endpoints delete`.
func NewCmdDelete(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID...",
		Aliases: []string{"rm"},
		Short:   "Delete webhook endpoints",
		Example: "  omega-listen endpoints delete 6323940afc8e1c02d9f3b155",
		Args:    cmdutil.NeedArgs(1, -1, "one or more endpoint IDs", "`omega-listen endpoints list` shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.CommandClient()
			if err != nil {
				return err
			}
			return eachID(f, args, "delete", "Deleted", func(id string) error {
				return c.DeleteEndpoint(cmd.Context(), id)
			})
		},
	}
}

// NewCmdStatus is `omega-listen endpoints status`.
func NewCmdStatus(f *cmdutil.Factory, active bool) *cobra.Command {
	use, short, verb := "enable", "Activate endpoints so Omega delivers to them", "Enabled"
	if !active {
		use, short, verb = "disable", "Deactivate endpoints without deleting them", "Disabled"
	}
	return &cobra.Command{
		Use:     use + " ID...",
		Short:   short,
		Example: "  omega-listen endpoints " + use + " 6323940afc8e1c02d9f3b155",
		Args:    cmdutil.NeedArgs(1, -1, "one or more endpoint IDs", "`omega-listen endpoints list` shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.CommandClient()
			if err != nil {
				return err
			}
			return eachID(f, args, use, verb, func(id string) error {
				_, err := c.SetEndpointActive(cmd.Context(), id, active)
				return err
			})
		},
	}
}

// eachID applies do to every id, reporting each; it fails (exit 1) if any did.
func eachID(f *cmdutil.Factory, ids []string, verb, done string, do func(id string) error) error {
	failed := 0
	for _, id := range ids {
		if err := do(id); err != nil {
			fmt.Fprintf(f.IO.Err, "Could not %s %s: %v\n", verb, cmdutil.Clean(id), cmdutil.WithHint(err))
			failed++
			continue
		}
		fmt.Fprintf(f.IO.Out, "%s endpoint %s\n", done, cmdutil.Clean(id))
	}
	if failed > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure}
	}
	return nil
}

func printEndpoint(f *cmdutil.Factory, ep *omega.Endpoint, asJSON bool, verb string) error {
	if asJSON {
		return cmdutil.WriteJSON(f.IO.Out, ep)
	}
	fmt.Fprintf(f.IO.Out, "%s endpoint %s\n", verb, cmdutil.Clean(ep.ID))
	t := cmdutil.NewTable(f.IO.Out, "  URL", ep.URL)
	t.Row("  Events", strings.Join(ep.Events, ","))
	t.Row("  Active", yesNo(ep.Active))
	t.Row("  Description", cmdutil.OrDash(ep.Desc()))
	return t.Flush()
}
