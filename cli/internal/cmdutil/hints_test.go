package cmdutil

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/inspector"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/relay"
	"github.com/omega-listen/omega-listen/replay"
	"github.com/omega-listen/omega-listen/tunnel"
)

// hintCases are typed errors of the lower packages, each wrapped the way a
// command wraps it, and the whole message the command line prints.
var hintCases = []struct {
	name string
	err  error
	want string
}{
	{"nil", nil, ""},
	{"untyped error unchanged", errors.New("something broke"), "something broke"},
	{"store not a directory", fmt.Errorf("open store: %w", &capture.StoreError{Problem: capture.NotADirectory, Path: "/x"}),
		"open store: capture store /x is not a directory: choose another --data-dir"},
	{"store newer schema", &capture.StoreError{Problem: capture.NewerSchema, Schema: 99},
		"the store was written by a newer omega-listen (schema 99, this one knows 2): upgrade omega-listen or choose another --data-dir"},
	{"store unknown schema", &capture.StoreError{Problem: capture.UnknownSchema, Schema: -1},
		"unknown capture store schema -1: move the store aside (or choose another --data-dir)"},
	{"store damaged index", &capture.StoreError{Problem: capture.DamagedIndex, Path: "/s/captures.db", Err: errors.New("file is not a database")},
		"capture index /s/captures.db is damaged or not an omega-listen store (file is not a database): move it aside with the rest of its store (mv /s /s.bad) to start an empty store, or choose another --data-dir"},
	{"selector negative last", &replay.SelectorError{Problem: replay.NegativeLast}, "--last must be a positive number"},
	{"selector since in the future", &replay.SelectorError{Problem: replay.FutureSince}, "--since must not be in the future"},
	{"selector IDs and filters", &replay.SelectorError{Problem: replay.IDsAndFilters}, "give capture IDs or filters (--last, --type, --since, --failed, --all), not both"},
	{"selector all and filters", &replay.SelectorError{Problem: replay.AllAndFilters}, "--all selects every capture: drop it, or drop the other filters"},
	{"selector nothing", &replay.SelectorError{Problem: replay.NoSelection}, "say what to replay: capture IDs, or --last N, --type T, --since WHEN, --failed, or --all"},
	{"selector empty type", &replay.SelectorError{Problem: replay.EmptyType}, "--type: empty event type"},
	{"replay no target", &replay.TargetError{CaptureID: "c_1"}, "capture c_1 has no recorded target: give one (--to)"},
	{"replay unusable target", fmt.Errorf("replaying: %w", &replay.TargetError{CaptureID: "c_1", Err: errors.New(`target "ftp://x": want an http:// or https:// URL`)}),
		`replaying: capture c_1: its recorded target is unusable (target "ftp://x": want an http:// or https:// URL); give another target (--to)`},
	{"omega no key", fmt.Errorf("listen: %w", omega.ErrNoAPIKey), "listen: no Omega API key: set OMEGA_API_KEY or pass --api-key (or use --emulate)"},
	{"omega bad key", omega.ErrBadAPIKey, "the Omega API key contains spaces or control characters: check OMEGA_API_KEY (or --api-key)"},
	{"omega base URL", &omega.BaseURLError{URL: "ftp://x", Why: "scheme must be http or https"},
		`invalid Omega base URL "ftp://x": scheme must be http or https; pass an absolute http(s) URL such as ` + omega.DefaultBaseURL + " with --base-url or OMEGA_BASE_URL"},
	{"omega key rejected", fmt.Errorf("registering the webhook endpoint with Omega: %w", &omega.AuthError{Status: 401, Message: "bad key"}),
		`registering the webhook endpoint with Omega: Omega rejected the API key (401 Unauthorized: "bad key"). Check OMEGA_API_KEY (or --api-key): it must be a valid Omega API key for this account.`},
	{"omega not found", &omega.APIError{Method: "GET", Path: "/company/x", Status: 404, Message: "no such endpoint"},
		"Omega answered 404 Not Found to GET /company/x: no such endpoint (not found: check the id, or --base-url)"},
	{"omega redirect", &omega.APIError{Method: "GET", Path: "/company/x", Status: 302},
		"Omega answered 302 Found to GET /company/x (a redirect: check --base-url, it should be Omega's API base, e.g. " + omega.DefaultBaseURL + ")"},
	{"omega 500 unchanged", &omega.APIError{Method: "GET", Path: "/company/x", Status: 500},
		"Omega answered 500 Internal Server Error to GET /company/x (a problem on Omega's side: try again later)"},
	{"omega not JSON", &omega.DecodeError{Method: "GET", Path: "/company/x", Status: 200, ContentType: "text/html"},
		"the answer to GET /company/x was not the JSON Omega sends (200 OK, Content-Type text/html, an empty body). Is --base-url right? It should be Omega's API base, e.g. " + omega.DefaultBaseURL},
	{"ngrok no authtoken", tunnel.ErrNoAuthToken, "ngrok needs an authtoken: set NGROK_AUTHTOKEN or pass --ngrok-authtoken.\n" +
		"  Get one at https://dashboard.ngrok.com/get-started/your-authtoken\n" +
		"  Or go without ngrok: --tunnel none --public-url https://your-tunnel.example (a tunnel you run yourself),\n" +
		"  or --emulate (everything local, no accounts)"},
	{"ngrok bad authtoken", &tunnel.NgrokError{Code: "ERR_NGROK_107", Msg: "The authtoken you specified is properly formed, but it is invalid.", Hint: "the authtoken is not valid (reset or revoked?); copy your authtoken from https://dashboard.ngrok.com/get-started/your-authtoken"},
		"ngrok refused the connection (ERR_NGROK_107): The authtoken you specified is properly formed, but it is invalid.\n" +
			"  Hint: the authtoken is not valid (reset or revoked?); check NGROK_AUTHTOKEN (or --ngrok-authtoken): copy your authtoken from https://dashboard.ngrok.com/get-started/your-authtoken"},
	{"ngrok session limit", &tunnel.NgrokError{Code: "ERR_NGROK_108", Msg: "Your account is limited to 1 simultaneous ngrok agent sessions.", Hint: "your ngrok plan allows no more simultaneous agent sessions: stop the other ngrok agent or omega-listen (see https://dashboard.ngrok.com/agents)"},
		"ngrok refused the connection (ERR_NGROK_108): Your account is limited to 1 simultaneous ngrok agent sessions.\n" +
			"  Hint: your ngrok plan allows no more simultaneous agent sessions: stop the other ngrok agent or omega-listen (see https://dashboard.ngrok.com/agents), or use --tunnel none --public-url"},
	{"ngrok domain online elsewhere", fmt.Errorf("start: %w", &tunnel.NgrokError{Code: "ERR_NGROK_334", Msg: "The endpoint 'https://foo.ngrok.app' is already online.", Hint: "the domain is already online in another agent (another omega-listen or ngrok?): stop that one first, or choose another domain"}),
		"start: ngrok refused the connection (ERR_NGROK_334): The endpoint 'https://foo.ngrok.app' is already online.\n" +
			"  Hint: --domain is already online in another agent (another omega-listen or ngrok?): stop that one first, or choose another --domain"},
	{"ngrok plan needs a domain", &tunnel.NgrokError{Code: "ERR_NGROK_15002", Msg: "Your account is on the 'free' plan.", Hint: "your ngrok plan needs a domain: pass yours (listed at https://dashboard.ngrok.com/domains)"},
		"ngrok refused the connection (ERR_NGROK_15002): Your account is on the 'free' plan.\n" +
			"  Hint: your ngrok plan needs a domain: pass yours (listed at https://dashboard.ngrok.com/domains) with --domain"},
	{"ngrok unreachable", &tunnel.NgrokError{Msg: "could not reach ngrok: no such host", Hint: "check this machine's internet connection", Unreachable: true},
		"could not reach ngrok: no such host\n  Hint: check this machine's internet connection; or go without ngrok: --tunnel none --public-url URL, or --emulate"},
	{"ngrok session lost unchanged", &tunnel.NgrokError{Msg: "lost the connection to ngrok: reset"}, "lost the connection to ngrok: reset"},
	{"ngrok code of no flag unchanged", &tunnel.NgrokError{Code: "ERR_NGROK_120", Msg: "Old.", Hint: "this build's ngrok library is no longer supported: update omega-listen"},
		"ngrok refused the connection (ERR_NGROK_120): Old.\n  Hint: this build's ngrok library is no longer supported: update omega-listen"},
	{"listen address in use", &tunnel.ListenError{Addr: "127.0.0.1:80", Problem: tunnel.AddressInUse, Err: errors.New("bind: address already in use")},
		"address 127.0.0.1:80 is already in use; choose another with --listen or stop the other process: bind: address already in use"},
	{"listen not permitted", &tunnel.ListenError{Addr: "0.0.0.0:80", Problem: tunnel.NotPermitted, Err: errors.New("bind: permission denied")},
		"not allowed to listen on 0.0.0.0:80; choose a port above 1023 with --listen: bind: permission denied"},
	{"listen not local", &tunnel.ListenError{Addr: "10.9.9.9:8080", Problem: tunnel.NotLocalAddress, Err: errors.New("bind: cannot assign requested address")},
		"address 10.9.9.9:8080 is not an address of this machine; use 127.0.0.1:PORT with --listen: bind: cannot assign requested address"},
	{"listen failed", &tunnel.ListenError{Addr: "x:1", Err: errors.New("no such host")},
		"cannot listen on x:1: no such host; choose another address with --listen"},
	{"relay no token", tunnel.ErrNoRelayToken, "no relay token: pass --relay-token or set OMEGA_RELAY_TOKEN (the relay's operator makes one with `omega-listen relay token NAME`)"},
	{"relay URL with a query", fmt.Errorf("relay URL %q %w", "wss://h?token=x", tunnel.ErrRelayURLCredentials),
		`relay URL "wss://h?token=x" must not carry a user, query or fragment (the token goes in --relay-token)`},
	{"relay unreachable", &tunnel.RelayUnreachableError{URL: "wss://h.example", Err: errors.New("connection refused")},
		"cannot reach the relay at wss://h.example: connection refused; check --relay-url (OMEGA_RELAY_URL) and that `omega-listen relay serve` runs there"},
	{"relay wrong token", &tunnel.RelayRejectedError{Reason: "the relay does not accept this token"},
		"the relay rejected this listener: the relay does not accept this token; check --relay-token (OMEGA_RELAY_TOKEN) against the relay's tokens"},
	{"relay name taken unchanged", &tunnel.RelayRejectedError{Reason: "another listener took the name", Replaced: true},
		"the relay rejected this listener: another listener took the name"},
	{"relay serve without tokens", fmt.Errorf("relay serve: %w", relay.ErrNoClientTokens),
		"relay serve: no client tokens: set OMEGA_RELAY_TOKENS=name:token,… or pass --tokens-file (make a token with `omega-listen relay token NAME`)"},
	{"listen token too short", fmt.Errorf("--token: %w", &inspector.TokenError{Len: 3}),
		"--token: token is 3 characters long, too short to be secret; use at least 22 characters of A-Z a-z 0-9 _ -, or leave --token unset for a random one"},
}

