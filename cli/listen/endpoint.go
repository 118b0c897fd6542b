package listen

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/omega-listen/omega-listen/cli/endpoints"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/text"
)

// leaseMode is how a listen came by its endpoint.
type leaseMode int

const (
	leaseNone     leaseMode = iota // nothing acquired (yet)
	leaseCreated                   // created for this run
	leaseReused                    // left by an earlier run for the same stable URL
	leaseBorrowed                  // --endpoint: someone else's, pointed at us while we run
)

// endpointLease is the endpoint at Omega that one listen holds, from
// acquire (create, reuse for a stable URL, or borrow with --endpoint) to
// release (delete, deactivate for the next run, give back, or leave it with
// --keep). leftBehind says what a forced quit, which skips release, leaves.
type endpointLease struct {
	client *omega.Client
	errW   io.Writer // acquire's notes: "Reusing endpoint…", "Borrowing endpoint…"

	// What the flags ask.
	borrow       string // --endpoint: the id to borrow
	domain       string // --domain
	keep         bool   // --keep
	deleteOnExit bool   // --delete-on-exit
	eventsGiven  bool   // -e was given: a borrowed endpoint takes ours, not its own
	emulated     bool   // --emulate: the endpoint dies with the emulator
	dataDirFlag  string // " --data-dir DIR" when given, for leftBehind's commands

	// stable names the URL that stays the same from run to run (--domain,
	// or the relay's URL), "" when none; replaced reports that the relay
	// gave our name to a newer listener. Both are asked when needed: the
	// tunnel's URL can change while it runs.
	stable   func() string
	replaced func() bool

	mode   leaseMode
	ep     *omega.Endpoint // what we hold; nil before acquire or when it failed early
	orig   *omega.Endpoint // borrowed: as it was before we pointed it at us
	events []string        // the events in effect: ours, or a borrowed endpoint's own
}

// acquire gets the endpoint for in (our URL, description and events). It
// returns what it holds also with an error: a borrowed endpoint already
// pointed at us must still be given back.
func (le *endpointLease) acquire(ctx context.Context, in omega.EndpointInput) (*omega.Endpoint, error) {
	le.events = in.Events
	if le.borrow != "" {
		err := le.borrowEndpoint(ctx, in)
		return le.ep, err
	}
	if le.stable() != "" {
		ep, err := le.reuse(ctx, in)
		if err != nil || ep != nil {
			le.ep = ep
			if ep != nil {
				le.mode = leaseReused
			}
			return ep, err
		}
	}
	ep, err := le.client.CreateEndpoint(ctx, in)
	if err != nil {
		return nil, registerError(err, le.client.BaseURL())
	}
	le.ep, le.mode = ep, leaseCreated
	return ep, nil
}

// reuse finds the endpoint an earlier run left for a stable URL and updates
// and activates it, rather than piling up a duplicate. It returns nil, nil
// when there is none.
func (le *endpointLease) reuse(ctx context.Context, in omega.EndpointInput) (*omega.Endpoint, error) {
	eps, err := le.client.ListEndpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("looking for this URL's endpoint at Omega: %w", err)
	}
	for _, ep := range eps {
		if ep.URL != in.URL {
			continue
		}
		up, err := le.client.UpdateEndpoint(ctx, ep.ID, in)
		if err != nil {
			return nil, fmt.Errorf("updating endpoint %s for this run: %w", ep.ID, err)
		}
		if up == nil {
			up = &ep
		}
		if !ep.Active {
			if _, err := le.client.SetEndpointActive(ctx, ep.ID, true); err != nil {
				return nil, fmt.Errorf("activating endpoint %s: %w", ep.ID, err)
			}
		}
		up.Active = true
		fmt.Fprintf(le.errW, "Reusing endpoint %s for %s.\n", ep.ID, in.URL)
		return up, nil
	}
	return nil, nil
}

// borrowEndpoint points the --endpoint endpoint at us. It keeps the
// endpoint's own description (prune must never take it for one of ours)
// and, unless -e was given, its events; giveBack restores what it was.
func (le *endpointLease) borrowEndpoint(ctx context.Context, in omega.EndpointInput) error {
	cur, err := endpoints.Find(ctx, le.client, le.borrow)
	if err != nil {
		return fmt.Errorf("--endpoint: %w", err)
	}
	orig := *cur
	in.Description = ""
	if cur.Description != nil {
		in.Description = *cur.Description
	}
	if !le.eventsGiven {
		in.Events = cur.Events
		le.events = cur.Events
	}
	up, err := le.client.UpdateEndpoint(ctx, cur.ID, in)
	if err != nil {
		return fmt.Errorf("pointing endpoint %s at this listener: %w", cur.ID, err)
	}
	if up == nil {
		c := orig
		c.URL, c.Events = in.URL, in.Events
		up = &c
	}
	le.orig, le.ep, le.mode = &orig, up, leaseBorrowed
	if !cur.Active {
		if _, err := le.client.SetEndpointActive(ctx, cur.ID, true); err != nil {
			return fmt.Errorf("activating endpoint %s: %w", cur.ID, err)
		}
	}
	up.Active = true
	fmt.Fprintf(le.errW, "Borrowing endpoint %s (was %s); it is given back at exit.\n", cur.ID, cmdutil.Clean(orig.URL))
	return nil
}

