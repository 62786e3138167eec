package core

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkCountStates measures the keys-by-state count a metrics scrape
// makes, over 100,000 keys in memory (a third of them used), against
// List, which copies and sorts them (the target: CountStates costs a small
// fraction of List, so a scrape stays cheap).
func BenchmarkCountStates(b *testing.B) {
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
	svc, err := NewService(st, newSigner(), FixedClock(time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)), nil)
	if err != nil {
		b.Fatal(err)
	}
	listStart := time.Now()
	const lists = 5
	for range lists {
		if len(svc.List()) != 100_000 {
			b.Fatal("List lost keys")
		}
	}
	list := time.Since(listStart) / lists
	var got KeyStates
	for b.Loop() {
		got = svc.CountStates()
	}
	if got.Active+got.Expired+got.Idle != 100_000 || got.Idle == 0 || got.Active == 0 {
		b.Fatalf("counts %+v", got)
	}
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(per.Microseconds()), "µs/count")
	b.ReportMetric(per.Seconds()/list.Seconds(), "ratio-to-List")
}
