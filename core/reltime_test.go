package core

import (
	"testing"
	"time"
)

// TestFormatRelative: one rounding for the command line and the window. A
// 7-day grace roll seen a minute later, and a 30-day key listed a second
// after it was created, read in whole days rounded to the nearest, as the
// window's details panel says them (issue 22: the table said "stops in 6
// days" and the CLI "in 29 days").
func TestFormatRelative(t *testing.T) {
	const day = 24 * time.Hour
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{3 * day, "in 3 days"},
		{7 * day, "in 7 days"},
		{7*day - time.Minute, "in 7 days"},
		{7*day - 4*time.Hour, "in 7 days"},
		{30*day - time.Second, "in 30 days"},
		{40 * time.Hour, "in 2 days"},
		{30 * time.Hour, "tomorrow"},
		{24 * time.Hour, "tomorrow"},
		{-30 * time.Hour, "yesterday"},
		{-40 * time.Hour, "2 days ago"},
		{5 * time.Hour, "in 5 hours"},
		{-2 * time.Hour, "2 hours ago"},
		{30 * time.Second, "just now"},
		{45 * time.Minute, "in 45 minutes"},
		{-25 * time.Minute, "25 minutes ago"},
		{time.Hour, "in 1 hour"},
		{90 * day, "in 3 months"},
		{-90 * day, "3 months ago"},
		{800 * day, "in 2 years"},
	}
	for _, tc := range tests {
		if got := FormatRelative(now.Add(tc.d), now); got != tc.want {
			t.Errorf("FormatRelative(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
