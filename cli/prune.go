package cli

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/omega-listen/omega-listen/omega"
)

// endpointTagInfo is what an omega-listen description says of its run.
type endpointTagInfo struct {
	Host    string
	PID     int
	Started time.Time
}

// parseEndpointTag reads "omega-listen <host> <pid> <start time>".
func parseEndpointTag(desc string) (endpointTagInfo, bool) {
	f := strings.Fields(desc)
	if len(f) != 4 || f[0] != endpointTag {
		return endpointTagInfo{}, false
	}
	pid, err := strconv.Atoi(f[2])
	if err != nil || pid <= 0 {
		return endpointTagInfo{}, false
	}
	t, err := time.Parse(time.RFC3339, f[3])
	if err != nil {
		return endpointTagInfo{}, false
	}
	return endpointTagInfo{Host: f[1], PID: pid, Started: t}, true
}

// probe tells whether an omega-listen receiver still answers at url: ours
// answer GET on the secret path with 405 and Allow: POST.
type prober func(ctx context.Context, url string) bool

func httpProbe(ctx context.Context, u string) bool {
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

// leftovers returns the tagged endpoints whose listener is gone: their URL
// no longer answers like an omega-listen receiver. (Not by process ID: a
// reused one would make a dead listener look alive, and it is not
// portable.) skipID is the caller's own endpoint.
func leftovers(ctx context.Context, c *omega.Client, skipID string, probe prober) ([]omega.Endpoint, error) {
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
		_, ok := parseEndpointTag(ep.Desc())
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

// reportLeftovers tells the user, once, about endpoints crashed runs left.
func (l *listener) reportLeftovers(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	left, err := leftovers(ctx, l.client, l.endpoint.ID, httpProbe)
	if err != nil || len(left) == 0 {
		return
	}
	l.notef("Note: %d webhook endpoint(s) left behind by earlier omega-listen runs still receive Omega's events. Remove them with `omega-listen endpoints prune`.", len(left))
}

type pruneOptions struct {
	DryRun bool
}

func newEndpointsPruneCmd(s Streams, g *globalOptions) *cobra.Command {
	o := &pruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete endpoints that crashed omega-listen runs left behind",
		Long: `Delete the endpoints omega-listen created (their description is the tag it writes:
"omega-listen HOST PID START-TIME") whose listener is gone: its process on this machine has ended, or its URL no longer answers.
Endpoints of listeners that are still running, and endpoints you made yourself, are kept.`,
		Example: "  omega-listen endpoints prune --dry-run\n  omega-listen endpoints prune",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := commandClient(s, g)
			if err != nil {
				return err
			}
			return runPrune(cmd.Context(), s, c, o, httpProbe)
		},
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "only list what would be deleted")
	return cmd
}

func runPrune(ctx context.Context, s Streams, c *omega.Client, o *pruneOptions, probe prober) error {
	left, err := leftovers(ctx, c, "", probe)
	if err != nil {
		return fmt.Errorf("listing endpoints: %w", err)
	}
	if len(left) == 0 {
		fmt.Fprintln(s.Out, "Nothing to prune: no endpoint left behind by omega-listen.")
		return nil
	}
	failed := 0
	for _, ep := range left {
		if o.DryRun {
			fmt.Fprintf(s.Out, "Would delete %s  %s  (%s)\n", ep.ID, clean(ep.URL), clean(ep.Desc()))
			continue
		}
		if err := c.DeleteEndpoint(ctx, ep.ID); err != nil {
			fmt.Fprintf(s.Err, "Could not delete %s: %v\n", ep.ID, withHint(err))
			failed++
			continue
		}
		fmt.Fprintf(s.Out, "Deleted %s  %s  (%s)\n", ep.ID, clean(ep.URL), clean(ep.Desc()))
	}
	if failed > 0 {
		return &exitError{ExitFailure}
	}
	return nil
}
