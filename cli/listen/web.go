package listen

import (
	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	webcmd "github.com/omega-listen/omega-listen/cli/web"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/web"
)

// redactedWebhookURL is the webhook URL with its secret token hidden: the
// page shows it, and the page must never hold the token.
func (l *listener) redactedWebhookURL() string { return l.tun.PublicURL() + inspector.RedactedPath }

// startWeb serves the web inspector for a listener (not with --web off).
func (l *listener) startWeb() error {
	addr := l.cfg.opts.Web
	if addr == "off" {
		return nil
	}
	ln, err := webcmd.Listen(l.f, addr, l.cfg.webChosen)
	if err != nil {
		return err
	}
	state := "connected"
	if l.tun.Provider() == "none" {
		state = "local"
	}
	l.web = web.New(web.Options{
		Actions:   webcmd.Actions(l.store, l.rp, ""),
		Subscribe: l.feed.Subscribe,
		Counted:   capture.Query{SessionID: l.sessionID},
		Info: web.Info{
			Mode: "listen", Forward: l.cfg.target.String(), WebhookURL: l.redactedWebhookURL(),
			PublicURL: l.tun.PublicURL(), EndpointID: l.endpoint.ID, Events: l.cfg.events,
			Tunnel: l.tun.Provider(), TunnelState: state, Emulated: l.emu != nil, SessionID: l.sessionID,
			KnownTypes: omega.AllTypes(),
		},
		Creator: cmdutil.UserAgent(),
		Logger:  l.log,
	})
	l.web.Start(ln)
	l.webURL = webcmd.URL(ln.Addr())
	return nil
}

func (l *listener) closeWeb() {
	if l.web != nil {
		_ = l.web.Close()
	}
}
