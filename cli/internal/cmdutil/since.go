package cmdutil

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// How far back a flag such as --since reaches. Go's durations (90s, 30m,
// 1h30m) are accepted, and whole days (2d) and weeks (1w), which Go's
// parser refuses (a day is 24 hours; 1d12h works too); flags that name a
// moment also take a time: RFC 3339 (2026-11-26T15:04:05Z), or in local
// time a date (2026-11-26), a date and time (2026-11-26 15:04,
// 2026-11-26T15:04:05) or a time of day (15:04: the last time the clock
// showed it).
// A moment is kept as its distance from when the flag was read.

const (
	agoDurationHelp = "a duration: 30m, 24h, 2d"
	agoMomentHelp   = "a duration (30m, 24h, 2d) or a time (2026-11-26, '2026-11-26 15:04', 15:04, RFC 3339)"
	maxAgo          = 100 * 365 * 24 * time.Hour
)

// localLayouts are the moments read in local time, longest first.
var localLayouts = []string{
	"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02",
}

// ParseAgo reads s as described above, relative to now. moments says
// whether times are accepted as well as durations.
func ParseAgo(s string, now time.Time, moments bool) (time.Duration, error) {
	s = strings.TrimSpace(s)
	want := agoDurationHelp
	if moments {
		want = agoMomentHelp
	}
	if s == "" {
		return 0, fmt.Errorf("empty: want %s", want)
	}
	if d, ok, err := parseDays(s); ok || err != nil {
		return d, err
	}
	if _, ok, _ := parseDays(strings.TrimPrefix(s, "-")); ok && strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("negative: want %s", want)
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("negative: want %s", want)
		}
		if d > maxAgo {
			return 0, errors.New("more than 100 years: give a shorter one")
		}
		return d, nil
	}
	if !moments {
		return 0, fmt.Errorf("want %s", want)
	}
	t, ok := parseMoment(s, now)
	if !ok {
		return 0, fmt.Errorf("want %s", want)
	}
	if t.After(now) {
		return 0, fmt.Errorf("in the future (it is %s now)", now.Format("2006-01-02 15:04:05 MST"))
	}
	d := now.Sub(t)
	if d > maxAgo {
		return 0, errors.New("more than 100 years ago: give a later time")
	}
	return d, nil
}

// parseDays reads days (2d) or weeks (1w), a day being 24 hours, with an
// optional Go duration after them (1d12h). ok is false when s is not of
// that form at all.
func parseDays(s string) (d time.Duration, ok bool, err error) {
	body := strings.TrimPrefix(s, "+")
	i := 0
	for i < len(body) && body[i] >= '0' && body[i] <= '9' {
		i++
	}
	if i == 0 || i == len(body) || body[i] != 'd' && body[i] != 'w' {
		return 0, false, nil
	}
	unit := 24 * time.Hour
	if body[i] == 'w' {
		unit *= 7
	}
	var rest time.Duration
	if tail := body[i+1:]; tail != "" {
		if tail[0] == '+' || tail[0] == '-' {
			return 0, false, nil
		}
		if rest, err = time.ParseDuration(tail); err != nil {
			return 0, false, nil
		}
	}
	n, err := strconv.Atoi(body[:i])
	if err != nil || time.Duration(n) > maxAgo/unit || time.Duration(n)*unit > maxAgo-rest {
		return 0, true, errors.New("more than 100 years: give a shorter one")
	}
	return time.Duration(n)*unit + rest, true, nil
}

func parseMoment(s string, now time.Time) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, now.Location()); err == nil {
			return t, true
		}
	}
	for _, l := range []string{"15:04:05", "15:04"} {
		if t, err := time.ParseInLocation(l, s, now.Location()); err == nil {
			// The last time the clock showed it: today, or yesterday if
			// that is still to come (--since 23:50 at five past midnight).
			y, m, d := now.Date()
			at := time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, now.Location())
			if at.After(now) {
				at = time.Date(y, m, d-1, t.Hour(), t.Minute(), t.Second(), 0, now.Location())
			}
			return at, true
		}
	}
	return time.Time{}, false
}

// agoValue is a pflag.Value for parseAgo, stored as a duration.
type agoValue struct {
	d       *time.Duration
	moments bool
	now     func() time.Time
}

func (v *agoValue) Set(s string) error {
	d, err := ParseAgo(s, v.now(), v.moments)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func (v *agoValue) String() string {
	if v.d == nil || *v.d == 0 {
		return "0" // pflag shows no default for "0"
	}
	return v.d.String()
}

func (v *agoValue) Type() string {
	if v.moments {
		return "when"
	}
	return "duration"
}

// AgoVar defines a flag read by parseAgo.
func AgoVar(f *pflag.FlagSet, d *time.Duration, name string, moments bool, usage string) {
	f.Var(&agoValue{d: d, moments: moments, now: time.Now}, name, usage)
}
