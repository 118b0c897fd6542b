package listen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"syscall"

	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/feed"
	"github.com/omega-listen/omega-listen/inspector"
)

// forwardTLSHint ends the error of an https app whose certificate is not
// trusted.
const forwardTLSHint = "trust its CA with --forward-cacert FILE (or SSL_CERT_FILE), or skip the check with --forward-insecure"

// forwardTLS is the TLS configuration --forward-cacert and
// --forward-insecure ask for.
func forwardTLS(target *url.URL, o *Options) (*tls.Config, error) {
	if o.ForwardCACert == "" && !o.ForwardInsecure {
		return nil, nil
	}
	if target.Scheme != "https" {
		return nil, cmdutil.Usagef("--forward-cacert and --forward-insecure are for an https --forward; %s is plain http", target.Redacted())
	}
	c, err := inspector.TLSConfig(o.ForwardCACert, o.ForwardInsecure)
	if err != nil {
		return nil, cmdutil.Usagef("--forward-cacert %s: %v", o.ForwardCACert, err)
	}
	return c, nil
}

// forwardWarning is what to tell the user when the start-up check of the
// forward target failed: deliveries will fail until it is fixed, which is
// not a reason to refuse to start (apps are often started after us).
func forwardWarning(err error) string {
	var fe *inspector.ForwardError
	if errors.As(err, &fe) && errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Sprintf("Warning: nothing is listening at %s yet (connection refused). Deliveries get a 502 until your app starts; replay them then with `omega-listen replay`.", fe.URL)
	}
	return fmt.Sprintf("Warning: %v. Deliveries fail until this is fixed; replay them then with `omega-listen replay`.", err)
}

// insecureWarning is said on every start with --forward-insecure.
func insecureWarning(target *url.URL) string {
	return fmt.Sprintf("Warning: --forward-insecure: the certificate of %s is not checked.", target.Redacted())
}

// warnForward says, in the lines or on the screen, that the forward target
// could not be reached at start. The screen also repeats
// --forward-insecure's warning, which stderr only shows once it is gone.
func (l *listener) warnForward(err error, insecure bool) {
	if err == nil {
		if insecure && l.useScreen() {
			l.feed.Notice(insecureWarning(l.cfg.target), true)
		}
		return
	}
	l.feed.Note(feed.Note{Kind: feed.Notice, Warn: true, Text: forwardWarning(err), Target: l.cfg.target.Redacted()})
}
