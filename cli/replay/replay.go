// Package replay is `omega-listen replay`: send recorded deliveries (or Omega's own history) to the app again.
package replay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/lines"
	"github.com/omega-listen/omega-listen/cli/internal/session"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/replay"
)

// Options are the flags and arguments of its command.
type Options struct {
	IDs         []string
	Last        int
	Types       []string
	Since       time.Duration
	Failed      bool
	All         bool
	To          string
	Edit        bool
	Sets        []string
	Concurrency int
	Delay       time.Duration
	DryRun      bool
	Format      string
	Headers     []string
	Timeout     time.Duration
	FromOmega   string
	Endpoint    string
}

// config is Options checked, with nothing read yet.
type config struct {
	opts    *Options
	sel     replay.Selector
	to      *url.URL // nil: each capture's own target
	headers http.Header
	json    bool
}

// NewCmdReplay is `omega-listen replay`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdReplay(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "replay [ID...]",
		Short: "Send recorded deliveries to your app again",
		Long: `Send recorded deliveries to your app again, from the capture store: no listener needs to be
running. Each replay carries the original's method, headers and body byte for byte, plus
Omega-Listen-Replay: <original capture ID>, and is recorded as a new capture that names the
original (see 'omega-listen captures list').

Choose what to replay with capture IDs or Omega event IDs (or at least 4 characters of one; an
event replays its newest capture), or with filters,
which combine: --type, --since and --failed narrow the selection and --last N keeps the
newest N of it. --all replays every capture. Captures are replayed oldest first. Requests the
receiver rejected (wrong path, method or size) were never forwarded and are never replayed.

--failed selects the deliveries your app has not accepted yet: it answered non-2xx or could
not be reached, and no replay since got a 2xx. A capture and its replays count as one
delivery and the original is what is sent, so after fixing your app, 'replay --failed'
retries each failed event once, and running it again sends nothing.

Replays go to where each capture was forwarded, or to --to. --set path=value changes one
JSON field (dotted path, array indexes as numbers: data.meta.key=x, items.0.id=7; the value
is JSON if it parses as JSON, else a string). --edit opens the body in $VISUAL or $EDITOR
first: one capture at a time; an empty file aborts.

--from-omega EVENT_ID --endpoint ID fetches an event from Omega's delivery history and
delivers it as Omega did (it needs the API key, or a running 'omega-listen --emulate'); it
goes to --to, else to the running listener's --forward target.

Exit status: 0 if every replay got a 2xx, 1 if any did not (so scripts and CI can use it),
2 for a mistake on the command line.`,
		Example: `  # The newest capture, and two by ID (a prefix is enough)
  omega-listen replay --last 1
  omega-listen replay c_01jd5k2x c_01jd5m9q

  # Your handler was broken; you fixed it: retry what it refused
  omega-listen replay --failed

  # Every video.process_failed of the last hour, to another build of the app, 4 at a time
  omega-listen replay --type video.process_failed --since 1h --to localhost:9999/webhook --concurrency 4

  # Change a field, or edit the whole body, before sending
  omega-listen replay c_01jd5k2x --set data.status=process-failed --set data.duration=0
  omega-listen replay c_01jd5k2x --edit

  # See what would be sent, send nothing
  omega-listen replay --all --dry-run

  # An event from Omega's own history
  omega-listen replay --from-omega 630fac88bd5bb64cf8b24b99 --endpoint 6323940afc8e1c02d9f3b155 --to localhost:8888/webhook`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.IDs = args
			if cmd.Flags().Changed("last") && o.Last < 1 {
				return cmdutil.Usagef("--last must be at least 1")
			}
			cfg, err := checkReplay(o)
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runReplay(cmd.Context(), f, cfg)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Last, "last", 0, "replay the newest N of the selected captures")
	fl.StringSliceVar(&o.Types, "type", nil, "only captures of these event types (comma-separated or repeated)")
	cmdutil.AgoVar(fl, &o.Since, "since", true, "only captures received since then: 30m, 24h, 2d, 2026-11-26, '2026-11-26 15:04', 15:04")
	fl.BoolVar(&o.Failed, "failed", false, "only deliveries your app has not accepted yet (non-2xx or unreachable, not since replayed with a 2xx)")
	fl.BoolVar(&o.All, "all", false, "replay every capture")
	fl.StringVar(&o.To, "to", "", "send to this target instead of each capture's own (8888, localhost:8888/webhook or a URL)")
	fl.BoolVar(&o.Edit, "edit", false, "edit the body in $VISUAL or $EDITOR before sending (one capture only)")
	fl.StringArrayVar(&o.Sets, "set", nil, "set one JSON field of the body, path=value (repeatable)")
	fl.IntVar(&o.Concurrency, "concurrency", 1, "how many replays to send at once")
	fl.DurationVar(&o.Delay, "delay", 0, "pause between starting one replay and the next, e.g. 200ms")
	fl.BoolVar(&o.DryRun, "dry-run", false, "show what would be sent and send nothing")
	fl.StringVar(&o.Format, "format", "text", "line format: text or json (NDJSON)")
	fl.StringArrayVarP(&o.Headers, "header", "H", nil, "extra header on every replay, \"Key: Value\" (repeatable)")
	fl.DurationVar(&o.Timeout, "timeout", 30*time.Second, "how long your app may take to answer each replay")
	fl.StringVar(&o.FromOmega, "from-omega", "", "replay this event from Omega's delivery history (needs --endpoint)")
	fl.StringVar(&o.Endpoint, "endpoint", "", "with --from-omega: the endpoint the event was sent to")
	_ = cmd.RegisterFlagCompletionFunc("type", cmdutil.CompleteEventTypes)
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// checkReplay checks the flags without reading anything.
func checkReplay(o *Options) (*config, error) {
	cfg := &config{opts: o}
	var err error
	if cfg.json, err = cmdutil.ParseFormat(o.Format); err != nil {
		return nil, err
	}
	if cfg.headers, err = cmdutil.ParseHeaders(o.Headers); err != nil {
		return nil, cmdutil.Usage(err)
	}
	switch {
	case o.Concurrency < 1:
		return nil, cmdutil.Usagef("--concurrency must be at least 1")
	case o.Delay < 0:
		return nil, cmdutil.Usagef("--delay cannot be negative")
	case o.Timeout <= 0:
		return nil, cmdutil.Usagef("--timeout must be positive")
	}
	for _, a := range o.Sets {
		if p, _, ok := strings.Cut(a, "="); !ok || p == "" {
			return nil, cmdutil.Usagef("--set %q: want path=value, e.g. --set data.title=\"New title\"", a)
		}
	}
	if o.To != "" {
		if cfg.to, err = cmdutil.ParseForward(o.To); err != nil {
			return nil, cmdutil.Usagef("--to %s", strings.TrimPrefix(err.Error(), "--forward "))
		}
	}
	types := make([]string, 0, len(o.Types))
	for _, t := range o.Types {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	cfg.sel = replay.Selector{IDs: o.IDs, Last: o.Last, Types: types, Since: o.Since, Failed: o.Failed, All: o.All}
	if o.FromOmega != "" {
		if o.Endpoint == "" {
			return nil, cmdutil.Usagef("--from-omega needs --endpoint: the endpoint the event was sent to (see `omega-listen endpoints list`)")
		}
		if len(o.IDs) > 0 || cfg.sel.Last != 0 || len(types) > 0 || o.Since != 0 || o.Failed || o.All {
			return nil, cmdutil.Usagef("--from-omega replays one event from Omega: it cannot be combined with capture IDs or --last, --type, --since, --failed, --all")
		}
		return cfg, nil
	}
	if o.Endpoint != "" {
		return nil, cmdutil.Usagef("--endpoint goes with --from-omega EVENT_ID")
	}
	if err := cfg.sel.Validate(); err != nil {
		return nil, cmdutil.Usage(err)
	}
	if o.Edit && len(o.IDs) > 1 {
		return nil, cmdutil.Usagef("--edit edits one capture at a time; give one ID")
	}
	return cfg, nil
}

func runReplay(ctx context.Context, f *cmdutil.Factory, cfg *config) error {
	o := cfg.opts
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sig, stopSignals := f.IO.Interrupts()
	defer stopSignals()
	go func() {
		select {
		case <-sig:
			fmt.Fprintln(f.IO.Err, "Interrupted: replays not yet sent are skipped.")
			cancel()
		case <-ctx.Done():
		}
	}()

	store, err := f.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()

	var origs []*capture.Capture
	to := ""
	if cfg.to != nil {
		to = cfg.to.String()
	}
	if o.FromOmega != "" {
		var tmpl *capture.Capture
		tmpl, to, err = fromOmega(ctx, f, cfg)
		if err != nil {
			return err
		}
		origs = []*capture.Capture{tmpl}
	} else {
		// Event IDs and prefixes name captures too: say what each picked.
		for i, id := range cfg.sel.IDs {
			c, err := cmdutil.GetCapture(ctx, store, strings.TrimSpace(id), f.IO.Err)
			if err != nil {
				return err
			}
			cfg.sel.IDs[i] = c.ID
		}
		origs, err = replay.Select(ctx, store, cfg.sel, time.Now())
		if err != nil {
			switch {
			case errors.Is(err, replay.ErrNothingSelected) && cfg.sel.Failed:
				// Every failure has been retried to a 2xx: what --failed is
				// for, so a script that reruns it succeeds.
				why := strings.TrimPrefix(err.Error(), replay.ErrNothingSelected.Error()+": ")
				if cfg.json {
					p := lines.New(f.IO.Out, true)
					p.Emit("", map[string]any{"type": "summary", "replayed": 0, "ok": 0, "failed": 0})
					p.Flush()
				}
				fmt.Fprintf(f.IO.Err, "Nothing to replay: %s.\n", why)
				return nil
			case errors.Is(err, replay.ErrNothingSelected):
				return fmt.Errorf("%w (see `omega-listen captures list`)", err)
			}
			return err
		}
	}
	if o.Edit && len(origs) != 1 {
		return cmdutil.Usagef("--edit edits one capture at a time, and %d are selected: give one ID, or --last 1", len(origs))
	}

	bodies, err := editBodies(ctx, f, origs, o)
	if err != nil {
		return err
	}

	fwd := inspector.NewForwarder(inspector.ForwarderOptions{Target: cfg.to, Timeout: o.Timeout, Headers: cfg.headers})
	defer fwd.Close()
	r := replay.New(replay.Options{
		Store: store, Forwarder: fwd, SessionID: capture.NewID(),
		Concurrency: o.Concurrency, Delay: o.Delay,
	})
	p := lines.New(f.IO.Out, cfg.json)
	if o.DryRun {
		return dryRun(f, p, r, fwd, cfg, origs, to, bodies)
	}

	var ok, bad int
	runErr := r.Run(ctx, origs, to, bodies, func(i int, c *capture.Capture, err error) {
		if err != nil {
			bad++
			err = cmdutil.WithHint(err)
			name := captureName(origs[i])
			if cfg.json {
				p.Emit("", map[string]string{"type": "error", "capture_id": origs[i].ID, "event_id": origs[i].EventID, "error": err.Error()})
			} else {
				fmt.Fprintf(f.IO.Err, "Could not replay %s: %v\n", name, err)
			}
			return
		}
		sum := c.Summary()
		p.Received(sum)
		p.Completed(sum)
		p.Flush()
		if c.Outcome() == capture.OutcomeOK {
			ok++
		} else {
			bad++
		}
	})
	if cfg.json {
		p.Emit("", map[string]any{"type": "summary", "replayed": ok + bad, "ok": ok, "failed": bad})
	} else {
		fmt.Fprintf(f.IO.Err, "Replayed %d: %d ok, %d failed\n", ok+bad, ok, bad)
	}
	if runErr != nil || bad > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure}
	}
	return nil
}

