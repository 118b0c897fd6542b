// Package trigger is `omega-listen trigger`: ask Omega (or the emulator) for a sample delivery to the
// running listener.
package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/cli/internal/session"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/replay"
)

// Options are the flags and arguments of its command.
type Options struct {
	Count int
	To    string
	JSON  bool
	// Sets change fields of the sample (path=value, as replay --set);
	// Data replaces the sample with a file's JSON.
	Sets []string
	Data string
}

// NewCmdTrigger is `omega-listen trigger`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdTrigger(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "trigger TYPE...",
		Short: "Send sample events through a running omega-listen",
		Long: `Send a sample event of each TYPE.

With a running 'omega-listen --emulate', its emulator delivers the event exactly as Omega
would, so it travels the whole path and shows up in the emulator's history. With a listener on
real Omega, the sample is posted straight to the listener (Omega cannot be asked to send one).
With --to, the sample is posted to any URL.`,
		Example: `  omega-listen trigger video.process_succeeded
  omega-listen trigger video.process_failed --count 5
  omega-listen trigger video.deleted --to http://localhost:8888/webhook
  omega-listen trigger video.process_succeeded --set data.title="Launch day" --set data.duration=0
  omega-listen trigger video.process_failed --data failed.json`,
		Args: cmdutil.NeedArgs(1, -1, "one or more event types", "`omega-listen events types` lists them"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var out []string
			for _, ti := range omega.Catalogue {
				out = append(out, ti.Type+"\t"+string(ti.State)+": "+ti.Meaning)
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, t := range args {
				if !omega.Known(t) {
					return cmdutil.Usage(&omega.UnknownTypeError{Type: t})
				}
			}
			if o.Count < 1 || o.Count > 1000 {
				return cmdutil.Usagef("--count must be between 1 and 1000")
			}
			if runF != nil {
				return runF(o)
			}
			return runTrigger(cmd.Context(), f, o, args)
		},
	}
	cmd.Flags().IntVarP(&o.Count, "count", "n", 1, "how many of each type")
	cmd.Flags().StringVar(&o.To, "to", "", "post the sample to this URL instead of a running listener")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print one JSON object per delivery")
	cmd.Flags().StringArrayVar(&o.Sets, "set", nil, "set one field of the sample, path=value (repeatable; value is JSON if it parses, else a string)")
	cmd.Flags().StringVar(&o.Data, "data", "", "send this file's JSON instead of the sample (--set applies on top)")
	return cmd
}

