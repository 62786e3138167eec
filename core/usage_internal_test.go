package core

import (
	"testing"
	"time"
)

// nopUsageStore stores nothing.
type nopUsageStore struct{ puts int }

func (s *nopUsageStore) PutUsage(string, []UsageRow, time.Time) error { s.puts++; return nil }
func (*nopUsageStore) ReadUsage(time.Time, time.Time, []string, func(UsageRow) error) error {
	return nil
}

// TestUsageMemoryIsToday: memory holds the keys used today; once the day
// has changed and the old day was written (on two flushes), it is dropped.
func TestUsageMemoryIsToday(t *testing.T) {
	st := &nopUsageStore{}
	clock := FixedClock(time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC))
	r, err := NewUsageRecorder(st, "w1", clock)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		r.Count(Verification{Valid: true, Allowed: true, Reason: ReasonOK, Key: &Key{ID: id}})
	}
	r.clock = FixedClock(time.Date(2026, 12, 7, 0, 0, 1, 0, time.UTC))
	for range 2 {
		if err := r.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	r.Count(Verification{Valid: true, Allowed: true, Reason: ReasonOK, Key: &Key{ID: "today"}})
	n := r.cur.Load().keys.len()
	if len(r.retired) != 0 || n != 1 {
		t.Fatalf("after the day changed: %d days retired, %d keys in memory; want 0 and 1", len(r.retired), n)
	}
	if st.puts != 1 {
		t.Fatalf("%d writes, want 1 (the old day's counts; nothing changed after)", st.puts)
	}
}
