// Package events is `omega-listen events`: Omega's event history and the event-type catalogue.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/session"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/text"
)

// NewCmdEvents is `omega-listen events`.
func NewCmdEvents(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Read Omega's delivery history of an endpoint",
		Example: `  omega-listen events list --endpoint 6323940afc8e1c02d9f3b155
  omega-listen events show --endpoint 6323940afc8e1c02d9f3b155 630fac88bd5bb64cf8b24b99`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdShow(f, nil), NewCmdTypes(f))
	return cmd
}

// Options are the flags and arguments of its command.
type Options struct {
	Endpoint string
	JSON     bool
	Limit    int
}

// NewCmdList is `omega-listen events list`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdList(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:     "list [--endpoint ID]",
		Aliases: []string{"ls"},
		Short:   "List the events Omega sent to an endpoint, newest first, with what it answered",
		Long: `List the events Omega sent to an endpoint, newest first, with the answer Omega got
(the status your app answered through omega-listen). Without --endpoint, the endpoint of the
omega-listen running on the data dir.`,
		Example: "  omega-listen events list\n  omega-listen events list --endpoint 6323940afc8e1c02d9f3b155 --limit 20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := defaultEndpoint(f, o); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			c, err := f.CommandClient()
			if err != nil {
				return err
			}
			evs, err := c.ListEvents(cmd.Context(), o.Endpoint)
			if err != nil {
				return fmt.Errorf("listing events of endpoint %s: %w", cmdutil.Clean(o.Endpoint), err)
			}
			if o.Limit > 0 && len(evs) > o.Limit {
				evs = evs[:o.Limit]
			}
			if o.JSON {
				return cmdutil.WriteJSON(f.IO.Out, evs)
			}
			if len(evs) == 0 {
				fmt.Fprintln(f.IO.Out, "No events yet for this endpoint.")
				return nil
			}
			fillAnswers(cmd.Context(), f, c, o.Endpoint, evs)
			t := cmdutil.NewTable(f.IO.Out, "ID", "TYPE", "CREATED", "ANSWER")
			for _, e := range evs {
				t.Row(e.ID, e.Type, cmdutil.FmtTime(e.When()), answerText(e.Response))
			}
			return t.Flush()
		},
	}
	cmd.Flags().StringVar(&o.Endpoint, "endpoint", "", "endpoint id (default: the running listener's)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&o.Limit, "limit", 0, "show at most this many (0: all)")
	return cmd
}

// NewCmdShow is `omega-listen events show`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdShow(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:     "show [--endpoint ID] EVENT_ID",
		Short:   "Show one event whole: its data and what the endpoint answered",
		Example: "  omega-listen events show --endpoint 6323940afc8e1c02d9f3b155 630fac88bd5bb64cf8b24b99",
		Args:    cmdutil.NeedArgs(1, 1, "one event ID", "`omega-listen events list --endpoint ID` shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := defaultEndpoint(f, o); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			c, err := f.CommandClient()
			if err != nil {
				return err
			}
			ev, err := c.GetEvent(cmd.Context(), o.Endpoint, args[0])
			if err != nil {
				return fmt.Errorf("fetching event %s: %w", cmdutil.Clean(args[0]), err)
			}
			if o.JSON {
				return cmdutil.WriteJSON(f.IO.Out, ev)
			}
			return printEvent(f, ev)
		},
	}
	cmd.Flags().StringVar(&o.Endpoint, "endpoint", "", "endpoint id (default: the running listener's)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func printEvent(f *cmdutil.Factory, ev *omega.Event) error {
	t := cmdutil.NewTable(f.IO.Out, "Event", ev.ID)
	t.Row("Type", ev.Type)
	t.Row("Created", cmdutil.FmtTime(ev.When()))
	t.Row("Endpoint", ev.EndpointID)
	t.Row("Company", ev.COID)
	if r := ev.Response; r != nil {
		t.Row("Answer", answerText(r))
		t.Row("Message", cmdutil.OrDash(r.Message))
		t.Row("Body", cmdutil.OrDash(strings.TrimRight(r.Body, "\n")))
	} else {
		t.Row("Answer", "-")
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if len(ev.Data) > 0 && string(ev.Data) != "null" {
		var buf bytes.Buffer
		if json.Indent(&buf, ev.Data, "", "  ") == nil {
			fmt.Fprintf(f.IO.Out, "Data:\n%s\n", text.SanitizeLines(buf.String()))
		}
	}
	return nil
}

// NewCmdTypes is `omega-listen events types`.
func NewCmdTypes(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "types",
		Short:   "List every Omega event type with its documented state",
		Example: "  omega-listen events types",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := cmdutil.NewTable(f.IO.Out, "TYPE", "STATE", "MEANING")
			for _, ti := range omega.Catalogue {
				st := string(ti.State)
				if ti.Note != "" {
					st += " (" + ti.Note + ")"
				}
				t.Row(ti.Type, st, ti.Meaning)
			}
			return t.Flush()
		},
	}
}

// answerText is what the endpoint answered Omega, in a few words.
func answerText(r *omega.EventResponse) string {
	switch {
	case r == nil:
		return "-"
	case r.StatusCode == 0:
		return "none (the endpoint could not be reached)"
	case strings.HasPrefix(r.Status, fmt.Sprint(r.StatusCode)):
		return r.Status
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", r.StatusCode, r.Status))
}

// defaultEndpoint fills --endpoint, when not given, with the endpoint of
// the listener running on the data dir.
func defaultEndpoint(f *cmdutil.Factory, o *Options) error {
	if o.Endpoint != "" {
		return nil
	}
	dir, err := f.DataDir()
	if err != nil {
		return err
	}
	si, err := session.Find(dir)
	if err != nil || si.EndpointID == "" {
		return cmdutil.Usagef("--endpoint is required when no omega-listen is running on %s (see `omega-listen endpoints list`)", dir)
	}
	o.Endpoint = si.EndpointID
	fmt.Fprintf(f.IO.Err, "Endpoint %s (the running listener's).\n", si.EndpointID)
	return nil
}

// fillAnswers completes the answers Omega's list leaves out: from the
// store, where this machine's listener recorded what it answered, else by
// asking Omega for the event (the first answerLookups of them).
func fillAnswers(ctx context.Context, f *cmdutil.Factory, c *omega.Client, endpoint string, evs []omega.Event) {
	st, err := f.OpenStore()
	if err == nil {
		defer st.Close()
	}
	asked := 0
	for i := range evs {
		e := &evs[i]
		if e.Response != nil {
			continue
		}
		if st != nil {
			if got, err := st.List(ctx, capture.Query{EventID: e.ID, Newest: true, Limit: 1}); err == nil && len(got) == 1 && got[0].SentStatus != 0 {
				code := got[0].SentStatus
				e.Response = &omega.EventResponse{StatusCode: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code))}
				continue
			}
		}
		if asked < answerLookups {
			asked++
			if full, err := c.GetEvent(ctx, endpoint, e.ID); err == nil && full.Response != nil {
				e.Response = full.Response
			}
		}
	}
}

const answerLookups = 20
