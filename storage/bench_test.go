package storage

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
)

// benchKey returns a record shaped like a real one (32-byte digest and MAC,
// one section, its scope) with a random id.
func benchKey(b *testing.B, i int, created time.Time) *core.Key {
	b.Helper()
	var id [8]byte
	digest, mac := make([]byte, 32), make([]byte, 32)
	rand.Read(id[:])
	rand.Read(digest)
	rand.Read(mac)
	return &core.Key{
		ID:          hex.EncodeToString(id[:]),
		Name:        fmt.Sprintf("Bench key %d", i),
		Digest:      digest,
		Hint:        "kdk_live_ab…wxyz",
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessFull}},
		Scopes:      []string{"messaging:*"},
		CreatedAt:   created,
		ExpiresAt:   created.Add(time.Duration(i%365+2) * 24 * time.Hour),
		MAC:         mac,
	}
}

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
		keys = append(keys, benchKey(b, i, created))
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
