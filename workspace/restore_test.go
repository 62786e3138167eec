package workspace

import (
	"testing"
	"time"
)

// A restore's result reads as one sentence, with "key" for one key.
func TestRestoreResultString(t *testing.T) {
	at := time.Date(2026, 11, 30, 4, 25, 59, 0, time.UTC)
	for _, tc := range []struct {
		r    RestoreResult
		want string
	}{
		{RestoreResult{TakenAt: at, KeyCount: 124, Expired: 3}, "Restored 124 keys (3 expired) from a backup taken 2026-11-30 04:25 UTC."},
		{RestoreResult{TakenAt: at.In(time.FixedZone("x", 3600)), KeyCount: 1}, "Restored 1 key (0 expired) from a backup taken 2026-11-30 04:25 UTC."},
		{RestoreResult{TakenAt: at, KeyCount: 0}, "Restored 0 keys (0 expired) from a backup taken 2026-11-30 04:25 UTC."},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}