// fromOmega fetches the event --from-omega names and works out where it
// goes: --to, else the running listener's target.
func fromOmega(ctx context.Context, f *cmdutil.Factory, cfg *config) (*capture.Capture, string, error) {
	o := cfg.opts
	dir, err := f.DataDir()
	if err != nil {
		return nil, "", err
	}
	si, serr := session.Find(dir)
	if serr != nil && !errors.Is(serr, session.ErrNone) {
		return nil, "", serr
	}
	to := ""
	switch {
	case cfg.to != nil:
		to = cfg.to.String()
	case si != nil && si.Forward != "":
		to = si.Forward
	default:
		return nil, "", cmdutil.Usagef("--from-omega: no omega-listen is running to take the target from: pass --to, e.g. --to localhost:8888/webhook")
	}
	// A running `omega-listen --emulate`: its emulator holds the history.
	client, err := f.CommandClient()
	if err != nil {
		return nil, "", err
	}
	c, err := replay.FromOmega(ctx, client, o.Endpoint, o.FromOmega)
	if c != nil {
		// Asked for, so labelled "from Omega", not "backfill".
		c.Flags = c.Flags&^capture.FlagBackfill | capture.FlagFromOmega
	}
	if err != nil {
		return nil, "", err
	}
	return c, to, nil
}

