package core

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// DeniedKey is a key with denied attempts before a digest slot.
type DeniedKey struct {
	Key *Key
	// Denied counts the attempts, summed over the servers that reported
	// them.
	Denied uint64
}

// SelectDenied returns the keys among keys with denied attempts in the 24
// hours before slot, most attempts first. Counts are kept per UTC day, so
// it reads the days of slot-24h and of slot (the slot's day up to the
// slot).
func SelectDenied(st UsageStore, keys []*Key, slot time.Time) ([]DeniedKey, error) {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	days := int(UsageDay(slot).Sub(UsageDay(slot.Add(-24*time.Hour)))/(24*time.Hour)) + 1
	t, err := ReadUsageTotals(st, ids, slot, days)
	if err != nil {
		return nil, fmt.Errorf("select keys with denied attempts: %w", err)
	}
	var out []DeniedKey
	for _, k := range keys {
		if n := t.Keys[k.ID].Denied; n > 0 {
			out = append(out, DeniedKey{Key: k, Denied: n})
		}
	}
	slices.SortFunc(out, func(a, b DeniedKey) int {
		return cmp.Or(cmp.Compare(b.Denied, a.Denied), cmp.Compare(a.Key.ID, b.Key.ID))
	})
	return out, nil
}

// subjectDenied is the subject's part about denied attempts, "" when there
// are none.
func (d Digest) subjectDenied() string {
	if len(d.Denied) == 0 {
		return ""
	}
	return fmt.Sprintf(", %d with denied attempts", len(d.Denied))
}
