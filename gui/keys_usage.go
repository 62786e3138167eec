package gui

// The keys table's usage counts: the Requests column and the Denied badge,
// read off the UI goroutine at each reload and every usageRefresh.

import (
	"slices"
	"time"

	"github.com/keydesk/keydesk/core"
)

// usageWindow is the days the Requests column counts.
const usageWindow = 30

// usageRefresh is how often the window reads the usage counts again.
const usageRefresh = 30 * time.Second

// usageTotals are the usage counts the keys table shows, per key id.
type usageTotals struct {
	requests, deniedRecent map[string]uint64
}

// readUsageTotals reads the last 30 days' requests and the recent denied
// attempts of every key from st (nil reads nothing). It touches the store:
// never on the UI goroutine.
func readUsageTotals(st core.UsageStore, now time.Time) (*usageTotals, error) {
	if st == nil {
		return nil, nil
	}
	month, err := core.ReadUsageTotals(st, nil, now, usageWindow)
	if err != nil {
		return nil, err
	}
	recent, err := core.ReadUsageTotals(st, nil, now, core.DeniedRecentDays)
	if err != nil {
		return nil, err
	}
	u := &usageTotals{requests: map[string]uint64{}, deniedRecent: map[string]uint64{}}
	for id, c := range month.Keys {
		u.requests[id] = c.Requests()
	}
	for id, c := range recent.Keys {
		if c.Denied > 0 {
			u.deniedRecent[id] = c.Denied
		}
	}
	return u, nil
}

// apply stores the counts in rows (nil u leaves them as they are).
func (u *usageTotals) apply(rows []*keyRow) {
	if u == nil {
		return
	}
	for _, r := range rows {
		r.requests, r.deniedRecent = u.requests[r.key.ID], u.deniedRecent[r.key.ID]
	}
}

// refreshUsage reads the usage counts again off the UI goroutine and shows
// them; a failed read keeps the counts shown.
func (v *keysView) refreshUsage() {
	if !v.loaded || v.usage == nil {
		return
	}
	st := v.usage
	now := v.svc.Now()
	// An open details panel's chart is read again in the same job.
	d := v.details
	var keyID string
	if d != nil && d.usage != nil {
		keyID = d.key.ID
	}
	v.env.bg.run(func() func() {
		var ku core.KeyUsage
		var kerr error
		if keyID != "" {
			ku, kerr = readKeyUsage(st, keyID, now)
		}
		u, err := readUsageTotals(st, now)
		if err != nil || u == nil {
			return nil
		}
		return func() {
			u.apply(v.model.rows)
			v.usageRead = true
			if v.model.sortCol == colRequests {
				v.model.sort()
				v.model.filter()
			} else if slices.Contains(v.model.words, deniedWord) {
				v.model.filter()
			}
			v.refresh() // hides tooltips: the chart's shows again below
			if keyID != "" && v.details == d && kerr == nil {
				d.showUsage(v.tips, ku, nil, v.usageShared)
			}
		}
	})
}
