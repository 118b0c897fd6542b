package tunnel

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

func timeDur(i int) time.Duration { return time.Duration(i) }

func TestListenNoneServesAndReportsURL(t *testing.T) {
	tun, err := ListenNone(context.Background(), NoneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()

	if got := tun.Provider(); got != ProviderNone {
		t.Errorf("Provider() = %q, want %q", got, ProviderNone)
	}
	port := tun.Addr().(*net.TCPAddr).Port
	want := "http://127.0.0.1:" + itoa(port)
	if got := tun.PublicURL(); got != want {
		t.Errorf("PublicURL() = %q, want %q", got, want)
	}

	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	})}
	go srv.Serve(tun)
	defer srv.Close()

	resp, err := http.Get(tun.PublicURL() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello /x" {
		t.Errorf("body = %q, want %q", body, "hello /x")
	}
}

func TestListenNoneStatus(t *testing.T) {
	tun, err := ListenNone(context.Background(), NoneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := <-tun.Status()
	if first.State != Connected || first.URL != tun.PublicURL() || first.At.IsZero() {
		t.Errorf("first status = %+v, want Connected with URL %q", first, tun.PublicURL())
	}
	if err := tun.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tun.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	last, ok := <-tun.Status()
	if !ok || last.State != Closed {
		t.Errorf("status after Close = %+v (open %v), want Closed", last, ok)
	}
	if _, ok := <-tun.Status(); ok {
		t.Error("status channel still open after Closed")
	}
	if _, err := tun.Accept(); err == nil {
		t.Error("Accept after Close succeeded")
	}
}

func TestListenNonePublicURLOption(t *testing.T) {
	tun, err := ListenNone(context.Background(), NoneOptions{PublicURL: "HTTPS://abc.trycloudflare.com/"})
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	if got, want := tun.PublicURL(), "https://abc.trycloudflare.com"; got != want {
		t.Errorf("PublicURL() = %q, want %q", got, want)
	}
}

func TestListenNoneBadPublicURL(t *testing.T) {
	_, err := ListenNone(context.Background(), NoneOptions{PublicURL: "ftp://x"})
	if err == nil || !strings.Contains(err.Error(), "http:// or https://") {
		t.Errorf("err = %v, want a scheme error", err)
	}
}

func TestListenNonePortBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()

	_, err = ListenNone(context.Background(), NoneOptions{ListenAddr: addr})
	if err == nil {
		t.Fatal("ListenNone on a busy port succeeded")
	}
	var le *ListenError
	if !errors.As(err, &le) || le.Problem != AddressInUse || le.Addr != addr {
		t.Errorf("err = %v, want a ListenError: address %s in use", err, addr)
	}
	want := "address " + addr + " is already in use"
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "--") {
		t.Errorf("err = %q, want it to contain %q and no flag", err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("err does not wrap EADDRINUSE: %v", err)
	}
}

func TestListenNoneAddresses(t *testing.T) {
	tests := []struct {
		name       string
		listen     string
		wantPrefix string
		allIfaces  bool
	}{
		{"default", "", "http://127.0.0.1:", false},
		{"loopback", "127.0.0.1:0", "http://127.0.0.1:", false},
		{"bare port", "0", "http://127.0.0.1:", false},
		{"localhost", "localhost:0", "http://127.0.0.1:", false},
		{"all ipv4", "0.0.0.0:0", "http://127.0.0.1:", true},
		{"all, no host", ":0", "http://127.0.0.1:", true},
		{"ipv6 loopback", "[::1]:0", "http://[::1]:", false},
		{"all ipv6", "[::]:0", "http://[::1]:", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tun, err := ListenNone(context.Background(), NoneOptions{ListenAddr: tt.listen})
			if err != nil {
				if strings.Contains(tt.listen, "::") {
					t.Skipf("no IPv6 here: %v", err)
				}
				t.Fatal(err)
			}
			defer tun.Close()
			port := itoa(tun.Addr().(*net.TCPAddr).Port)
			if got, want := tun.PublicURL(), tt.wantPrefix+port; got != want {
				t.Errorf("PublicURL() = %q, want %q", got, want)
			}
			if got := BindsAllInterfaces(tun.Addr()); got != tt.allIfaces {
				t.Errorf("BindsAllInterfaces = %v, want %v", got, tt.allIfaces)
			}
		})
	}
}

