package wait

import (
	"testing"
	"time"
)

func TestSinceHint(t *testing.T) {
	for d, want := range map[time.Duration]string{
		3 * time.Second:                 "1m",
		time.Minute:                     "2m",
		59*time.Minute + 59*time.Second: "60m",
		time.Hour:                       "2h",
		25 * time.Hour:                  "2d",
	} {
		t.Run(d.String(), func(t *testing.T) {
			if got := sinceHint(d); got != want {
				t.Errorf("sinceHint(%v) = %q, want %q", d, got, want)
			}
		})
	}
}
