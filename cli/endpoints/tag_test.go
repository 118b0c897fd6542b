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
	for _, d := range []string{"", "prod webhook", "omega-listen h x 2026-11-26T17:00:00Z", "omega-listen h 1 yesterday", "omega-listen h 1"} {
		if _, ok := endpoints.ParseTag(d); ok {
			t.Errorf("endpoints.ParseTag(%q) accepted", d)
		}
	}
}
