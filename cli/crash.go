package cli

import (
	"context"
	"fmt"
	"github.com/omega-listen/omega-listen/text"
	"strings"
)

// markInterrupted marks what an earlier listener on this data dir left
// pending when it died: we hold the data dir's lock, so nothing else is
// forwarding into this store.
func (l *listener) markInterrupted(ctx context.Context) {
	n, err := l.store.MarkInterrupted(ctx, l.sessionID, l.started)
	if err != nil {
		l.log.Warn("marking interrupted captures", "err", err)
		return
	}
	if n > 0 {
		fmt.Fprintf(l.s.Err, "Marked %d capture(s) that an earlier run left pending (it stopped before the app answered) as interrupted; `omega-listen replay --failed` sends them again.\n", n)
	}
}

// leftBehind says, after a forced quit, what stays registered at Omega and
// the exact command that removes it. Empty when nothing does (--keep, the
// emulator, which dies with us).
func (l *listener) leftBehind() string {
	ep := l.endpoint
	if ep == nil || l.emu != nil || l.cfg.opts.Keep {
		return ""
	}
	flags := ""
	if l.cfg.opts.global.DataDir != "" {
		flags = " --data-dir " + text.ShellQuote(l.cfg.dataDir)
	}
	switch {
	case l.borrowed != nil:
		b := l.borrowed
		fix := fmt.Sprintf("omega-listen endpoints update %s --url %s --events %s", b.ID, text.ShellQuote(b.URL), strings.Join(b.Events, ","))
		if !b.Active {
			fix += " && omega-listen endpoints disable " + b.ID
		}
		return fmt.Sprintf("Endpoint %s still points at this listener's URL. Give it back with:\n  %s", b.ID, clean(fix))
	case l.cfg.opts.Domain != "" && !l.cfg.opts.DeleteOnExit:
		return fmt.Sprintf("Endpoint %s is left active: Omega keeps delivering to %s. Deactivate it with:\n  omega-listen endpoints disable %s%s", ep.ID, clean(ep.URL), ep.ID, flags)
	}
	return fmt.Sprintf("Endpoint %s is left registered: Omega keeps delivering to %s. Remove it with:\n  omega-listen endpoints delete %s%s", ep.ID, clean(ep.URL), ep.ID, flags)
}
