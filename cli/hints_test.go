package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/capture"
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
