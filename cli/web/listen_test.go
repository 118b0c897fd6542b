package web

import (
	"io"
	"net"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/cli/internal/cmdutil"
)

func TestWebDefaultMovesToTheNextFreePort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	f := cmdutil.NewFactory(cmdutil.Streams{Err: io.Discard})
	ln, err := Listen(f, busy.Addr().String(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() == busy.Addr().String() {
		t.Fatal("took the busy port")
	}
	if _, err := Listen(f, busy.Addr().String(), true); err == nil || !strings.Contains(err.Error(), "--web") {
		t.Errorf("a chosen busy address: %v, want an error naming --web", err)
	}
	var errs strings.Builder
	wide, err := Listen(cmdutil.NewFactory(cmdutil.Streams{Err: &errs}), "0.0.0.0:0", true)
	if err != nil {
		t.Fatal(err)
	}
	wide.Close()
	if !strings.Contains(errs.String(), "Warning") {
		t.Errorf("no warning for a non-loopback address: %q", errs.String())
	}
}
