package core

import (
	"fmt"
	"time"
)

// Stats are the counts shown above the keys table.
type Stats struct {
	Total, Expired, ExpiringSoon int
}

// ExpiringSoonWindow is the "expiring within 7 days" horizon.
const ExpiringSoonWindow = 7 * 24 * time.Hour

// CountStats counts keys, expired keys and keys expiring within 7 days.
func CountStats(keys []*Key, now time.Time) Stats {
	st := Stats{Total: len(keys)}
	for _, k := range keys {
		switch {
		case k.Expired(now):
			st.Expired++
		case k.ExpiresWithin(now, ExpiringSoonWindow):
			st.ExpiringSoon++
		}
	}
	return st
}

// String renders "124 keys · 3 expired · 5 expiring within 7 days".
func (st Stats) String() string {
	plural := "keys"
	if st.Total == 1 {
		plural = "key"
	}
	return fmt.Sprintf("%d %s · %d expired · %d expiring within 7 days", st.Total, plural, st.Expired, st.ExpiringSoon)
}
