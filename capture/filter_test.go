package capture

import (
	"slices"
	"strings"
	"testing"
)

var filterTypes = []string{"video.process_succeeded", "video.process_failed", "video.deleted"}

func TestParseFilterAndMatch(t *testing.T) {
	done := func(typ string, status int, body string) *Capture {
		return &Capture{Meta: Meta{State: StateDone, EventType: typ, Status: status}, Body: []byte(body)}
	}
	tests := []struct {
		filter string
		c      *Capture
		want   bool
	}{
		{"video.process", done("video.process_failed", 200, "{}"), true},
		{"video.process", done("video.deleted", 200, "{}"), false},
		{"status:5xx", done("video.deleted", 503, "{}"), true},
		{"status:5xx", done("video.deleted", 200, "{}"), false},
		{`"hello world" status:ok`, done("video.deleted", 204, `{"a":"hello world"}`), true},
		{`"hello world"`, done("video.deleted", 204, `{"a":"hello"}`), false},
		{"status:pending", &Capture{Meta: Meta{State: StatePending}}, true},
		{"", done("x", 500, ""), true},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter, filterTypes)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tt.filter, err)
		}
		if got := f.Match(tt.c); got != tt.want {
			t.Errorf("ParseFilter(%q).Match(%s %d %q) = %v, want %v", tt.filter, tt.c.EventType, tt.c.Status, tt.c.Body, got, tt.want)
		}
	}
	for _, bad := range []string{"status:7xx", "type:", "status:"} {
		if _, err := ParseFilter(bad, filterTypes); err == nil {
			t.Errorf("ParseFilter(%q): no error", bad)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"type:video.deleted status:5xx", `"a b" c`, `"`, "status:ok,failed video."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s, filterTypes)
		if err != nil {
			if !strings.Contains(err.Error(), ":") {
				t.Fatalf("%q: error without the condition named: %v", s, err)
			}
			return
		}
		for _, st := range flt.Statuses {
			if !slices.Contains(StatusNames, st) {
				t.Fatalf("%q: status %q not a known one", s, st)
			}
		}
		if flt.Empty() != (len(flt.Query.TypePrefixes) == 0 && flt.Query.Text == "" && len(flt.Query.Outcomes)+len(flt.Query.StatusClasses) == 0) {
			t.Fatalf("%q: Empty disagrees with the query %+v", s, flt.Query)
		}
	})
}
