package core

import (
	"fmt"
	"math"
	"time"
)

// UsageCounts are a key's uses, summed over writers.
type UsageCounts struct {
	Allowed, Denied, Expired uint64
}

// Requests returns every counted use.
func (c UsageCounts) Requests() uint64 { return addSat(addSat(c.Allowed, c.Denied), c.Expired) }

func (c *UsageCounts) add(r UsageRow) {
	c.Allowed = addSat(c.Allowed, r.Allowed)
	c.Denied = addSat(c.Denied, r.Denied)
	c.Expired = addSat(c.Expired, r.Expired)
}

// addSat adds without wrapping: the rows come from servers, and a forged
// huge count must not wrap a sum round to a small one.
func addSat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// DayUsage is one UTC day of a key's usage.
type DayUsage struct {
	// Day is the UTC midnight starting the day.
	Day time.Time
	UsageCounts
}

// KeyUsage is a key's usage over a range of days.
type KeyUsage struct {
	// Days holds one entry per day of the range, newest first, zeros
	// included.
	Days []DayUsage
	// Total sums Days.
	Total UsageCounts
	// Writers is how many processes (servers, replicas, the window)
	// reported counts for the key in the range: the window says "reported
	// by N servers".
	Writers int
}

// UsageTotals are every key's usage summed over a range of days.
type UsageTotals struct {
	// Keys maps key ids with any counted use to their sums.
	Keys map[string]UsageCounts
	// Unknown and Malformed count the presented keys that matched none.
	Unknown, Malformed uint64
	// Writers is how many processes reported counts in the range.
	Writers int
}

// usageRange returns the first and last day of the days days ending with
// now's day, checking days.
func usageRange(now time.Time, days int) (time.Time, time.Time, error) {
	if days < 1 || days > MaxUsageDays {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: %d", ErrUsageDays, days)
	}
	to := UsageDay(now)
	return to.AddDate(0, 0, -(days - 1)), to, nil
}

// ErrUsageDays means a usage range is not 1 to MaxUsageDays days.
var ErrUsageDays = fmt.Errorf("a usage range covers 1 to %d days", MaxUsageDays)

// ReadKeyUsage returns key id's usage over the days days ending with now's
// UTC day (1 to MaxUsageDays).
func ReadKeyUsage(st UsageStore, id string, now time.Time, days int) (KeyUsage, error) {
	from, to, err := usageRange(now, days)
	if err != nil {
		return KeyUsage{}, err
	}
	u := KeyUsage{Days: make([]DayUsage, days)}
	for i := range u.Days {
		u.Days[i].Day = to.AddDate(0, 0, -i)
	}
	writers := map[string]struct{}{}
	err = st.ReadUsage(from, to, []string{id}, func(r UsageRow) error {
		i := int(to.Sub(UsageDay(r.Day)) / (24 * time.Hour))
		if r.KeyID != id || i < 0 || i >= days {
			return nil
		}
		u.Days[i].add(r)
		u.Total.add(r)
		if len(writers) < maxWriters {
			writers[r.Writer] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return KeyUsage{}, fmt.Errorf("read the usage of key %s: %w", id, err)
	}
	u.Writers = len(writers)
	return u, nil
}

// maxWriters bounds the writers a read tells apart (a server could invent
// any number of writer ids).
const maxWriters = 10000

// ReadUsageTotals sums the usage of the keys in ids (every key when ids is
// nil) over the days days ending with now's UTC day.
func ReadUsageTotals(st UsageStore, ids []string, now time.Time, days int) (UsageTotals, error) {
	from, to, err := usageRange(now, days)
	if err != nil {
		return UsageTotals{}, err
	}
	var want map[string]bool
	var keys []string
	if ids != nil {
		want = make(map[string]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
		keys = append(append(keys, ids...), "")
	}
	t := UsageTotals{Keys: map[string]UsageCounts{}}
	writers := map[string]struct{}{}
	err = st.ReadUsage(from, to, keys, func(r UsageRow) error {
		if d := UsageDay(r.Day); d.Before(from) || d.After(to) {
			return nil
		}
		if len(writers) < maxWriters {
			writers[r.Writer] = struct{}{}
		}
		if r.KeyID == "" {
			t.Unknown = addSat(t.Unknown, r.Unknown)
			t.Malformed = addSat(t.Malformed, r.Malformed)
			return nil
		}
		if want != nil && !want[r.KeyID] {
			return nil
		}
		c := t.Keys[r.KeyID]
		c.add(r)
		t.Keys[r.KeyID] = c
		return nil
	})
	if err != nil {
		return UsageTotals{}, fmt.Errorf("read usage totals: %w", err)
	}
	t.Writers = len(writers)
	return t, nil
}

// DeniedRecentDays is the days read for "denied attempts in the last 24
// hours": counts are kept per UTC day, so today and yesterday, which
// cover the last 24 hours.
const DeniedRecentDays = 2
