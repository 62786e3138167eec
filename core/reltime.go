package core

import (
	"fmt"
	"time"
)

// FormatRelative says how far t is from now in words, the one way the
// command line, the window and the e-mail digest say it: "just now" within a
// minute, whole minutes within an hour, whole hours within a day,
// "tomorrow" or "yesterday" up to 36 hours, then whole days rounded to the
// nearest one up to 60 days (a 7-day key created a moment ago expires "in 7
// days", not "in 6 days"), then months of 30 days and years of 365.
func FormatRelative(t, now time.Time) string {
	d := t.Sub(now)
	future := d > 0
	if d < 0 {
		d = -d
	}
	var n int
	var unit string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		n, unit = int(d/time.Minute), "minute"
	case d < 24*time.Hour:
		n, unit = int(d/time.Hour), "hour"
	case d < 36*time.Hour:
		if future {
			return "tomorrow"
		}
		return "yesterday"
	case d < 60*24*time.Hour:
		n, unit = int((d+12*time.Hour)/(24*time.Hour)), "day"
	case d < 730*24*time.Hour:
		n, unit = int(d/(30*24*time.Hour)), "month"
	default:
		n, unit = int(d/(365*24*time.Hour)), "year"
	}
	if n != 1 {
		unit += "s"
	}
	if future {
		return fmt.Sprintf("in %d %s", n, unit)
	}
	return fmt.Sprintf("%d %s ago", n, unit)
}
