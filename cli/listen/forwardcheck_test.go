package listen_test

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omega-listen/omega-listen/cli/internal/clitest"
	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
	"github.com/omega-listen/omega-listen/omega/emulator"
)

func TestWarnsWhenNothingListensAtForward(t *testing.T) {
	addr := clitest.ClosedPort(t)
	_, env := clitest.EmuEnv(t, emulator.Options{})
	p := clitest.StartInProc(t, env, "--emulate", "--print", "--forward", addr+"/webhook")
	out := clitest.WaitFor(t, p.Out.String, "Warning:")
	p.Stop(t)
	want := "Warning: nothing is listening at http://" + addr + "/webhook yet (connection refused)."
	if !strings.Contains(out, want) || strings.Index(out, "Ready!") > strings.Index(out, want) {
		t.Errorf("lines:\n%s\nwant the ready line, then %q", out, want)
	}
}

func TestWarnsWhenNothingListensAtForwardJSON(t *testing.T) {
	addr := clitest.ClosedPort(t)
	_, env := clitest.EmuEnv(t, emulator.Options{})
	p := clitest.StartInProc(t, env, "--emulate", "--format", "json", "--forward", addr)
	out := clitest.WaitFor(t, p.Out.String, `"type":"warning"`)
	p.Stop(t)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var w struct{ Type, Message, Target string }
		if err := json.Unmarshal([]byte(line), &w); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if w.Type == "warning" {
			if w.Target != "http://"+addr+"/" || !strings.Contains(w.Message, "nothing is listening") {
				t.Errorf("warning %+v", w)
			}
			return
		}
	}
	t.Errorf("no warning line in %s", out)
}

func TestNoWarningWhenTheAppListens(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer app.Close()
	_, env := clitest.EmuEnv(t, emulator.Options{})
	p := clitest.StartInProc(t, env, "--emulate", "--print", "--forward", app.URL+"/webhook")
	// The warning would follow the ready line at once; give it room.
	time.Sleep(200 * time.Millisecond)
	p.Stop(t)
	if out := p.Out.String(); strings.Contains(out, "Warning:") {
		t.Errorf("lines:\n%q", out)
	}
}

func TestForwardFlagsUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"Content-Length", []string{"-H", "Content-Length: 5"}, "Content-Length is worked out from each delivery's body"},
		{"Transfer-Encoding", []string{"-H", "transfer-encoding: chunked"}, "Transfer-Encoding is worked out"},
		{"Connection", []string{"-H", "Connection: close"}, "Connection is a hop-by-hop header"},
		{"Keep-Alive", []string{"-H", "Keep-Alive: timeout=5"}, "hop-by-hop"},
		{"Host with a space", []string{"-H", "Host: my app"}, "want a host name"},
		{"insecure on http", []string{"--forward-insecure"}, "are for an https --forward"},
		{"CA file on http", []string{"--forward-cacert", "ca.pem"}, "are for an https --forward"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, env := clitest.EmuEnv(t, emulator.Options{})
			args := append([]string{"--emulate", "--forward", "8888"}, tt.args...)
			code, _, stderr := clitest.Run(t, env, args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
			}
		})
	}
	_, env := clitest.EmuEnv(t, emulator.Options{})
	missing := filepath.Join(t.TempDir(), "missing.pem")
	code, _, stderr := clitest.Run(t, env, "--emulate", "--forward", "https://localhost:8443/webhook", "--forward-cacert", missing)
	if code != 2 || !strings.Contains(stderr, "--forward-cacert "+missing+": reading the CA file") {
		t.Errorf("missing CA file: exit %d, stderr %q", code, stderr)
	}
	h, err := cmdutil.ParseHeaders([]string{"Host: myapp.test:8080"})
	if err != nil || h.Get("Host") != "myapp.test:8080" {
		t.Errorf("Host: %v %v", h, err)
	}
}

// TestHTTPSForward: a local https app with a self-signed certificate is
// warned about at start with both ways out; trusting its CA or skipping
// the check (warned on every start) make the warning go.
func TestHTTPSForward(t *testing.T) {
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	app.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is the point
	app.StartTLS()
	defer app.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: app.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	target := app.URL + "/webhook"

	_, env := clitest.EmuEnv(t, emulator.Options{})
	p := clitest.StartInProc(t, env, "--emulate", "--print", "--forward", target)
	out := clitest.WaitFor(t, p.Out.String, "Warning:")
	p.Stop(t)
	if !strings.Contains(out, "certificate") || !strings.Contains(out, "--forward-cacert FILE (or SSL_CERT_FILE)") || !strings.Contains(out, "--forward-insecure") {
		t.Errorf("lines:\n%s\nwant a certificate warning naming both flags", out)
	}

	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"own CA", []string{"--forward-cacert", ca}},
		{"insecure", []string{"--forward-insecure"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, env := clitest.EmuEnv(t, emulator.Options{})
			p := clitest.StartInProc(t, env, append([]string{"--emulate", "--print", "--forward", target}, tc.flags...)...)
			time.Sleep(200 * time.Millisecond) // the warning would follow the ready line at once
			p.Stop(t)
			if out := p.Out.String(); strings.Contains(out, "Warning:") {
				t.Errorf("%v: lines:\n%s", tc.flags, out)
			}
			insecure := strings.Contains(p.Err.String(), "Warning: --forward-insecure: the certificate of "+target+" is not checked.")
			if insecure != (tc.flags[0] == "--forward-insecure") {
				t.Errorf("%v: stderr %q", tc.flags, p.Err)
			}
		})
	}
}
