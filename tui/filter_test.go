package tui

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	"github.com/omega-listen/omega-listen/capture"
	"github.com/omega-listen/omega-listen/omega"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in       string
		types    []string
		statuses []string
		text     string
		err      string
	}{
		{in: ""},
		{in: "type:video.process_succeeded", types: []string{"video.process_succeeded"}},
		{in: "TYPE:video.deleted,video.uploaded", types: []string{"video.deleted", "video.uploaded"}},
		{in: "video.process", types: []string{"video.process"}},
		{in: "video", text: "video"}, // not a type without the dot
		{in: "status:5xx", statuses: []string{"5xx"}},
		{in: "status:OK,failed status:rejected", statuses: []string{"ok", "failed", "rejected"}},
		{in: "status:app_error", statuses: []string{"error"}},
		{in: "v_12 abc", text: "v_12 abc"},
		{in: `"two  spaces" x`, text: "two  spaces x"},
		{in: `"unterminated`, text: "unterminated"},
		{in: `""`},
		{in: "status:5xx video.deleted needle", types: []string{"video.deleted"}, statuses: []string{"5xx"}, text: "needle"},
		{in: "status:7xx", err: "status:7xx"},
		{in: "status:", err: "status: needs"},
		{in: "type:", err: "type: needs"},
	}
	for _, tt := range tests {
		t.Run(cmp.Or(tt.in, "empty"), func(t *testing.T) {
			f, err := parseFilter(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("parseFilter(%q) error %v, want one with %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Errorf("parseFilter(%q): %v", tt.in, err)
				return
			}
			if !slices.Equal(f.types, tt.types) || !slices.Equal(f.statuses, tt.statuses) || f.text != tt.text {
				t.Errorf("parseFilter(%q) = types %q statuses %q text %q, want %q %q %q",
					tt.in, f.types, f.statuses, f.text, tt.types, tt.statuses, tt.text)
			}
		})
	}
}

func TestFilterMatch(t *testing.T) {
	caps := fixtures() // e1 ok, e2 500, ok, app error, failed, rejected, replay ok, backfill ok
	pending := fixture(20, omega.TypeProcessSucceeded, 0)
	pending.State = capture.StatePending
	caps = append(caps, pending)
	tests := []struct {
		filter string
		want   []int // indexes into caps
	}{
		{"status:2xx", []int{0, 2, 6, 7}},
		{"status:ok", []int{0, 2, 6, 7}},
		{"status:5xx", []int{1, 3}},
		{"status:error", []int{1, 3}},
		{"status:failed", []int{4}},
		{"status:rejected", []int{5}},
		{"status:pending", []int{8}},
		{"status:4xx", nil},
		{"type:video.process_failed", []int{3, 7}},
		{"video.process", []int{0, 2, 3, 4, 6, 7, 8}},
		{"video.process status:failed,5xx", []int{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := parseFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for i, c := range caps {
				if s := c.Summary(); f.match(&s) {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%q matches %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "type:video.deleted", "status:5xx,ok", `"a b" c`, `"`, "video.", "status:", "type:,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := parseFilter(s)
		if err != nil {
			return
		}
		for _, st := range flt.statuses {
			if !slices.Contains(capture.StatusNames, st) {
				t.Fatalf("%q: status %q not a known one", s, st)
			}
		}
		for _, ty := range flt.types {
			if ty == "" || strings.ContainsAny(ty, " \t,") {
				t.Fatalf("%q: bad type %q", s, ty)
			}
		}
		if strings.ContainsRune(flt.text, '"') && !strings.Contains(s, `""`) && strings.Count(s, `"`) == 0 {
			t.Fatalf("%q: text %q has a quote the input did not", s, flt.text)
		}
		// match must not panic on any row.
		for _, o := range []capture.Summary{{}, {Meta: capture.Meta{EventType: "video.deleted", State: capture.StateDone, Status: 503}}, {Meta: capture.Meta{Flags: capture.FlagRejected}}} {
			_ = flt.match(&o)
		}
	})
}
