package workspace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
)

// sharedBenchStore makes a shared store holding n signed keys
// (bulk-inserted, then sealed) whose signing material is in the returned
// keyring, and returns its URL.
func sharedBenchStore(b *testing.B, n int) (string, KeyringBackend) {
	b.Helper()
	u := storetest.PGDatabase(b, "kdwsmem_")
	backend := storage.NewMemoryKeyring()
	id, err := seal.NewStoreID()
	if err != nil {
		b.Fatal(err)
	}
	kr, err := storage.CreateKeyringIn(backend, id)
	if err != nil {
		b.Fatal(err)
	}
	ed, err := kr.EdSigner()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st, err := pgstore.Init(ctx, u, pgstore.InitOptions{StoreID: id, Now: benchNow})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	created := benchNow.Add(-24 * time.Hour)
	const batch = 5000
	keys := make([]*core.Key, 0, batch)
	var random [32]byte
	var kid [8]byte
	for i := range n {
		rand.Read(random[:])
		rand.Read(kid[:])
		secret := core.FormatKey(random)
		k := &core.Key{
			ID: hex.EncodeToString(kid[:]), Name: fmt.Sprintf("Bench key %d", i),
			Digest: ed.DigestSecret(secret), Hint: core.KeyHint(secret),
			Permissions: core.Permissions{Kind: core.KindOperations, Operations: []string{"messaging.channels.list"}},
			CreatedAt:   created, ExpiresAt: created.Add(time.Duration(i%365+2) * 24 * time.Hour),
		}
		k.MAC = ed.SignRecord(k.MACPayload())
		keys = append(keys, k)
		if len(keys) == batch || i == n-1 {
			if err := st.InsertKeys(keys, core.AuditEvent{Time: created, Actor: "bench", Action: core.ActionCreate}); err != nil {
				b.Fatal(err)
			}
			keys = keys[:0]
		}
	}
	if err := pgstore.Sealed(st, ed).SealFromRows(ctx); err != nil {
		b.Fatal(err)
	}
	return u, backend
}

// BenchmarkSharedWindowMemory: the heap a window's workspace on a shared
// store of 100,000 keys holds once it follows the store (the key service
// the window shows, and what following the store keeps), in bytes per key
// (heap-B/key) and in all (heap-MiB).
func BenchmarkSharedWindowMemory(b *testing.B) {
	u, backend := sharedBenchStore(b, benchKeys)
	b.ResetTimer()
	var perKey, total float64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		w, err := Open(Options{StoreURL: u, Keyring: backend, Now: benchNow})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		current := make(chan struct{})
		var once sync.Once
		done := w.Follow(ctx, func([]string) {}, func(stale bool) {
			if !stale {
				once.Do(func() { close(current) })
			}
		})
		select {
		case <-current:
		case <-time.After(2 * time.Minute):
			b.Fatal("the workspace did not follow the store within 2 minutes")
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := len(w.Service().List()); got != benchKeys {
			b.Fatalf("%d keys in the window's service, want %d", got, benchKeys)
		}
		grown := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		perKey, total = grown/benchKeys, grown/(1<<20)
		cancel()
		<-done
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perKey, "heap-B/key")
	b.ReportMetric(total, "heap-MiB")
}
