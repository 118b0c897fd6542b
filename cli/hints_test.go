package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
	"github.com/omega-listen/omega-listen/replay"
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
}

func TestWithHint(t *testing.T) {
	for _, tc := range hintCases {
		t.Run(tc.name, func(t *testing.T) {
			got := withHint(tc.err)
			if tc.err == nil {
				if got != nil {
					t.Fatalf("withHint(nil) = %v", got)
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
	err := withHint(&usageError{&replay.SelectorError{Problem: replay.NegativeLast}})
	var ue *usageError
	if !errors.As(err, &ue) || err.Error() != "--last must be a positive number" {
		t.Errorf("withHint = %v (%T)", err, err)
	}
}

// TestWithHintReshaped: when a command rewords the error so its words are
// no longer in the message, the advice still comes, on its own line.
func TestWithHintReshaped(t *testing.T) {
	inner := &replay.TargetError{CaptureID: "c_9"}
	err := withHint(reworded{inner})
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
			if s := tc.err.Error(); strings.Contains(s, "--") || strings.Contains(s, "OMEGA_") || strings.Contains(s, "NGROK_") {
				t.Errorf("%q names a flag or variable", s)
			}
		})
	}
}