func TestWithHint(t *testing.T) {
	for _, tc := range hintCases {
		t.Run(tc.name, func(t *testing.T) {
			got := WithHint(tc.err)
			if tc.err == nil {
				if got != nil {
					t.Fatalf("WithHint(nil) = %v", got)
				}
				return
			}
			if got.Error() != tc.want {
				t.Errorf("withHint =\n%s\nwant\n%s", got, tc.want)
			}
			if !errors.Is(got, tc.err) {
				t.Error("the hinted error does not wrap the original")
			}
		})
	}
}

// TestWithHintKeepsUsage: a usage error stays one with its hint added, so
// Main still exits 2 and names --help.
func TestWithHintKeepsUsage(t *testing.T) {
	err := WithHint(&UsageError{Err: &replay.SelectorError{Problem: replay.NegativeLast}})
	var ue *UsageError
	if !errors.As(err, &ue) || err.Error() != "--last must be a positive number" {
		t.Errorf("withHint = %v (%T)", err, err)
	}
}

// TestWithHintReshaped: when a command rewords the error so its words are
// no longer in the message, the advice still comes, on its own line.
func TestWithHintReshaped(t *testing.T) {
	inner := &replay.TargetError{CaptureID: "c_9"}
	err := WithHint(reworded{inner})
	want := "could not: c_9\n  capture c_9 has no recorded target: give one (--to)"
	if err.Error() != want {
		t.Errorf("withHint =\n%s\nwant\n%s", err, want)
	}
}

type reworded struct{ e *replay.TargetError }

func (r reworded) Error() string { return "could not: " + r.e.CaptureID }
func (r reworded) Unwrap() error { return r.e }

// TestLowerErrorsNameNoFlags: the lower packages' own words never name a
// flag or an environment variable of the command line.
func TestLowerErrorsNameNoFlags(t *testing.T) {
	for _, tc := range hintCases {
		if tc.err == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			var se *hintedError
			if errors.As(tc.err, &se) {
				t.Fatal("a case must start from the lower package's error")
			}
			if s := lowerText(tc.err); strings.Contains(s, "--") || strings.Contains(s, "OMEGA_") || strings.Contains(s, "NGROK_AUTHTOKEN") {
				t.Errorf("%q names a flag or variable", s)
			}
		})
	}
}

// lowerText is the words of the lower package's error in err, without
// the wrapping a test case adds to show where the command puts it.
func lowerText(err error) string {
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), "--token: ") {
		return u.Error()
	}
	return err.Error()
}
