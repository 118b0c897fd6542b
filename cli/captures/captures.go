// Package captures is `omega-listen captures`: list, show, export and prune the capture store.
package captures

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/text"
)

// NewCmdCaptures is `omega-listen captures`.
func NewCmdCaptures(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "captures",
		Short: "List, show, export and prune recorded deliveries",
		Long: `Every request omega-listen receives is recorded with your app's answer, in the data dir
(--data-dir). These commands read that record; they work with or without a listener running.`,
		Example: `  omega-listen captures list
  omega-listen captures show c_01jd3k
  omega-listen captures export --format har --out deliveries.har
  omega-listen captures prune --older-than 7d`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		NewCmdList(f, nil),
		NewCmdShow(f, nil),
		NewCmdExport(f, nil),
		NewCmdPrune(f, nil),
	)
	return cmd
}

// captureSelect is the selection flags list and export share.
type captureSelect struct {
	Limit   int
	Types   []string
	Failed  bool
	Since   time.Duration
	Session string
	Grep    string
}

func addSelectFlags(cmd *cobra.Command, o *captureSelect, defLimit int) {
	fl := cmd.Flags()
	fl.IntVarP(&o.Limit, "limit", "n", defLimit, "at most this many, the newest (0: all)")
	fl.StringSliceVarP(&o.Types, "type", "t", nil, "only these event types (comma-separated)")
	fl.BoolVar(&o.Failed, "failed", false, "only deliveries your app answered with non-2xx or never answered")
	cmdutil.AgoVar(fl, &o.Since, "since", true, "only deliveries received since then: 30m, 24h, 2d, 2026-11-26, '2026-11-26 15:04', 15:04")
	fl.StringVar(&o.Session, "session", "", "only deliveries of this listener session")
	fl.StringVar(&o.Grep, "grep", "", "only deliveries whose request body contains this text (case-sensitive)")
}

// changed reports whether any selection flag was given.
func selectFlagsChanged(cmd *cobra.Command) bool {
	for _, n := range []string{"limit", "type", "failed", "since", "session", "grep"} {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

// query checks the flags and turns them into a store query, newest first.
func (o *captureSelect) query(now time.Time) (capture.Query, error) {
	q := capture.Query{Newest: true, Limit: o.Limit, Failed: o.Failed, SessionID: o.Session, Text: o.Grep}
	if o.Limit < 0 {
		return q, cmdutil.Usagef("--limit must be 0 (all) or more, not %d", o.Limit)
	}
	if o.Since < 0 {
		return q, cmdutil.Usagef("--since must not be in the future")
	}
	if o.Since > 0 {
		q.Since = now.Add(-o.Since)
	}
	for _, t := range o.Types {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !omega.Known(t) {
			return q, cmdutil.Usage(&omega.UnknownTypeError{Type: t})
		}
		q.Types = append(q.Types, t)
	}
	return q, nil
}

func (o *captureSelect) filtered() bool {
	return len(o.Types) > 0 || o.Failed || o.Since > 0 || o.Session != "" || o.Grep != ""
}

// noCaptures says why a selection is empty and what to do.
func noCaptures(f *cmdutil.Factory, o *captureSelect) string {
	if o.filtered() {
		return "No captures match. Try fewer filters, or `omega-listen captures list` to see them all."
	}
	dir, _ := f.DataDir()
	return fmt.Sprintf("No captures yet in %s. Start a listener (omega-listen --forward localhost:8888/webhook, or --emulate to try it without an account); every delivery it receives is recorded here.", dir)
}

// ListOptions are the flags and arguments of its command.
type ListOptions struct {
	sel  captureSelect
	JSON bool
}

// NewCmdList is `omega-listen captures list`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	o := &ListOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List recorded deliveries, newest last",
		Example: `  omega-listen captures list
  omega-listen captures list --failed --since 1h
  omega-listen captures list --type video.process_failed --limit 10 --json
  omega-listen captures list --grep 630fac88bd5bb64cf8b24b99`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := o.sel.query(time.Now())
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runCapturesList(cmd.Context(), f, o, q)
		},
	}
	addSelectFlags(cmd, &o.sel, 50)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print a JSON array")
	return cmd
}

