package core_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/clocktest"
	"github.com/keydesk/keydesk/internal/storetest"
)

// TestUsageCountsWhileFlushing: counts made from several goroutines while
// flushes run are all written, once (run with -race).
func TestUsageCountsWhileFlushing(t *testing.T) {
	st := storetest.NewMemStore()
	clock := clocktest.New(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	r, err := core.NewUsageRecorder(st, "w1", clock)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r.Count(core.Verification{Valid: true, Allowed: true, Reason: core.ReasonOK, Key: &core.Key{ID: fmt.Sprintf("k%d", (w+i)%10)}})
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := r.Flush(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	tot, err := core.ReadUsageTotals(st, nil, clock.Now(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, c := range tot.Keys {
		n += c.Allowed
	}
	if n != workers*each || len(tot.Keys) != 10 {
		t.Fatalf("%d uses of %d keys written, want %d of 10", n, len(tot.Keys), workers*each)
	}
}
