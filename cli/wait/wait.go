// Package wait is `omega-listen wait`: block until a delivery of a type arrives (or has), for scripts and CI.
package wait

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/lines"
	"github.com/omega-listen/omega-listen/cli/internal/session"
	"github.com/omega-listen/omega-listen/omega"
)

// Options are the flags and arguments of its command.
type Options struct {
	Types   []string
	Timeout time.Duration
	Expect  string
	Since   time.Duration
	Format  string
}

// NewCmdWait is `omega-listen wait`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdWait(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "wait --type TYPE [--expect 2xx] [--timeout DUR]",
		Short: "Wait until the running listener forwards a delivery, for scripts and CI",
		Long: `Wait until the omega-listen running on this data dir forwards a delivery of
one of the given types, and check what the app answered.

Exits 0 when a matching delivery got the expected answer, 1 when it got
another (or the wait timed out), 2 on a usage error. The delivery is printed
like listen prints it (--format json: the whole capture as JSON).

Only deliveries that complete after wait starts count (including one that
was already in flight), unless --since says how far back to look too: use it
when the event may already have arrived, as after a trigger.`,
		Example: `  # In CI: start the listener, trigger something, check the app accepted it
  omega-listen --emulate --print --forward localhost:8888/webhook &
  omega-listen trigger video.process_succeeded
  omega-listen wait --type video.process_succeeded --since 1m --expect 2xx --timeout 30s

  # Or start waiting first, then cause the event
  omega-listen wait --type video.process_succeeded --timeout 5m &
  ./upload-a-test-video.sh && wait $!

  # Expect the app to refuse an event
  omega-listen wait --type video.process_failed --expect 4xx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return runWait(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&o.Types, "type", "t", nil, "event types to wait for (comma-separated or repeated; \"all\" for any)")
	fl.DurationVar(&o.Timeout, "timeout", time.Minute, "give up after this long (0: wait forever)")
	fl.StringVar(&o.Expect, "expect", "2xx", "the answer that counts as success: 2xx, 3xx, 4xx, 5xx, a status such as 202, failed (the app was not reached), or any")
	cmdutil.AgoVar(fl, &o.Since, "since", true, "also accept deliveries completed since then (before wait started): 30s, 5m, 15:04")
	fl.StringVar(&o.Format, "format", "text", "output: text, or json (the whole capture)")
	_ = cmd.MarkFlagRequired("type")
	_ = cmd.RegisterFlagCompletionFunc("type", cmdutil.CompleteEventTypes)
	return cmd
}

// expectation is a parsed --expect.
type expectation func(c *capture.Capture) bool

func parseExpect(s string) (expectation, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "any":
		return func(*capture.Capture) bool { return true }, nil
	case "failed":
		return func(c *capture.Capture) bool { return c.Outcome() == capture.OutcomeFailed }, nil
	}
	if len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5' {
		class := int(s[0] - '0')
		return func(c *capture.Capture) bool { return c.Error == "" && c.Status/100 == class }, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 100 && n <= 599 {
		return func(c *capture.Capture) bool { return c.Error == "" && c.Status == n }, nil
	}
	return nil, fmt.Errorf("--expect %q: use 2xx, 3xx, 4xx, 5xx, a status such as 202, failed, or any", s)
}

func runWait(ctx context.Context, f *cmdutil.Factory, o *Options) error {
	types, err := omega.ParseTypes(strings.Join(o.Types, ","))
	if err != nil {
		return cmdutil.Usagef("--type: %v", err)
	}
	want := map[string]bool{}
	for _, t := range types {
		want[t] = true
	}
	expect, err := parseExpect(o.Expect)
	if err != nil {
		return cmdutil.Usagef("%v", err)
	}
	asJSON, err := cmdutil.ParseFormat(o.Format)
	if err != nil {
		return err
	}
	if o.Timeout < 0 || o.Since < 0 {
		return cmdutil.Usagef("--timeout and --since must not be negative")
	}
	dir, err := f.DataDir()
	if err != nil {
		return err
	}
	si, err := session.Find(dir)
	if errors.Is(err, session.ErrNone) {
		return fmt.Errorf("no omega-listen is running on %s: start one first (`omega-listen --forward …`), with the same --data-dir", dir)
	}
	if err != nil {
		return err
	}
	store, err := f.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()

	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	ctx, found := context.WithCancel(ctx)
	defer found()
	// The first delivery that meets --expect wins. One that does not ends
	// the wait too if it completed after wait started; one from before
	// (--since) is only kept, in case nothing better comes. Deliveries
	// from further back are read too: one received before wait started
	// may complete after it (a slow app), and one that completed just
	// before is worth naming if the wait times out.
	var match, miss, earlier *capture.Capture
	start := time.Now()
	since := start.Add(-o.Since)
	if o.Since > 0 {
		// What already happened: the newest delivery that meets --expect
		// wins at once (following would meet the oldest first).
		if match, err = newestExpected(ctx, store, si.ID, types, since, expect); err != nil {
			return err
		}
	}
	if match == nil {
		if f.WaitWatching != nil {
			f.WaitWatching()
		}
		// Everyone's captures (own ""); the listener's are picked here.
		_ = store.Follow(ctx, "", start.Add(-max(o.Since, waitLookback)), 50*time.Millisecond, func(k capture.EventKind, c *capture.Capture) {
			if match != nil || k != capture.Completed || c.SessionID != si.ID || c.Flags.Has(capture.FlagRejected) || !want[c.EventType] {
				return
			}
			switch {
			case !c.CompletedAt.Before(start):
				match = c
			case o.Since > 0 && !c.CompletedAt.Before(since):
				// One that met --expect was found above; this one
				// did not. The newest such is kept (they come oldest
				// first), in case nothing better comes.
				miss = c
				return
			default:
				earlier = c
				return
			}
			found()
		})
	}
	if match == nil {
		match = miss
	}
	if match == nil {
		if o.Timeout == 0 {
			return ctx.Err()
		}
		msg := fmt.Sprintf("no %s delivery completed within %s", strings.Join(types, " or "), o.Timeout)
		if earlier != nil {
			age := start.Sub(earlier.CompletedAt)
			msg += fmt.Sprintf("\n  Hint: %s [%s] completed %s before wait started, and only later ones count: add --since %s to count it",
				cmdutil.Clean(earlier.EventType), cmdutil.Clean(earlier.EventID), roundAge(age), sinceHint(age))
		}
		return errors.New(msg)
	}
	p := lines.New(f.IO.Out, false)
	if asJSON {
		if err := cmdutil.WriteJSON(f.IO.Out, match); err != nil {
			return err
		}
	} else {
		p.Completed(match.Summary())
		p.Flush()
	}
	if !expect(match) {
		return fmt.Errorf("%s [%s] got %s, not the expected %s", cmdutil.Clean(match.EventType), cmdutil.Clean(match.EventID), outcomeText(match), o.Expect)
	}
	return nil
}

func outcomeText(c *capture.Capture) string {
	if c.Error != "" || c.Status == 0 {
		return "no answer (" + cmdutil.Clean(c.Error) + ")"
	}
	return fmt.Sprintf("%d", c.Status)
}

// newestExpected returns the newest of the session's deliveries of types
// that completed since then and meets expect, or nil.
func newestExpected(ctx context.Context, store *capture.Store, session string, types []string, since time.Time, expect expectation) (*capture.Capture, error) {
	sums, err := store.List(ctx, capture.Query{SessionID: session, Types: types, Since: since.Add(-waitLookback), Newest: true,
		Outcomes: []capture.Outcome{capture.OutcomeOK, capture.OutcomeAppError, capture.OutcomeFailed}})
	if err != nil {
		return nil, err
	}
	// Newest by Seq is newest received; the one completed last may be
	// another, and completion is what --since counts.
	var best *capture.Summary
	for i := range sums {
		m := &sums[i]
		if m.CompletedAt.Before(since) || !expect(&capture.Capture{Meta: capture.Meta{Flags: m.Flags, State: m.State, Error: m.Error, Status: m.Status}}) {
			continue
		}
		if best == nil || m.CompletedAt.After(best.CompletedAt) {
			best = m
		}
	}
	if best == nil {
		return nil, nil
	}
	return store.Get(ctx, best.ID)
}

// waitLookback is how far before it started wait reads deliveries
// without --since: for ones still in flight then, and for the hint.
const waitLookback = 10 * time.Minute

// roundAge says how long ago, to the second (or the millisecond below
// one).
func roundAge(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// sinceHint is a --since value that reaches back past d, rounded up to
// a whole minute, hour or day.
func sinceHint(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "1m"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)+1) + "m"
	case d < 24*time.Hour:
		return strconv.Itoa(int(d/time.Hour)+1) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))+1) + "d"
}
