package core_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
)

// BenchmarkUsageCount measures what counting adds to one in-process
// verification (the budget is 50 ns), on the real clock, with 1,000 keys
// used today, from every CPU at once; it reports ns/count and the share of
// the budget used.
func BenchmarkUsageCount(b *testing.B) {
	r, err := core.NewUsageRecorder(storetest.NewMemStore(), "bench", core.SystemClock{})
	if err != nil {
		b.Fatal(err)
	}
	vs := make([]core.Verification, 1000)
	for i := range vs {
		vs[i] = core.Verification{Valid: true, Allowed: i%7 != 0, Reason: core.ReasonOK, Key: &core.Key{ID: fmt.Sprintf("k%04d", i)}}
		r.Count(vs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var g atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(g.Add(499)) // goroutines spread over the keys
		for pb.Next() {
			r.Count(vs[i%len(vs)])
			i++
		}
	})
	ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/count")
	b.ReportMetric(ns/50, "budget-ratio")
	// The floor on this machine (loaded or not): one sync.Map lookup and
	// one atomic add per verification, outside the benchmark's timer.
	b.StopTimer()
	var m sync.Map
	for _, v := range vs {
		m.Store(v.Key.ID, new(atomic.Uint64))
	}
	start = time.Now()
	for i := range b.N {
		c, _ := m.Load(vs[i%len(vs)].Key.ID)
		c.(*atomic.Uint64).Add(1)
	}
	floor := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns/floor, "ratio-to-map-floor")
}

// BenchmarkUsageCountSerial is BenchmarkUsageCount from one goroutine: the
// cost without two CPUs contending for the counters' cache lines. It also
// reports the cost as a multiple of the floor (one sync.Map lookup and one
// atomic add): the median ratio of 41 rounds of 20,000 in which the two
// take turns, so that the figure holds on a loaded machine.
func BenchmarkUsageCountSerial(b *testing.B) {
	r, err := core.NewUsageRecorder(storetest.NewMemStore(), "bench", core.SystemClock{})
	if err != nil {
		b.Fatal(err)
	}
	vs := make([]core.Verification, 1000)
	var m sync.Map
	for i := range vs {
		vs[i] = core.Verification{Valid: true, Allowed: true, Reason: core.ReasonOK, Key: &core.Key{ID: fmt.Sprintf("k%04d", i)}}
		m.Store(vs[i].Key.ID, new(atomic.Uint64))
	}
	b.ReportAllocs()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		r.Count(vs[i%len(vs)])
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/count")
	b.ReportMetric(ns/50, "budget-ratio")
	b.StopTimer()
	const n, rounds = 20_000, 41
	ratios := make([]float64, rounds)
	for round := range rounds {
		t := time.Now()
		for i := range n {
			r.Count(vs[i%len(vs)])
		}
		c := time.Since(t)
		t = time.Now()
		for i := range n {
			v, _ := m.Load(vs[i%len(vs)].Key.ID)
			v.(*atomic.Uint64).Add(1)
		}
		ratios[round] = c.Seconds() / time.Since(t).Seconds()
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[rounds/2], "ratio-to-map-floor")
}
