package core

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkSelectIdle measures the digest's idle list over 100,000 keys in
// memory against the expiry-index part of the same digest.
func BenchmarkSelectIdle(b *testing.B) {
	st := newMemStore()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100_000 {
		created := start.Add(time.Duration(i) * 5 * time.Minute)
		k := &Key{ID: fmt.Sprintf("%016x", i), Name: "k", Digest: []byte(fmt.Sprintf("digest-%032d", i)),
			Permissions: Permissions{Kind: KindGlobal}, Scopes: []string{"*:*"},
			CreatedAt: created, ExpiresAt: created.AddDate(1, 0, 0)}
		if i%3 == 0 {
			k.LastUsedAt = created.Add(24 * time.Hour)
		}
		k.MAC = newSigner().SignRecord(k.MACPayload())
		st.keys[k.ID] = k
	}
	svc, err := NewService(st, newSigner(), FixedClock(start), nil)
	if err != nil {
		b.Fatal(err)
	}
	slot := time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC)
	n := 0
	for b.Loop() {
		out, err := svc.selectIdle(slot.Add(-24*time.Hour), slot)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/select")
	b.ReportMetric(float64(n), "idle")
}