// summaryJSON is a summary as list --json prints it.
type summaryJSON struct {
	capture.Summary
	Outcome capture.Outcome `json:"outcome"`
}

func runCapturesList(ctx context.Context, f *cmdutil.Factory, o *ListOptions, q capture.Query) error {
	st, err := f.OpenStore()
	if err != nil {
		return err
	}
	defer st.Close()
	sums, err := st.List(ctx, q)
	if err != nil {
		return err
	}
	slices.Reverse(sums)
	if o.JSON {
		out := make([]summaryJSON, len(sums))
		for i, m := range sums {
			out[i] = summaryJSON{m, m.Outcome()}
		}
		return cmdutil.WriteJSON(f.IO.Out, out)
	}
	if len(sums) == 0 {
		fmt.Fprintln(f.IO.Out, noCaptures(f, &o.sel))
		return nil
	}
	ids := make([]string, len(sums))
	for i, m := range sums {
		ids[i] = m.ID
	}
	short := uniquePrefixes(ids, 12)
	t := cmdutil.NewTable(f.IO.Out, "ID", "TIME", "TYPE", "EVENT", "STATUS", "DURATION", "SIZE", "NOTE")
	for i, m := range sums {
		t.Row(short[i], cmdutil.FmtTime(m.ReceivedAt), captureType(m), cmdutil.OrDash(m.EventID), captureStatus(m),
			captureDuration(m), text.Bytes(int64(m.BodySize)), captureNote(m))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if q.Limit > 0 && len(sums) == q.Limit {
		fmt.Fprintf(f.IO.Err, "Showing the newest %d; --limit 0 shows all.\n", q.Limit)
	}
	return nil
}

// uniquePrefixes shortens each ID to at least min characters and enough
// to tell it from the others listed (IDs of one millisecond share a long
// prefix).
func uniquePrefixes(ids []string, min int) []string {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	need := map[string]int{}
	common := func(a, b string) int {
		n := 0
		for n < len(a) && n < len(b) && a[n] == b[n] {
			n++
		}
		return n
	}
	for i, id := range sorted {
		n := min
		if i > 0 {
			n = max(n, common(id, sorted[i-1])+1)
		}
		if i+1 < len(sorted) {
			n = max(n, common(id, sorted[i+1])+1)
		}
		need[id] = n
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = cmdutil.ShortID(id, need[id])
	}
	return out
}

func captureType(m capture.Summary) string {
	switch {
	case m.EventType != "":
		return m.EventType
	case m.Flags.Has(capture.FlagNotJSON):
		return "(not JSON)"
	case m.Flags.Has(capture.FlagNotOmega):
		return "(not Omega)"
	}
	return "-"
}

func captureStatus(m capture.Summary) string {
	switch m.Outcome() {
	case capture.OutcomeRejected:
		return strconv.Itoa(m.SentStatus)
	case capture.OutcomePending:
		return "pending"
	case capture.OutcomeFailed:
		if m.Status != 0 {
			return strconv.Itoa(m.Status)
		}
		return "failed"
	}
	return strconv.Itoa(m.Status)
}

func captureDuration(m capture.Summary) string {
	if m.State != capture.StateDone || m.Flags.Has(capture.FlagRejected) {
		return "-"
	}
	return text.Duration(m.Duration)
}

func captureNote(m capture.Summary) string {
	var notes []string
	if m.Flags.Has(capture.FlagRejected) {
		notes = append(notes, "rejected: "+m.RejectReason)
	}
	if m.Error != "" {
		notes = append(notes, "error: "+cmdutil.Truncate(m.Error, 60))
	}
	if m.ReplayOf != "" {
		notes = append(notes, "replay of "+m.ReplayOf)
	}
	if m.Flags.Has(capture.FlagBackfill) {
		notes = append(notes, "backfill")
	}
	if m.Flags.Has(capture.FlagTruncated) {
		notes = append(notes, "body truncated")
	}
	return strings.Join(notes, "; ")
}

// ShowOptions are the flags and arguments of its command.
type ShowOptions struct {
	JSON bool
	Body bool
}

// NewCmdShow is `omega-listen captures show`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	o := &ShowOptions{}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one recorded delivery whole: request, answer, replays",
		Long: `Show one capture: its summary, the request headers and body, your app's answer, the
error if it failed, and the replays of it. ID may be a capture ID or an Omega event ID (its
newest capture), whole or a prefix of at least 4 characters (as the lines, the screen and
'captures list' print them).`,
		Example: `  omega-listen captures show c_01jd3k8m2x
  omega-listen captures show c_01jd3k8m2x --json | jq .response_headers
  omega-listen captures show c_01jd3k8m2x --body | jq .data`,
		Args: cmdutil.NeedArgs(1, 1, "one capture ID", "`omega-listen captures list` shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.JSON && o.Body {
				return cmdutil.Usagef("--json and --body cannot be combined")
			}
			if runF != nil {
				return runF(o)
			}
			return runCapturesShow(cmd.Context(), f, o, args[0])
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the capture as JSON (bodies base64)")
	cmd.Flags().BoolVar(&o.Body, "body", false, "print only the raw request body, for piping")
	return cmd
}

