package cmdutil

import (
	"cmp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestParseAgo(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 26, 15, 30, 0, 0, berlin)
	for _, tc := range []struct {
		in      string
		moments bool
		want    time.Duration
		err     string // a part of the error; "" for none
	}{
		{"30m", false, 30 * time.Minute, ""},
		{"1h30m", false, 90 * time.Minute, ""},
		{" 90s ", false, 90 * time.Second, ""},
		{"0", false, 0, ""},
		{"2d", false, 48 * time.Hour, ""},
		{"1w", false, 7 * 24 * time.Hour, ""},
		{"0d", false, 0, ""},
		{"2d", true, 48 * time.Hour, ""},
		{"-5m", false, 0, "negative"},
		{"-2d", true, 0, "negative"},
		{"-1d12h", false, 0, "negative"},
		{"+2d", false, 48 * time.Hour, ""},
		{"+5m", false, 5 * time.Minute, ""},
		{"1d12h", false, 36 * time.Hour, ""},
		{"1w2d", false, 0, "want a duration"},
		{"1d-2h", false, 0, "want a duration"},
		{"1d+2h", false, 0, "want a duration"},
		{"1dx", false, 0, "want a duration"},
		{"36500d1h", false, 0, "more than 100 years"},
		{"", true, 0, "empty"},
		{"d", false, 0, "want a duration: 30m"},
		{"1.5d", false, 0, "want a duration: 30m"},
		{"2026-11-26", false, 0, "want a duration: 30m"},
		{"99999999999999999999d", false, 0, "more than 100 years"},
		{"36501d", false, 0, "more than 100 years: give a shorter one"},
		{"900000h", false, 0, "more than 100 years"},
		// Moments, in now's zone unless they say otherwise.
		{"2026-11-26", true, 15*time.Hour + 30*time.Minute, ""},
		{"2026-11-26 15:00", true, 30 * time.Minute, ""},
		{"2026-11-26T15:00", true, 30 * time.Minute, ""},
		{"2026-11-26T15:29:59.5", true, 500 * time.Millisecond, ""},
		{"2026-11-26T14:00:00Z", true, 30 * time.Minute, ""},
		{"2026-11-26T15:00:00+01:00", true, 30 * time.Minute, ""},
		{"15:04", true, 26 * time.Minute, ""},
		{"15:29:30", true, 30 * time.Second, ""},
		{"15:30", true, 0, ""},
		{"16:00", true, 23*time.Hour + 30*time.Minute, ""}, // yesterday's
		{"2026-11-27", true, 0, "in the future"},
		{"1900-01-01", true, 0, "more than 100 years ago"},
		{"2026-13-01", true, 0, "want a duration (30m"},
		{"yesterday", true, 0, "want a duration (30m"},
		{"25:00", true, 0, "want a duration (30m"},
		{"2026-11-26 16:00", true, 0, "in the future"},
	} {
		name := cmp.Or(tc.in, "empty")
		if tc.moments {
			name += " as a moment"
		}
		t.Run(name, func(t *testing.T) {
			got, err := ParseAgo(tc.in, now, tc.moments)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("ParseAgo(%q, %v): %v", tc.in, tc.moments, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("ParseAgo(%q, %v) = %v, %v; want an error with %q", tc.in, tc.moments, got, err, tc.err)
			case tc.err == "" && got != tc.want:
				t.Errorf("ParseAgo(%q, %v) = %v, want %v", tc.in, tc.moments, got, tc.want)
			}
		})
	}
}

// TestParseAgoJustAfterMidnight: a time of day later than now is
// yesterday's.
func TestParseAgoJustAfterMidnight(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 5, 0, 0, time.UTC)
	if d, err := ParseAgo("23:50", now, true); err != nil || d != 15*time.Minute {
		t.Errorf("23:50 at 00:05 = %v, %v; want 15m", d, err)
	}
	if d, err := ParseAgo("00:01", now, true); err != nil || d != 4*time.Minute {
		t.Errorf("00:01 at 00:05 = %v, %v; want 4m", d, err)
	}
}

// TestAgoFlag: the flag reads through parseAgo and shows no default.
func TestAgoFlag(t *testing.T) {
	var d time.Duration
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AgoVar(fs, &d, "ago-test", true, "test")
	if f := fs.Lookup("ago-test"); f.DefValue != "0" || f.Value.Type() != "when" {
		t.Errorf("default %q, type %q", f.DefValue, f.Value.Type())
	}
	if err := fs.Set("ago-test", "3d"); err != nil || d != 72*time.Hour {
		t.Errorf("Set 3d: %v, %v", d, err)
	}
	if err := fs.Set("ago-test", "soon"); err == nil || d != 72*time.Hour {
		t.Errorf("Set soon: %v, %v; want an error and the value kept", d, err)
	}
}

// FuzzParseAgo: any text gives a duration in range or an error, never a
// panic; what it accepts as a duration it accepts as a moment too.
func FuzzParseAgo(f *testing.F) {
	for _, s := range []string{"30m", "2d", "1w", "2026-11-26", "2026-11-26 15:04", "15:04", "2026-11-26T14:00:00Z", "-1h", "9999999999w", "24:00", "1e9d"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		for _, moments := range []bool{false, true} {
			d, err := ParseAgo(s, now, moments)
			if err != nil {
				if d != 0 {
					t.Fatalf("ParseAgo(%q, %v) = %v with error %v", s, moments, d, err)
				}
				continue
			}
			if d < 0 || d > maxAgo {
				t.Fatalf("ParseAgo(%q, %v) = %v, out of range", s, moments, d)
			}
			if !moments {
				if d2, err := ParseAgo(s, now, true); err != nil || d2 != d {
					t.Fatalf("ParseAgo(%q) as a moment = %v, %v; as a duration %v", s, d2, err, d)
				}
			}
		}
	})
}