func TestListenNoneBadAddress(t *testing.T) {
	for _, addr := range []string{"nonsense", "127.0.0.1", "1.2.3.4.5:80"} {
		t.Run(addr, func(t *testing.T) {
			if tun, err := ListenNone(context.Background(), NoneOptions{ListenAddr: addr}); err == nil {
				tun.Close()
				t.Errorf("ListenNone(%q) succeeded, want an error", addr)
			} else if !strings.Contains(err.Error(), "choose another address") && !strings.Contains(err.Error(), "host:port") {
				t.Errorf("ListenNone(%q) error %q gives no advice", addr, err)
			}
		})
	}
}

func TestStatusFeedDropsOldest(t *testing.T) {
	f := newStatusFeed()
	for i := range statusBufSize + 5 {
		f.send(Status{Latency: timeDur(i)})
	}
	first := <-f.ch
	if got, want := first.Latency, timeDur(5); got != want {
		t.Errorf("oldest kept = %v, want %v", got, want)
	}
	f.close(Status{State: Closed})
	var last Status
	for s := range f.ch {
		last = s
	}
	if last.State != Closed {
		t.Errorf("last status = %v, want Closed", last.State)
	}
	f.send(Status{}) // after close: must neither panic nor block
}

func TestValidatePublicURL(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        string
	}{
		{name: "https host", in: "https://abc.trycloudflare.com", want: "https://abc.trycloudflare.com"},
		{name: "trailing slash dropped", in: "https://abc.trycloudflare.com/", want: "https://abc.trycloudflare.com"},
		{name: "spaces, upper-case scheme and slashes dropped", in: "  HTTP://Example.com:8080//  ", want: "http://Example.com:8080"},
		{name: "path kept", in: "https://example.com/hooks/", want: "https://example.com/hooks"},
		{name: "IPv6 host", in: "http://[::1]:9000", want: "http://[::1]:9000"},
		{name: "empty port dropped", in: "http://example.com:", want: "http://example.com"},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "no scheme", in: "example.com", wantErr: "http:// or https://"},
		{name: "host and port without a scheme", in: "localhost:8080", wantErr: "http:// or https://"},
		{name: "ftp", in: "ftp://example.com", wantErr: "http:// or https://"},
		{name: "scheme only", in: "http://", wantErr: "no host"},
		{name: "no slashes", in: "http:example.com", wantErr: "no host"},
		{name: "port without a host", in: "http://:8080", wantErr: "no host"},
		{name: "user and password", in: "https://user:pw@example.com", wantErr: "user name or password"},
		{name: "query", in: "https://example.com/?a=b", wantErr: "query"},
		{name: "empty query", in: "https://example.com/?", wantErr: "query"},
		{name: "fragment", in: "https://example.com/#x", wantErr: "fragment"},
		{name: "port 0", in: "http://example.com:0", wantErr: "invalid port"},
		{name: "port out of range", in: "http://example.com:99999", wantErr: "invalid port"},
		{name: "space in the host", in: "http://exa mple.com", wantErr: "invalid public URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidatePublicURL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ValidatePublicURL(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ValidatePublicURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzValidatePublicURL(f *testing.F) {
	for _, s := range []string{
		"https://abc.trycloudflare.com/", "http://[::1]:9000", "http://[fe80::1%25en0]:80/a/",
		"http://example.com:", "https://x/%2F/", "https://x/a%20b/", "http://:80", "x", "",
		"https://u@x", "http://x/?", "http://x/#", "HTTPS://X:443//",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ValidatePublicURL(s)
		if err != nil {
			return
		}
		again, err := ValidatePublicURL(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, out, again, err)
		}
		if strings.HasSuffix(out, "/") {
			t.Fatalf("%q -> %q has a trailing slash", s, out)
		}
		u, err := url.Parse(out + "/omega/token")
		if err != nil {
			t.Fatalf("%q -> %q does not take a path: %v", s, out, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || u.RawQuery != "" {
			t.Fatalf("%q -> %q is not a plain http(s) URL: %#v", s, out, u)
		}
	})
}