// captureJSON is a capture as show --json prints it.
type captureJSON struct {
	*capture.Capture
	Outcome capture.Outcome   `json:"outcome"`
	Replays []capture.Summary `json:"replays"`
}

func runCapturesShow(ctx context.Context, f *cmdutil.Factory, o *ShowOptions, id string) error {
	st, err := f.OpenStore()
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := cmdutil.GetCapture(ctx, st, id, f.IO.Err)
	if err != nil {
		return err
	}
	if o.Body {
		if f.IO.OutIsTerminal && text.SanitizeLines(string(c.Body)) != string(c.Body) {
			fmt.Fprintln(f.IO.Err, "(control characters escaped because output is a terminal; pipe or redirect it for the raw bytes)")
			_, err := io.WriteString(f.IO.Out, text.SanitizeLines(string(c.Body)))
			return err
		}
		_, err := f.IO.Out.Write(c.Body)
		return err
	}
	replays, err := st.List(ctx, capture.Query{ReplayOf: c.ID})
	if err != nil {
		return err
	}
	if o.JSON {
		if replays == nil {
			replays = []capture.Summary{}
		}
		return cmdutil.WriteJSON(f.IO.Out, captureJSON{c, c.Outcome(), replays})
	}
	return printCapture(f.IO.Out, c, replays)
}

func printCapture(w io.Writer, c *capture.Capture, replays []capture.Summary) error {
	m := c.Summary()
	t := cmdutil.NewTable(w, "Capture", c.ID)
	t.Row("Received", cmdutil.FmtTime(c.ReceivedAt))
	if !c.CompletedAt.IsZero() {
		t.Row("Completed", cmdutil.FmtTime(c.CompletedAt))
	}
	if c.SessionID != "" {
		t.Row("Session", c.SessionID)
	}
	if c.RemoteAddr != "" {
		t.Row("From", c.RemoteAddr)
	}
	t.Row("Request", c.Method+" "+c.Path)
	if c.EventType != "" || c.EventID != "" {
		t.Row("Event", cmdutil.OrDash(c.EventType)+" ["+cmdutil.OrDash(c.EventID)+"]")
	}
	if !c.EventCreated.IsZero() {
		t.Row("Created", cmdutil.FmtTime(c.EventCreated))
	}
	if c.EndpointID != "" {
		t.Row("Endpoint", c.EndpointID)
	}
	var flags []string
	for _, f := range []struct {
		f    capture.Flags
		name string
	}{{capture.FlagNotJSON, "not JSON"}, {capture.FlagNotOmega, "not an Omega event"}, {capture.FlagBackfill, "backfill"}, {capture.FlagTruncated, "body truncated"}, {capture.FlagQueued, "queued by the relay"}} {
		if c.Flags.Has(f.f) {
			flags = append(flags, f.name)
		}
	}
	if len(flags) > 0 {
		t.Row("Flags", strings.Join(flags, ", "))
	}
	if c.ReplayOf != "" {
		t.Row("Replay of", c.ReplayOf)
	}
	switch c.Outcome() {
	case capture.OutcomeRejected:
		t.Row("Rejected", fmt.Sprintf("%d: %s (not forwarded)", c.SentStatus, c.RejectReason))
	case capture.OutcomePending:
		t.Row("Forwarded", cmdutil.OrDash(c.Target))
		t.Row("Answer", "pending (no answer recorded yet)")
	default:
		t.Row("Forwarded", cmdutil.OrDash(c.Target))
		if c.Status != 0 {
			t.Row("Answer", strings.TrimSpace(fmt.Sprintf("%d %s", c.Status, http.StatusText(c.Status)))+" in "+text.Duration(c.Duration))
		} else {
			t.Row("Answer", "none after "+text.Duration(c.Duration))
		}
		if c.Error != "" {
			t.Row("Error", c.Error)
		}
		if c.SentStatus != 0 && c.SentStatus != c.Status {
			t.Row("Sender got", strconv.Itoa(c.SentStatus))
		}
	}
	t.Row("Outcome", string(m.Outcome()))
	if err := t.Flush(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	printHeaders(bw, "Request headers", c.Headers)
	printBody(bw, "Request body", c.Body)
	if c.Status != 0 {
		printHeaders(bw, "Response headers", c.RespHeaders)
		printBody(bw, "Response body", c.RespBody)
	}
	if len(replays) > 0 {
		fmt.Fprintf(bw, "\nReplays (%d):\n", len(replays))
		rt := cmdutil.NewTable(bw, "  ID", "TIME", "STATUS", "DURATION", "NOTE")
		for _, r := range replays {
			rt.Row("  "+r.ID, cmdutil.FmtTime(r.ReceivedAt), captureStatus(r), captureDuration(r), captureNote(r))
		}
		rt.Flush()
	}
	return bw.Flush()
}

func printHeaders(w io.Writer, title string, h http.Header) {
	fmt.Fprintf(w, "\n%s:\n", title)
	if len(h) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			fmt.Fprintf(w, "  %s: %s\n", cmdutil.Clean(k), cmdutil.Clean(v))
		}
	}
}

