package storage

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
)

// BenchmarkListKeys100k measures Store.ListKeys on a real bbolt store
// holding 100,000 records (written through InsertKeys in batches of
// 10,000), the bulk of opening a large store (README, "Performance").
func BenchmarkListKeys100k(b *testing.B) {
	const total, batch = 100_000, 10_000
	s, err := Open(filepath.Join(b.TempDir(), "data"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	keys := make([]*core.Key, 0, batch)
	for i := range total {
		keys = append(keys, keytest.Bench(i, created))
		if len(keys) == batch {
			if err := s.InsertKeys(keys, core.AuditEvent{Time: created, Actor: "bench", Action: core.ActionCreate}); err != nil {
				b.Fatal(err)
			}
			keys = keys[:0]
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := s.ListKeys()
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != total {
			b.Fatalf("ListKeys returned %d keys, want %d", len(got), total)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/list")
}