// editBodies applies --set and --edit, returning the changed bodies by
// capture ID. Nothing is sent if any capture cannot be edited.
func editBodies(ctx context.Context, f *cmdutil.Factory, origs []*capture.Capture, o *Options) (map[string][]byte, error) {
	if len(o.Sets) == 0 && !o.Edit {
		return nil, nil
	}
	bodies := make(map[string][]byte, len(origs))
	for _, c := range origs {
		body := c.Body
		for _, a := range o.Sets {
			b, err := replay.SetField(body, a)
			if err != nil {
				return nil, fmt.Errorf("%s: %w; nothing was replayed", captureName(c), err)
			}
			body = b
		}
		if o.Edit {
			edited, err := replay.EditInEditor(ctx, f.Editor(), body)
			if err != nil {
				return nil, err
			}
			checked, err := replay.CheckEdited(body, edited)
			switch {
			case errors.Is(err, replay.ErrUnchanged):
				fmt.Fprintln(f.IO.Err, "The body was not changed; replaying it as it was.")
			case err != nil:
				return nil, fmt.Errorf("%w; nothing was replayed", err)
			}
			body = checked
		}
		bodies[c.ID] = body
	}
	return bodies, nil
}

// dryRun prints what each replay would send.
func dryRun(f *cmdutil.Factory, p *lines.Printer, r *replay.Replayer, fwd *inspector.Forwarder, cfg *config, origs []*capture.Capture, to string, bodies map[string][]byte) error {
	for _, c := range origs {
		body, edited := bodies[c.ID]
		pl, err := r.Plan(c, to, body)
		if err != nil {
			return err
		}
		for k, v := range cfg.headers {
			pl.Header[http.CanonicalHeaderKey(k)] = v
		}
		if !edited {
			body = c.Body
		}
		target := pl.TargetString(fwd)
		preview := cmdutil.Truncate(string(body), 200)
		if !utf8.ValidString(preview) {
			preview = fmt.Sprintf("(%d bytes, not UTF-8)", len(body))
		}
		if cfg.json {
			p.Emit("", map[string]any{
				"type": "dry_run", "capture_id": c.ID, "event_id": c.EventID, "event_type": c.EventType,
				"method": pl.Method, "target": target, "headers": pl.Header,
				"body_bytes": len(body), "body_preview": preview, "edited": edited,
			})
			continue
		}
		var b strings.Builder
		what := lines.DescribeEvent(c.Summary())
		if c.ID == "" {
			what = cmdutil.Clean(c.EventType) + " [" + cmdutil.Clean(c.EventID) + "] from Omega's history"
		}
		fmt.Fprintf(&b, "%s\n  %s %s\n", what, cmdutil.Clean(pl.Method), cmdutil.Clean(target))
		keys := make([]string, 0, len(pl.Header))
		for k := range pl.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, v := range pl.Header[k] {
				fmt.Fprintf(&b, "  %s: %s\n", cmdutil.Clean(k), cmdutil.Clean(v))
			}
		}
		fmt.Fprintf(&b, "  %s: (the new capture's ID)\n", inspector.HeaderCapture)
		note := ""
		if edited {
			note = ", edited"
		}
		fmt.Fprintf(&b, "  Body (%d bytes%s): %s", len(body), note, cmdutil.Clean(preview))
		p.Emit(b.String(), nil)
	}
	if !cfg.json {
		fmt.Fprintf(f.IO.Err, "Dry run: %d would be replayed; nothing was sent.\n", len(origs))
	}
	return nil
}

// captureName names a capture in messages; one from Omega's history has
// no ID yet.
func captureName(c *capture.Capture) string {
	if c.ID == "" {
		return "event " + cmdutil.Clean(c.EventID)
	}
	return "capture " + c.ID
}
