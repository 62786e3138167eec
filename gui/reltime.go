package gui

import (
	"fmt"
	"time"

	"github.com/keydesk/keydesk/core"
)

// relTime is how far t is from now in words, as the window shows it:
// minutes and hours within a day, "yesterday" or "tomorrow" up to 36
// hours, then whole days rounded to the nearest (a 7-day key created a
// moment ago expires "in 7 days", not "in 6 days") up to 60 days, then
// months and years as core.FormatRelative says them.
func relTime(t, now time.Time) string {
	d := t.Sub(now)
	future := d > 0
	if d < 0 {
		d = -d
	}
	switch {
	case d < 24*time.Hour || d >= 60*24*time.Hour:
		return core.FormatRelative(t, now)
	case d < 36*time.Hour:
		if future {
			return "tomorrow"
		}
		return "yesterday"
	}
	days := int((d + 12*time.Hour) / (24 * time.Hour))
	if future {
		return fmt.Sprintf("in %d days", days)
	}
	return fmt.Sprintf("%d days ago", days)
}
