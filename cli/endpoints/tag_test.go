package endpoints_test

import (
	"testing"

	"github.com/omega-listen/omega-listen/cli/endpoints"
)

func TestParseEndpointTag(t *testing.T) {
	tag, ok := endpoints.ParseTag("omega-listen myhost 4242 2026-11-26T17:00:00Z")
	if !ok || tag.Host != "myhost" || tag.PID != 4242 || tag.Started.Year() != 2026 {
		t.Errorf("endpoints.ParseTag = %+v, %v", tag, ok)
	}
	for _, tc := range []struct {
		name string
		d    string
	}{
		{"empty", ""},
		{"not ours", "prod webhook"},
		{"PID not a number", "omega-listen h x 2026-11-26T17:00:00Z"},
		{"start not a time", "omega-listen h 1 yesterday"},
		{"no start", "omega-listen h 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := endpoints.ParseTag(tc.d); ok {
				t.Errorf("endpoints.ParseTag(%q) accepted", tc.d)
			}
		})
	}
}