// printBody shows a body readably: JSON indented, text with control
// characters escaped (newlines kept), anything else escaped whole.
func printBody(w io.Writer, title string, b []byte) {
	fmt.Fprintf(w, "\n%s (%s):\n", title, text.Bytes(int64(len(b))))
	if len(b) == 0 {
		fmt.Fprintln(w, "  (empty)")
		return
	}
	var text string
	var buf bytes.Buffer
	switch {
	case json.Valid(b) && json.Indent(&buf, b, "", "  ") == nil:
		text = buf.String()
	case utf8.Valid(b):
		text = strings.ReplaceAll(string(b), "\r\n", "\n")
	default:
		text = cmdutil.Clean(string(b))
	}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", cmdutil.Clean(line))
	}
}

// ExportOptions are the flags and arguments of its command.
type ExportOptions struct {
	sel    captureSelect
	Format string
	Out    string
	Force  bool
	To     string
}

// NewCmdExport is `omega-listen captures export`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdExport(f *cmdutil.Factory, runF func(*ExportOptions) error) *cobra.Command {
	o := &ExportOptions{}
	cmd := &cobra.Command{
		Use:   "export [ID...]",
		Short: "Export deliveries as JSON lines, HAR or curl commands",
		Long: `Export the captures named by ID (full IDs or prefixes), or else those the selection flags
pick (the same as 'captures list': by default the newest 50; --limit 0 for all), oldest first.

Formats:
  jsonl  one JSON object per capture, the full record; JSON bodies as JSON (jq reads into
         them), other bodies base64 in body_base64 / response_body_base64
  har    HAR 1.2, for browser devtools and other HAR viewers
  curl   one curl command per capture that sends the same request again, byte for byte

Output goes to stdout, or with --out to a new file (mode 0600, since deliveries can hold
secrets). An existing file is left alone unless --force.`,
		Example: `  omega-listen captures export --format har --out deliveries.har
  omega-listen captures export c_01jd3k8m2x --format curl
  omega-listen captures export c_01jd3k8m2x --format curl --to http://localhost:3000/hook | sh
  omega-listen captures export --failed --since 24h --limit 0 > failed.jsonl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch o.Format {
			case "jsonl", "har", "curl":
			default:
				return cmdutil.Usagef("--format must be jsonl, har or curl, not %q", o.Format)
			}
			if len(args) > 0 && selectFlagsChanged(cmd) {
				return cmdutil.Usagef("give capture IDs or selection flags (--type, --failed, ...), not both")
			}
			if o.To != "" && o.Format != "curl" {
				return cmdutil.Usagef("--to applies to --format curl only")
			}
			q, err := o.sel.query(time.Now())
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runCapturesExport(cmd.Context(), f, o, args, q)
		},
	}
	addSelectFlags(cmd, &o.sel, 50)
	cmd.Flags().StringVarP(&o.Format, "format", "F", "jsonl", "jsonl, har or curl")
	cmd.Flags().StringVarP(&o.Out, "out", "o", "", "write to this new file instead of stdout")
	cmd.Flags().BoolVar(&o.Force, "force", false, "with --out, replace the file if it exists")
	cmd.Flags().StringVar(&o.To, "to", "", "curl format: send to this URL instead of the one each capture was forwarded to")
	return cmd
}

func runCapturesExport(ctx context.Context, f *cmdutil.Factory, o *ExportOptions, ids []string, q capture.Query) error {
	if o.Out != "" && o.Out != "-" && !o.Force {
		if _, err := os.Lstat(o.Out); err == nil {
			return fmt.Errorf("%s exists: choose another --out, or add --force to replace it", o.Out)
		}
	}
	st, err := f.OpenStore()
	if err != nil {
		return err
	}
	defer st.Close()
	var caps []*capture.Capture
	if len(ids) > 0 {
		for _, id := range ids {
			c, err := cmdutil.GetCapture(ctx, st, id, f.IO.Err)
			if err != nil {
				return err
			}
			caps = append(caps, c)
		}
	} else {
		caps, err = st.ListFull(ctx, q)
		if err != nil {
			return err
		}
		slices.Reverse(caps)
	}
	switch {
	case len(caps) == 0:
		fmt.Fprintln(f.IO.Err, noCaptures(f, &o.sel))
	case len(ids) == 0 && q.Limit > 0 && len(caps) == q.Limit:
		fmt.Fprintf(f.IO.Err, "Exporting the newest %d; --limit 0 exports all.\n", q.Limit)
	}

	write := func(w io.Writer) error {
		switch o.Format {
		case "har":
			return capture.WriteHAR(w, caps, cmdutil.UserAgent())
		case "curl":
			return writeCurl(w, caps, o.To)
		default:
			return capture.WriteJSONL(w, caps)
		}
	}
	if o.Out == "" || o.Out == "-" {
		bw := bufio.NewWriter(f.IO.Out)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	if err := writeFileSecret(o.Out, o.Force, write); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Err, "Wrote %d capture(s) to %s (%s).\n", len(caps), o.Out, o.Format)
	return nil
}

func writeCurl(w io.Writer, caps []*capture.Capture, to string) error {
	bw := bufio.NewWriter(w)
	for i, c := range caps {
		if i > 0 {
			bw.WriteString("\n")
		}
		// clean keeps a hostile event type from ending the comment line.
		fmt.Fprintf(bw, "# %s %s", cmdutil.Clean(c.ID), cmdutil.Clean(cmdutil.OrDash(c.EventType)))
		if c.EventID != "" {
			fmt.Fprintf(bw, " [%s]", cmdutil.Clean(c.EventID))
		}
		fmt.Fprintf(bw, " %s\n", cmdutil.FmtTime(c.ReceivedAt))
		if to == "" && c.Target == "" {
			bw.WriteString("# never forwarded: set TARGET to the URL to send it to\n")
		}
		bw.WriteString(capture.Curl(c, to))
	}
	return bw.Flush()
}

// writeFileSecret writes a new file of mode 0600 at path. Without force it
// fails if path exists; with force it replaces it whole (through a
// temporary file, so a failed write leaves the old one).
func writeFileSecret(path string, force bool, write func(io.Writer) error) error {
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: choose another --out, or add --force to replace it", path)
		}
		if err != nil {
			return fmt.Errorf("creating %s: %w", path, err)
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// PruneOptions are the flags and arguments of its command.
type PruneOptions struct {
	OlderThan time.Duration
	Keep      int
	All       bool
	Yes       bool
}

// NewCmdPrune is `omega-listen captures prune`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdPrune(f *cmdutil.Factory, runF func(*PruneOptions) error) *cobra.Command {
	o := &PruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete recorded deliveries",
		Long: `Delete captures from the store: those received before --older-than (a duration such as
7d, or a time such as 2026-11-01), all but the newest --keep, or --all. On a terminal it asks first; elsewhere it needs --yes.

A running listener also prunes its store as it goes (--retain, default 10000).`,
		Example: `  omega-listen captures prune --older-than 7d
  omega-listen captures prune --older-than 2026-11-01
  omega-listen captures prune --keep 100 --yes
  omega-listen captures prune --all --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, f := range []string{"older-than", "keep", "all"} {
				if cmd.Flags().Changed(f) {
					n++
				}
			}
			switch {
			case n != 1:
				return cmdutil.Usagef("say what to delete with exactly one of --older-than WHEN, --keep N or --all")
			case o.OlderThan < 0 || cmd.Flags().Changed("older-than") && o.OlderThan == 0:
				return cmdutil.Usagef("--older-than must be more than 0, like 7d or 2026-11-01")
			case o.Keep < 0:
				return cmdutil.Usagef("--keep must be 0 or more")
			case !o.Yes && !f.IO.InIsTerminal:
				return cmdutil.Usagef("prune deletes captures for good: add --yes to confirm (input is not a terminal, so it cannot ask)")
			}
			if runF != nil {
				return runF(o)
			}
			return runCapturesPrune(cmd.Context(), f, o, cmd.Flags().Changed("keep"))
		},
	}
	cmdutil.AgoVar(cmd.Flags(), &o.OlderThan, "older-than", true, "delete captures received before then: 24h, 7d, 2026-11-01")
	cmd.Flags().IntVar(&o.Keep, "keep", 0, "delete all but the newest N captures")
	cmd.Flags().BoolVar(&o.All, "all", false, "delete every capture")
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// pruneQuery finds what prune deletes. Captures are in store order, which
// is the order they were received, so both "older than" and "all but the
// newest N" are "everything before one capture".
func pruneQuery(ctx context.Context, st *capture.Store, o *PruneOptions, keep bool) (q capture.Query, none bool, err error) {
	switch {
	case o.All:
		return capture.Query{}, false, nil
	case keep:
		if o.Keep == 0 {
			return capture.Query{}, false, nil
		}
		newest, err := st.List(ctx, capture.Query{Newest: true, Limit: o.Keep})
		if err != nil || len(newest) < o.Keep {
			return q, true, err
		}
		return capture.Query{BeforeSeq: newest[len(newest)-1].Seq}, false, nil
	default:
		first, err := st.List(ctx, capture.Query{Since: time.Now().Add(-o.OlderThan), Limit: 1})
		if err != nil {
			return q, true, err
		}
		if len(first) == 0 {
			return capture.Query{}, false, nil
		}
		return capture.Query{BeforeSeq: first[0].Seq}, false, nil
	}
}

func runCapturesPrune(ctx context.Context, f *cmdutil.Factory, o *PruneOptions, keep bool) error {
	st, err := f.OpenStore()
	if err != nil {
		return err
	}
	defer st.Close()
	q, none, err := pruneQuery(ctx, st, o, keep)
	if err != nil {
		return err
	}
	n := 0
	if !none {
		if n, err = st.Count(ctx, q); err != nil {
			return err
		}
	}
	if n == 0 {
		fmt.Fprintln(f.IO.Out, "Nothing to prune.")
		return nil
	}
	if !o.Yes {
		dir, _ := f.DataDir()
		fmt.Fprintf(f.IO.Err, "Delete %d capture(s) from %s? This cannot be undone. [y/N] ", n, dir)
		line, _ := bufio.NewReader(f.IO.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(f.IO.Err, "Nothing deleted.")
			return &cmdutil.ExitError{Code: cmdutil.ExitFailure}
		}
	}
	deleted, err := st.Delete(ctx, q)
	if err != nil {
		return fmt.Errorf("pruning captures: %w", err)
	}
	fmt.Fprintf(f.IO.Out, "Deleted %d capture(s).\n", deleted)
	return nil
}