// release gives the endpoint up as the flags ask, each call to Omega
// bounded. progress says what is being done; report says what was done
// (or what failed, and the command that finishes the job).
func (le *endpointLease) release(ctx context.Context, report, progress func(string)) {
	if le == nil || le.ep == nil {
		return
	}
	ep := le.ep
	switch {
	case le.replaced():
		// Another listener took this relay name, maybe with this data dir
		// and so this very endpoint: it is theirs now.
		report(fmt.Sprintf("Left endpoint %s as it is: the listener that replaced this one uses the relay name now.", ep.ID))
	case le.keep:
		report(fmt.Sprintf("Left endpoint %s registered (--keep).", ep.ID))
	case le.orig != nil:
		progress(fmt.Sprintf("Giving endpoint %s back…", le.orig.ID))
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := le.giveBack(dctx)
		cancel()
		b := le.orig
		if err != nil {
			report(fmt.Sprintf("Could not give endpoint %s back: %v\nIt still points at this listener's URL; restore it with:\n  %s", b.ID, err, cmdutil.Clean(giveBackCommand(b))))
		} else {
			report(fmt.Sprintf("Gave endpoint %s back: %s again.", b.ID, cmdutil.Clean(b.URL)))
		}
	case le.stable() != "" && !le.deleteOnExit:
		progress(fmt.Sprintf("Deactivating endpoint %s…", ep.ID))
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := le.client.SetEndpointActive(dctx, ep.ID, false)
		cancel()
		if err != nil {
			report(fmt.Sprintf("Could not deactivate endpoint %s: %v\nOmega will keep delivering to %s; run `omega-listen endpoints disable %s`.", ep.ID, err, cmdutil.Clean(ep.URL), ep.ID))
		} else {
			report(fmt.Sprintf("Deactivated endpoint %s; the next run with %s reuses it.", ep.ID, le.stableFlag()))
		}
	default:
		progress(fmt.Sprintf("Deleting endpoint %s…", ep.ID))
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := le.client.DeleteEndpoint(dctx, ep.ID)
		cancel()
		if err != nil {
			report(fmt.Sprintf("Could not delete endpoint %s: %v\nIt is left behind; remove it with `omega-listen endpoints prune` or `omega-listen endpoints delete %s`.", ep.ID, err, ep.ID))
		} else {
			report(fmt.Sprintf("Deleted endpoint %s.", ep.ID))
		}
	}
}

// giveBack restores a borrowed endpoint's URL, events and state.
func (le *endpointLease) giveBack(ctx context.Context) error {
	o := le.orig
	in := omega.EndpointInput{URL: o.URL, Events: o.Events}
	if o.Description != nil {
		in.Description = *o.Description
	}
	if _, err := le.client.UpdateEndpoint(ctx, o.ID, in); err != nil {
		return err
	}
	if !o.Active {
		if _, err := le.client.SetEndpointActive(ctx, o.ID, false); err != nil {
			return err
		}
	}
	return nil
}

// giveBackCommand is the command that restores a borrowed endpoint by hand.
func giveBackCommand(b *omega.Endpoint) string {
	fix := fmt.Sprintf("omega-listen endpoints update %s --url %s --events %s", b.ID, text.ShellQuote(b.URL), strings.Join(b.Events, ","))
	if !b.Active {
		fix += " && omega-listen endpoints disable " + b.ID
	}
	return fix
}

// stableFlag says how a next run gets the same URL, for messages.
func (le *endpointLease) stableFlag() string {
	if le.domain != "" {
		return "--domain " + le.domain
	}
	return "--tunnel relay (" + le.stable() + ")"
}

// leftBehind says, after a forced quit, what stays registered at Omega and
// the exact command that removes it. Empty when nothing does (--keep, the
// emulator, which dies with us).
func (le *endpointLease) leftBehind() string {
	if le == nil || le.ep == nil || le.emulated || le.keep {
		return ""
	}
	ep := le.ep
	switch {
	case le.orig != nil:
		return fmt.Sprintf("Endpoint %s still points at this listener's URL. Give it back with:\n  %s", le.orig.ID, cmdutil.Clean(giveBackCommand(le.orig)))
	case le.domain != "" && !le.deleteOnExit:
		return fmt.Sprintf("Endpoint %s is left active: Omega keeps delivering to %s. Deactivate it with:\n  omega-listen endpoints disable %s%s", ep.ID, cmdutil.Clean(ep.URL), ep.ID, le.dataDirFlag)
	}
	return fmt.Sprintf("Endpoint %s is left registered: Omega keeps delivering to %s. Remove it with:\n  omega-listen endpoints delete %s%s", ep.ID, cmdutil.Clean(ep.URL), ep.ID, le.dataDirFlag)
}
