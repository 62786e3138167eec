package core

import (
	"fmt"
	"sync"
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

// TestKeyCountersNewKeysConcurrently: keys first counted from several
// goroutines at once, while the read-only copy is made again and again,
// each get one counter that every goroutine finds (run with -race).
func TestKeyCountersNewKeysConcurrently(t *testing.T) {
	var c keyCounters
	const workers, keys = 4, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range keys {
				c.get(fmt.Sprintf("k%d", (i*7+w*251)%keys)).allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := c.len(); n != keys {
		t.Fatalf("%d keys, want %d", n, keys)
	}
	c.each(func(id string, k *keyUsage) {
		if n := k.allowed.Load(); n != workers {
			t.Errorf("%s counted %d times, want %d", id, n, workers)
		}
	})
	// Every key was counted after the last copy was made or is in it: a
	// lookup of any of them now finds the same counter.
	for i := range keys {
		id := fmt.Sprintf("k%d", i)
		if c.get(id) != c.all[id] {
			t.Fatalf("%s: two counters", id)
		}
	}
}
