package pgstore

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
)

// benchKey is keytest.Bench signed by the test signer.
func benchKey(i int, created time.Time) *core.Key {
	k := keytest.Bench(i, created)
	k.MAC = benchSigner.SignRecord(k.MACPayload())
	return k
}

var benchSigner = newSigner()

// checkDurable fails the benchmark unless commits wait for the disk.
func checkDurable(b *testing.B, s *Store) {
	b.Helper()
	for _, name := range []string{"fsync", "synchronous_commit"} {
		var v string
		if err := s.pool.QueryRow(context.Background(), "SHOW "+name).Scan(&v); err != nil {
			b.Fatal(err)
		}
		if v != "on" {
			b.Fatalf("%s is %s: the insert would not be durable", name, v)
		}
	}
}

// BenchmarkInsertDurable measures creating one key record on PostgreSQL (one
// transaction: the row, its audit entry, its change and notification,
// committed to disk). Target: 20 ms.
func BenchmarkInsertDurable(b *testing.B) {
	s, _ := newStore(b)
	checkDurable(b, s)
	created := time.Now().UTC()
	i := 0
	for b.Loop() {
		b.StopTimer()
		k := benchKey(i, created)
		i++
		b.StartTimer()
		if err := s.InsertKey(k, core.AuditEvent{Time: created, Actor: "bench", Action: core.ActionCreate, KeyID: k.ID}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/insert")
}

// BenchmarkChangePropagation measures, over 1,000 key creations, the time
// from the start of InsertKey (its commit included) to the follower's
// callback for that change, and reports its median and 99th percentile.
// Target: p99 within 1 s (aim 100 ms).
func BenchmarkChangePropagation(b *testing.B) {
	const changes = 1000
	s, _ := newStore(b)
	arrived := make(chan time.Time, changes)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := s.Follower(0, func(Change) { arrived <- time.Now() }, FollowOptions{})
	go f.Run(ctx)
	for !f.Status().Connected { // start-up only, outside the measurement
		runtime.Gosched()
	}
	created := time.Now().UTC()
	var lat []time.Duration
	for b.Loop() {
		for i := range changes {
			k := benchKey(i, created)
			start := time.Now()
			if err := s.InsertKey(k, core.AuditEvent{Time: created, Actor: "bench", Action: core.ActionCreate, KeyID: k.ID}); err != nil {
				b.Fatal(err)
			}
			select {
			case at := <-arrived:
				lat = append(lat, at.Sub(start))
			case <-time.After(10 * time.Second):
				b.Fatal("a change did not reach the follower within 10 s")
			}
		}
	}
	slices.Sort(lat)
	ms := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}

// BenchmarkListKeys100k measures what a replica does on start with 100,000
// keys in the store: read them all in one snapshot and build the
// verification index (checking every record's MAC). It reports the load
// time, the whole start, and the Go heap per key held. Target: answering
// within 2 s of start.
func BenchmarkListKeys100k(b *testing.B) {
	const total, batch = 100_000, 10_000
	s, _ := newStore(b)
	created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	keys := make([]*core.Key, 0, batch)
	for i := range total {
		keys = append(keys, benchKey(i, created))
		if len(keys) == batch {
			if err := s.InsertKeys(keys, core.AuditEvent{Time: created, Actor: "bench", Action: core.ActionCreate}); err != nil {
				b.Fatal(err)
			}
			keys = keys[:0]
		}
	}
	ctx := context.Background()
	var list, start time.Duration
	var heapPerKey float64
	for b.Loop() {
		b.StopTimer()
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		t0 := time.Now()
		got, _, err := s.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		list += time.Since(t0)
		if len(got) != total {
			b.Fatalf("Snapshot returned %d keys, want %d", len(got), total)
		}
		svc, err := core.NewService(&listed{Store: s, keys: got}, benchSigner, core.FixedClock(created), nil)
		if err != nil {
			b.Fatal(err)
		}
		start += time.Since(t0)
		b.StopTimer()
		got = nil
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		heapPerKey = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / total
		if n := len(svc.List()); n != total {
			b.Fatalf("service holds %d keys", n)
		}
		runtime.KeepAlive(svc)
		b.StartTimer()
	}
	b.ReportMetric(float64(list.Microseconds())/1000/float64(b.N), "ms/list")
	b.ReportMetric(float64(start.Microseconds())/1000/float64(b.N), "ms/replica-start")
	b.ReportMetric(heapPerKey, "heap-B/key")
}

// listed is a store whose ListKeys returns keys already read (the snapshot).
type listed struct {
	*Store
	keys []*core.Key
}

func (l *listed) ListKeys() ([]*core.Key, error) { return l.keys, nil }
