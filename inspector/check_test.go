package inspector

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testTLSHint = "trust its CA with --forward-cacert FILE, or skip the check with --forward-insecure"

// tlsApp is an https app with a self-signed certificate, and a file
// holding that certificate.
func tlsApp(t *testing.T) (*url.URL, string) {
	t.Helper()
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "secure")
	}))
	app.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point
	app.StartTLS()
	t.Cleanup(app.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: app.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(app.URL + "/webhook")
	return u, ca
}

func TestHTTPSApp(t *testing.T) {
	u, ca := tlsApp(t)
	trusted, err := TLSConfig(ca, false)
	if err != nil {
		t.Fatal(err)
	}
	insecure, err := TLSConfig("", true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tls  *tls.Config
		ok   bool
	}{
		{"system roots only", nil, false},
		{"the app's CA trusted", trusted, true},
		{"verification skipped", insecure, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewForwarder(ForwarderOptions{Target: u, TLS: tt.tls, TLSHint: testTLSHint})
			defer f.Close()
			checkErr := f.Check(context.Background())
			res := f.Forward(context.Background(), Request{Body: []byte("{}")})
			if tt.ok {
				if checkErr != nil || res.Err != nil || res.Status != 200 || string(res.Body) != "secure" {
					t.Errorf("check %v; forward %d %q %v", checkErr, res.Status, res.Body, res.Err)
				}
				return
			}
			for _, err := range []error{checkErr, res.Err} {
				if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.HasSuffix(err.Error(), "; "+testTLSHint) {
					t.Errorf("error %v, want a certificate error ending with the hint", err)
				}
			}
		})
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	if _, err := TLSConfig(filepath.Join(dir, "missing.pem"), false); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := TLSConfig(notPEM, false); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("not PEM: %v", err)
	}
	if c, err := TLSConfig("", false); c != nil || err != nil {
		t.Errorf("neither: %v %v, want nil", c, err)
	}
}

func TestCheckNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://" + ln.Addr().String() + "/webhook")
	ln.Close()
	f := NewForwarder(ForwarderOptions{Target: u})
	err = f.Check(context.Background())
	var fe *ForwardError
	if !errors.As(err, &fe) || fe.Kind != ErrRefused || err.Error() != "could not reach "+u.String()+": connection refused" {
		t.Errorf("check: %v", err)
	}
	app, u2 := newApp(t, nil)
	if err := NewForwarder(ForwarderOptions{Target: u2}).Check(context.Background()); err != nil {
		t.Errorf("check of a listening app: %v", err)
	}
	if n := len(app.requests()); n != 0 {
		t.Errorf("the check sent %d requests", n)
	}
}

func TestCheckExtraHeader(t *testing.T) {
	for _, bad := range []string{"Content-Length", "transfer-encoding", "Connection", "Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Authorization", HeaderCapture, HeaderReplay} {
		t.Run(bad, func(t *testing.T) {
			if err := CheckExtraHeader(bad); err == nil {
				t.Errorf("%s accepted", bad)
			}
		})
	}
	if err := CheckExtraHeader("content-length"); err == nil || !strings.Contains(err.Error(), "worked out from each delivery's body") {
		t.Errorf("Content-Length: %v", err)
	}
	if err := CheckExtraHeader("Connection"); err == nil || !strings.Contains(err.Error(), "hop-by-hop") {
		t.Errorf("Connection: %v", err)
	}
	for _, good := range []string{"Host", "Authorization", "X-Env", "User-Agent"} {
		t.Run(good, func(t *testing.T) {
			if err := CheckExtraHeader(good); err != nil {
				t.Errorf("%s refused: %v", good, err)
			}
		})
	}
}

// TestHostAndQuery: -H Host sets the Host the app sees, and the query the
// delivery came with is kept (joined with the target's), whichever client.
func TestHostAndQuery(t *testing.T) {
	for _, useTransport := range []bool{false, true} {
		t.Run(fmt.Sprintf("transport=%v", useTransport), func(t *testing.T) {
			var gotHost, gotQuery string
			r := newRig(t, func(w http.ResponseWriter, r *http.Request) {
				gotHost, gotQuery = r.Host, r.URL.RawQuery
			}, func(_ *HandlerOptions, fo *ForwarderOptions) {
				fo.Headers = http.Header{"Host": {"myapp.test"}}
				fo.Target, _ = url.Parse(fo.Target.String() + "?from=target")
				if useTransport {
					fo.Transport = newTransport(nil)
				}
			})
			resp, _ := r.do("POST", r.h.Path()+"?attempt=2&x=%2F", nil, strings.NewReader("{}"))
			if resp.StatusCode != 200 || gotHost != "myapp.test" || gotQuery != "from=target&attempt=2&x=%2F" {
				t.Errorf("transport %v: status %d, app saw Host %q query %q", useTransport, resp.StatusCode, gotHost, gotQuery)
			}
			c := r.rec.only(t, "finished")
			if !strings.HasSuffix(c.Target, "?from=target&attempt=2&x=%2F") || c.Path != RedactedPath+"?attempt=2&x=%2F" {
				t.Errorf("stored target %q path %q", c.Target, c.Path)
			}
		})
	}
}
