package workspace

import (
	"testing"
	"time"

	"github.com/keydesk/keydesk/storage"
)

// TestDemoAuditNewestFirst: the demo's audit log reads newest first, as
// `keydesk --demo audit` and the Activity tab promise: the sample keys are
// created oldest first.
func TestDemoAuditNewestFirst(t *testing.T) {
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	b := open(t, Options{Keyring: storage.NewMemoryKeyring(), Demo: true, Now: now})
	events, err := b.Audit()
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 10 {
		t.Fatalf("%d demo audit events", len(events))
	}
	for i := 1; i < len(events); i++ {
		if events[i].Time.After(events[i-1].Time) {
			t.Fatalf("event %d (%s %v) is newer than event %d (%s %v)", i, events[i].Action, events[i].Time, i-1, events[i-1].Action, events[i-1].Time)
		}
	}
}
