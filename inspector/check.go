package inspector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// TLSConfig is the ForwarderOptions.TLS for an https app: caFile (PEM) is
// trusted besides the system's roots, and insecure skips verification
// altogether. Neither gives nil: the system's roots, which SSL_CERT_FILE
// and SSL_CERT_DIR also set.
func TLSConfig(caFile string, insecure bool) (*tls.Config, error) {
	if caFile == "" && !insecure {
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: insecure}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading the CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// checkTimeout bounds Check: a local app that does not accept a
// connection this quickly is not there.
const checkTimeout = 3 * time.Second

// Check connects to the default target once, and for https completes a
// TLS handshake, without sending a request: whether a delivery could
// reach the app now. The error is a *ForwardError worded as a failed
// delivery's would be (nothing listening, unknown host, certificate not
// trusted, with the TLS hint).
func (f *Forwarder) Check(ctx context.Context) error {
	u := f.target
	if u == nil {
		return &ForwardError{Kind: ErrOther, URL: "(no target)", Err: errors.New("no target URL to forward to")}
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil && u.Scheme == "https" {
		var c *tls.Config
		if f.tlsConf != nil {
			c = f.tlsConf.Clone()
		} else {
			c = &tls.Config{}
		}
		if c.ServerName == "" {
			c.ServerName = u.Hostname()
		}
		tc := tls.Client(conn, c)
		err = tc.HandshakeContext(ctx)
		conn = tc
	}
	if conn != nil {
		conn.Close()
	}
	if err == nil {
		return nil
	}
	kind := classify(ctx, err)
	if kind == ErrOther && f.hintFor(err) == "" {
		// A failed handshake that is not about trust: as good as down.
		kind = ErrRefused
	}
	return &ForwardError{Kind: kind, URL: f.targetStr, Timeout: checkTimeout, Err: err, Hint: f.hintFor(err)}
}
