package endpoints

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/omega"
)

// TagInfo is what an omega-listen description says of its run.
type TagInfo struct {
	Host    string
	PID     int
	Started time.Time
}

// ParseTag reads "omega-listen <host> <pid> <start time>".
func ParseTag(desc string) (TagInfo, bool) {
	f := strings.Fields(desc)
	if len(f) != 4 || f[0] != Tag {
		return TagInfo{}, false
	}
	pid, err := strconv.Atoi(f[2])
	if err != nil || pid <= 0 {
		return TagInfo{}, false
	}
	t, err := time.Parse(time.RFC3339, f[3])
	if err != nil {
		return TagInfo{}, false
	}
	return TagInfo{Host: f[1], PID: pid, Started: t}, true
}

// probe tells whether an omega-listen receiver still answers at url: ours
// answer GET on the secret path with 405 and Allow: POST.
type prober func(ctx context.Context, url string) bool

func HTTPProbe(ctx context.Context, u string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == http.MethodPost
}

// Leftovers returns the tagged endpoints whose listener is gone: their URL
// no longer answers like an omega-listen receiver. (Not by process ID: a
// reused one would make a dead listener look alive, and it is not
// portable.) skipID is the caller's own endpoint.
func Leftovers(ctx context.Context, c *omega.Client, skipID string, probe prober) ([]omega.Endpoint, error) {
	eps, err := c.ListEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu  sync.Mutex
		out []omega.Endpoint
		wg  sync.WaitGroup
	)
	for _, ep := range eps {
		_, ok := ParseTag(ep.Desc())
		// Inactive ones receive nothing: a --domain run deactivates its
		// endpoint at exit on purpose, for the next run to reuse.
		if !ok || ep.ID == skipID || !ep.Active {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !probe(ctx, ep.URL) {
				mu.Lock()
				out = append(out, ep)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// PruneOptions are the flags and arguments of its command.
type PruneOptions struct {
	DryRun bool
}

// NewCmdPrune is `omega-listen endpoints prune`.
// runF, when not nil, is called with the checked options instead of
// running (tests see what the flags parse to).
func NewCmdPrune(f *cmdutil.Factory, runF func(*PruneOptions) error) *cobra.Command {
	o := &PruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete endpoints that crashed omega-listen runs left behind",
		Long: `Delete the endpoints omega-listen created (their description is the tag it writes:
"omega-listen HOST PID START-TIME") whose listener is gone: its process on this machine has ended, or its URL no longer answers.
Endpoints of listeners that are still running, and endpoints you made yourself, are kept.`,
		Example: "  omega-listen endpoints prune --dry-run\n  omega-listen endpoints prune",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.CommandClient()
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runPrune(cmd.Context(), f, c, o, HTTPProbe)
		},
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "only list what would be deleted")
	return cmd
}

func runPrune(ctx context.Context, f *cmdutil.Factory, c *omega.Client, o *PruneOptions, probe prober) error {
	left, err := Leftovers(ctx, c, "", probe)
	if err != nil {
		return fmt.Errorf("listing endpoints: %w", err)
	}
	if len(left) == 0 {
		fmt.Fprintln(f.IO.Out, "Nothing to prune: no endpoint left behind by omega-listen.")
		return nil
	}
	failed := 0
	for _, ep := range left {
		if o.DryRun {
			fmt.Fprintf(f.IO.Out, "Would delete %s  %s  (%s)\n", ep.ID, cmdutil.Clean(ep.URL), cmdutil.Clean(ep.Desc()))
			continue
		}
		if err := c.DeleteEndpoint(ctx, ep.ID); err != nil {
			fmt.Fprintf(f.IO.Err, "Could not delete %s: %v\n", ep.ID, cmdutil.WithHint(err))
			failed++
			continue
		}
		fmt.Fprintf(f.IO.Out, "Deleted %s  %s  (%s)\n", ep.ID, cmdutil.Clean(ep.URL), cmdutil.Clean(ep.Desc()))
	}
	if failed > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure}
	}
	return nil
}

// Tag begins the description of every endpoint a listener creates, so
// `endpoints prune` can tell the ones omega-listen left behind.
const Tag = "omega-listen"

// Describe is the description a listener gives the endpoint it creates:
// Tag, the host, the pid and the start time, which ParseTag reads back.
func Describe(host string, pid int, started time.Time) string {
	return fmt.Sprintf("%s %s %d %s", Tag, host, pid, started.UTC().Format(time.RFC3339))
}