// Result is one sample's fate.
type Result struct {
	Via        string        `json:"via"` // "emulator" or "direct"
	Type       string        `json:"type"`
	EventID    string        `json:"event_id,omitempty"`
	EndpointID string        `json:"endpoint_id,omitempty"`
	URL        string        `json:"url"`
	StatusCode int           `json:"status_code"`
	Status     string        `json:"status,omitempty"`
	Body       string        `json:"body,omitempty"`
	Error      string        `json:"error,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
}

func runTrigger(ctx context.Context, f *cmdutil.Factory, o *Options, types []string) error {
	var results []Result
	custom, err := sampleCustomizer(o)
	if err != nil {
		return err
	}
	switch {
	case o.To != "":
		results, err = Direct(ctx, o.To, "", types, o.Count, custom)
	default:
		dir, derr := f.DataDir()
		if derr != nil {
			return derr
		}
		si, serr := session.Find(dir)
		if serr == nil {
			if err := CheckSubscribed(si, types); err != nil {
				return err
			}
			defer func() {
				if len(results) > 0 {
					waitRecorded(ctx, f, si.ID, results[len(results)-1].EventID)
				}
			}()
		}
		switch {
		case serr == nil && si.Emulator != nil && custom == nil:
			results, err = Emulator(ctx, si.Emulator.BaseURL, si.Emulator.APIKey, si.EndpointID, types, o.Count)
		case serr == nil && si.Emulator != nil:
			fmt.Fprintln(f.IO.Err, "A customised sample (--set, --data) is posted straight to the listener, as Omega would send it; the emulator's history does not list it.")
			results, err = Direct(ctx, si.ReceiverURL, si.EndpointID, types, o.Count, custom)
		case serr == nil:
			fmt.Fprintln(f.IO.Err, "The running listener talks to real Omega, which cannot be asked for an event: posting samples straight to the listener.")
			results, err = Direct(ctx, si.ReceiverURL, si.EndpointID, types, o.Count, custom)
		case errors.Is(serr, session.ErrNone) && f.Global.APIKey != "" && f.Global.BaseURL != cmdutil.DefaultBaseURL && custom == nil:
			// A standalone `omega-listen emulator`: ask it to deliver to
			// every endpoint subscribed to the type.
			results, err = Emulator(ctx, f.Global.BaseURL, f.Global.APIKey, "", types, o.Count)
		case errors.Is(serr, session.ErrNone):
			return fmt.Errorf("no omega-listen is running with data dir %s.\n"+
				"  Start one:  omega-listen --emulate   (add --forward localhost:8888/webhook for your own app)\n"+
				"  Or post a sample anywhere:  omega-listen trigger %s --to http://localhost:8888/webhook", dir, types[0])
		default:
			return serr
		}
	}
	if err != nil {
		return err
	}
	bad := 0
	for _, r := range results {
		if r.Error != "" || r.StatusCode < 200 || r.StatusCode > 299 {
			bad++
		}
		if o.JSON {
			if err := json.NewEncoder(f.IO.Out).Encode(r); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(f.IO.Out, Text(r))
	}
	if len(results) == 0 {
		fmt.Fprintln(f.IO.Err, "No endpoint is subscribed to that type, so nothing was delivered.")
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure}
	}
	if bad > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure}
	}
	return nil
}

var triggerHTTP = &http.Client{
	Timeout:       2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Direct posts sample events to url as Omega would.
func Direct(ctx context.Context, url, endpointID string, types []string, count int, custom func([]byte) ([]byte, error)) ([]Result, error) {
	var out []Result
	for _, t := range types {
		for range count {
			body, err := omega.SampleEvent(t, endpointID, "")
			if err != nil {
				return nil, err
			}
			if custom != nil {
				if body, err = custom(body); err != nil {
					return nil, err
				}
			}
			var ev struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(body, &ev)
			r := Result{Via: "direct", Type: t, EventID: ev.ID, EndpointID: endpointID, URL: url}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				return nil, fmt.Errorf("--to %q: %w", url, err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", cmdutil.UserAgent()+" (trigger)")
			start := time.Now()
			resp, err := triggerHTTP.Do(req)
			r.Duration = time.Since(start)
			if err != nil {
				r.Error = err.Error()
			} else {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				r.StatusCode, r.Status, r.Body = resp.StatusCode, resp.Status, string(b)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// Emulator asks an emulator to deliver through its control route.
func Emulator(ctx context.Context, baseURL, key, endpointID string, types []string, count int) ([]Result, error) {
	var out []Result
	for _, t := range types {
		reqBody, _ := json.Marshal(map[string]any{"type": t, "endpoint_id": endpointID, "count": count})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/_emulator/deliver", bytes.NewReader(reqBody))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := triggerHTTP.Do(req)
		if err != nil {
			return nil, fmt.Errorf("asking the emulator for a delivery: %w", err)
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("the emulator refused the delivery: %s: %s", resp.Status, cmdutil.Clean(cmdutil.Truncate(string(data), 200)))
		}
		var got struct {
			Deliveries []struct {
				EndpointID string               `json:"endpoint_id"`
				EventID    string               `json:"event_id"`
				Type       string               `json:"type"`
				URL        string               `json:"url"`
				Response   *omega.EventResponse `json:"response"`
				Err        string               `json:"err"`
				Duration   time.Duration        `json:"duration"`
			} `json:"deliveries"`
		}
		if err := json.Unmarshal(data, &got); err != nil {
			return nil, fmt.Errorf("the emulator's answer was not understood: %w", err)
		}
		for _, d := range got.Deliveries {
			r := Result{Via: "emulator", Type: d.Type, EventID: d.EventID, EndpointID: d.EndpointID, URL: d.URL, Error: d.Err, Duration: d.Duration}
			if d.Response != nil {
				r.StatusCode, r.Status, r.Body = d.Response.StatusCode, d.Response.Status, d.Response.Body
				if r.StatusCode == 0 && r.Error == "" {
					r.Error = d.Response.Message
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// CheckSubscribed refuses types the running listener's endpoint is not
// subscribed to: Omega would never send them, so a trigger that did would
// show the app something it cannot get.
func CheckSubscribed(si *session.Info, types []string) error {
	if len(si.Events) == 0 {
		return nil
	}
	var missing []string
	for _, t := range types {
		if !slices.Contains(si.Events, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("the running listener is not subscribed to %s, so Omega would not send it (its events: %s).\n"+
		"  Restart it with --events including it (or --events all), or post a sample straight to your app:\n"+
		"  omega-listen trigger %s --to %s",
		strings.Join(missing, ", "), strings.Join(si.Events, ", "), missing[0], si.Forward)
}

// waitRecorded waits, briefly, until the listener's capture of eventID is
// in the store's index, done. The listener indexes in batches, so without
// this `trigger X && replay --last 1` could replay the delivery before X.
// Everything the listener recorded before it is indexed by then too.
func waitRecorded(ctx context.Context, f *cmdutil.Factory, session, eventID string) {
	if eventID == "" {
		return
	}
	st, err := f.OpenStore()
	if err != nil {
		return // the listener's own problem; trigger has done its part
	}
	defer st.Close()
	deadline := time.Now().Add(10 * time.Second) // usually ~100 ms; a loaded machine may take longer
	for time.Now().Before(deadline) && ctx.Err() == nil {
		got, err := st.List(ctx, capture.Query{SessionID: session, EventID: eventID, Outcomes: []capture.Outcome{
			capture.OutcomeOK, capture.OutcomeAppError, capture.OutcomeFailed}})
		if err != nil || len(got) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Text is one sample's fate in words.
func Text(r Result) string {
	answer := fmt.Sprintf("%d %s", r.StatusCode, cmdutil.Clean(strings.TrimSpace(strings.TrimPrefix(r.Status, fmt.Sprint(r.StatusCode)))))
	if r.Error != "" {
		answer = "failed: " + cmdutil.Clean(r.Error)
	} else if (r.StatusCode < 200 || r.StatusCode > 299) && strings.TrimSpace(r.Body) != "" {
		answer += " (" + cmdutil.Clean(cmdutil.Truncate(strings.TrimSpace(r.Body), 160)) + ")"
	}
	who := "Sent"
	if r.Via == "emulator" {
		who = "Omega (emulator) delivered"
	}
	return fmt.Sprintf("%s %s [%s] → %s", who, r.Type, cmdutil.Clean(r.EventID), answer)
}

// sampleCustomizer turns --data and --set into a func that rewrites a
// sample body; nil when neither is given.
func sampleCustomizer(o *Options) (func([]byte) ([]byte, error), error) {
	if o.Data == "" && len(o.Sets) == 0 {
		return nil, nil
	}
	var data []byte
	if o.Data != "" {
		b, err := os.ReadFile(o.Data)
		if err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
		if !json.Valid(b) {
			return nil, cmdutil.Usagef("--data %s is not valid JSON", o.Data)
		}
		data = b
	}
	for _, a := range o.Sets {
		if !strings.Contains(a, "=") {
			return nil, cmdutil.Usagef("--set %q: want path=value, e.g. --set data.title=\"New title\"", a)
		}
	}
	return func(body []byte) ([]byte, error) {
		if data != nil {
			body = bytes.Clone(data)
		}
		for _, a := range o.Sets {
			var err error
			if body, err = replay.SetField(body, a); err != nil {
				return nil, cmdutil.Usagef("--set: %v", err)
			}
		}
		return body, nil
	}, nil
}
