package core_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
)

// writeTimes is a usage store that notes when each write happens.
type writeTimes struct {
	core.UsageStore
	mu     sync.Mutex
	writes []time.Time
}

func (w *writeTimes) PutUsage(writer string, rows []core.UsageRow, pruneBefore time.Time) error {
	w.mu.Lock()
	w.writes = append(w.writes, time.Now())
	w.mu.Unlock()
	return w.UsageStore.PutUsage(writer, rows, pruneBefore)
}

// TestUsageRunWritesAtMostOncePerInterval: a writer counting a use every
// second for 26 hours, across two UTC midnights, writes at most once per
// UsageFlushInterval while it runs, loses no count, and writes once more
// when it stops. (Before, the midnight timer wrote on top of the ticker's
// writes, two writes less than 10 s apart.)
func TestUsageRunWritesAtMostOncePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Start the writer 3 s before a UTC midnight that does not fall on
		// a tick. (The bubble's clock starts at a midnight, but read it:
		// make test-dates moves every clock.)
		first := time.Now()
		time.Sleep(core.UsageDay(first).AddDate(0, 0, 1).Sub(first) - 3*time.Second - 10*time.Second/3)
		day1 := core.UsageDay(time.Now())
		st := &writeTimes{UsageStore: storetest.NewMemStore()}
		r, err := core.NewUsageRecorder(st, "w1", core.SystemClock{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.Run(ctx, core.UsageFlushInterval, func(err error) { t.Error(err) })
		}()
		key := &core.Key{ID: "k1"}
		const uses = 26*3600 + 5 // the last use falls between two ticks
		for range uses {
			time.Sleep(time.Second)
			r.Count(core.Verification{Valid: true, Allowed: true, Reason: core.ReasonOK, Key: key})
		}
		synctest.Wait() // Run is blocked on its timers: no write is under way
		st.mu.Lock()
		runningWrites := len(st.writes)
		st.mu.Unlock()
		cancel()
		<-done

		st.mu.Lock()
		defer st.mu.Unlock()
		if len(st.writes) != runningWrites+1 {
			t.Errorf("%d writes after stopping, want 1", len(st.writes)-runningWrites)
		}
		for i := 1; i < runningWrites; i++ {
			if gap := st.writes[i].Sub(st.writes[i-1]); gap < core.UsageFlushInterval {
				t.Fatalf("writes %d and %d (at %s and %s) are %s apart, want at least %s",
					i-1, i, st.writes[i-1].Format(time.TimeOnly), st.writes[i].Format(time.TimeOnly), gap, core.UsageFlushInterval)
			}
		}
		if want := uses / int(core.UsageFlushInterval/time.Second); runningWrites < want-1 {
			t.Errorf("%d writes while running for %d s, want about %d", runningWrites, uses, want)
		}
		var total uint64
		if err := st.ReadUsage(day1, day1.AddDate(0, 0, 2), nil, func(row core.UsageRow) error {
			total += row.Allowed
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if total != uses {
			t.Errorf("%d uses written over the three days, want %d", total, uses)
		}
	})
}
