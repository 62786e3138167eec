package replica

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/server"
	"github.com/keydesk/keydesk/storage"
)

var testMaster = bytes.Repeat([]byte{0x42}, seal.MasterKeySize)

// sharedStore initialises a sealed store with n keys (bulk-inserted, then
// sealed) and returns it, its admin service and some keys' secrets.
func sharedStore(tb testing.TB, n int) (*pgstore.SealedStore, *core.Service, []string) {
	tb.Helper()
	u := storetest.PGDatabase(tb, "kdreplica_")
	ctx := context.Background()
	st, err := pgstore.Init(ctx, u, pgstore.InitOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	ed, err := seal.NewEdSigner(testMaster)
	if err != nil {
		tb.Fatal(err)
	}
	keys, secrets := makeKeys(tb, n, ed)
	for i := 0; i < len(keys); i += 5000 {
		if err := st.InsertKeys(keys[i:min(i+5000, len(keys))], core.AuditEvent{Actor: "bench", Action: core.ActionCreate}); err != nil {
			tb.Fatal(err)
		}
	}
	ss := pgstore.Sealed(st, ed)
	if err := ss.SealFromRows(ctx); err != nil {
		tb.Fatal(err)
	}
	svc, err := core.NewService(ss, ed, core.SystemClock{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return ss, svc, secrets
}

// makeKeys returns n signed records and the secrets of up to 1,024 of them.
func makeKeys(tb testing.TB, n int, signer core.Signer) ([]*core.Key, []string) {
	tb.Helper()
	svc, err := core.NewService(emptyStore{}, signer, core.SystemClock{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	plan, err := svc.Plan(core.CreateRequest{Name: "bench", Lifetime: core.Lifetime{Duration: 30 * 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindOperations, Operations: []string{"messaging.channels.list"}}}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	keys := make([]*core.Key, n)
	var secrets []string
	for i := range keys {
		secret, err := core.GenerateKey(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		var id [8]byte
		rand.Read(id[:])
		k := plan.Clone()
		k.ID = hex.EncodeToString(id[:])
		k.Name = fmt.Sprintf("bench key %d", i)
		k.Digest = signer.DigestSecret(secret)
		k.Hint = core.KeyHint(secret)
		k.MAC = signer.SignRecord(k.MACPayload())
		keys[i] = k
		if len(secrets) < 1024 && i%max(1, n/1024) == 0 {
			secrets = append(secrets, secret)
		}
	}
	return keys, secrets
}

// emptyStore is a core.Store with nothing in it (for planning records).
type emptyStore struct{ core.Store }

func (emptyStore) ListKeys() ([]*core.Key, error) { return nil, nil }

// BenchmarkPropagation: a change made by an admin (create, then delete)
// until a running replica's answer reflects it. Run with -benchtime=1000x
// for the p50/p99 over 1,000 changes (target p99 <= 1 s, aim 100 ms).
func BenchmarkPropagation(b *testing.B) {
	ss, admin, _ := sharedStore(b, 0)
	r := runReplica(b, ss, Options{})
	req := core.CreateRequest{Name: "propagated", Lifetime: core.Lifetime{Duration: 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}}}
	lat := make([]time.Duration, 0, b.N)
	var id, secret string
	b.ResetTimer()
	for i := range b.N {
		var want core.Reason
		if i%2 == 0 {
			k, s, err := admin.Create(req)
			if err != nil {
				b.Fatal(err)
			}
			id, secret, want = k.ID, s, core.ReasonOK
		} else {
			if _, err := admin.Delete(id); err != nil {
				b.Fatal(err)
			}
			want = core.ReasonUnknown
		}
		start := time.Now()
		for r.Service().Verify(secret, core.Target{}).Reason != want {
			if time.Since(start) > 5*time.Second {
				b.Fatalf("change %d did not reach the replica in 5 s", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkCreateShared: creating a key on the shared store, committed
// (target <= 20 ms).
func BenchmarkCreateShared(b *testing.B) {
	_, admin, _ := sharedStore(b, 0)
	req := core.CreateRequest{Name: "created", Lifetime: core.Lifetime{Duration: 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}}}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := admin.Create(req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/create")
}

// BenchmarkReplicaStart100k: a replica of a 100,000-key store, from
// connecting to answering (target <= 2 s), and its Go heap per key.
func BenchmarkReplicaStart100k(b *testing.B) {
	const n = 100_000
	ss, _, secrets := sharedStore(b, n)
	url := ss.Pool().Config().ConnString()
	var heap float64
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		st, err := pgstore.Open(context.Background(), url, pgstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		r, err := Open(context.Background(), st, ss.StoreID(), ss.Signer().Verifier(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if v := r.Service().Verify(secrets[0], core.Target{}); !v.Valid {
			b.Fatalf("verify after start: %v", v.Reason)
		}
		b.StopTimer()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(r)
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/start")
	b.ReportMetric(heap, "heap-B/key")
}

// BenchmarkReplicaVerifyHTTP: a replica's HTTP verify rate against `serve`
// on a local data folder, same run, same number of keys (target ratio
// >= 0.95).
func BenchmarkReplicaVerifyHTTP(b *testing.B) {
	const n = 20_000
	ss, _, rsecrets := sharedStore(b, n)
	r, err := Open(context.Background(), ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	// The local data folder as serve opens it (workspace.Open, which
	// imports this package): the bbolt store sealed with its keyring.
	kr := storage.NewMemoryKeyring()
	dir := b.TempDir()
	lst, err := storage.Open(dir, storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	lkr, err := storage.CreateKeyringIn(kr, lst.StoreID())
	if err != nil {
		b.Fatal(err)
	}
	if err := lst.Seal(lkr); err != nil {
		b.Fatal(err)
	}
	lkeys, lsecrets := makeKeys(b, n, lkr.Signer())
	for i := 0; i < len(lkeys); i += 2000 {
		if err := lst.InsertKeys(lkeys[i:min(i+2000, len(lkeys))], core.AuditEvent{Actor: "bench", Action: core.ActionCreate}); err != nil {
			b.Fatal(err)
		}
	}
	lst.Close()
	if lst, err = storage.Open(dir, storage.Options{MustExist: true}); err != nil {
		b.Fatal(err)
	}
	defer lst.Close()
	if err := lst.Seal(lkr); err != nil {
		b.Fatal(err)
	}
	local, err := core.NewService(lst, lkr.Signer(), core.SystemClock{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	quiet := server.Options{Logger: nil, FlushInterval: time.Hour}
	rate := func(h http.Handler, secrets []string, d time.Duration) float64 {
		ts := httptest.NewServer(h)
		defer ts.Close()
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		var count atomic.Int64
		stop := time.Now().Add(d)
		var wg sync.WaitGroup
		for w := range 2 * runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for i := w; time.Now().Before(stop); i++ {
					body := fmt.Sprintf(`{"key": %q}`, secrets[i%len(secrets)])
					resp, err := c.Post(ts.URL+server.PathVerify, "application/json", bytes.NewReader([]byte(body)))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					count.Add(1)
				}
			})
		}
		wg.Wait()
		return float64(count.Load()) / d.Seconds()
	}
	// Steady state: each key's signature is checked at its first
	// verification on the replica (and last uses are pending on both).
	for i := range rsecrets {
		r.Service().Verify(rsecrets[i], core.Target{})
		local.Verify(lsecrets[i], core.Target{})
	}
	rs := server.New(r.Service(), quiet)
	ls := server.New(local, quiet)
	var rr, lr float64
	const rounds = 12
	for range rounds {
		lr += rate(ls, lsecrets, 200*time.Millisecond)
		rr += rate(rs, rsecrets, 200*time.Millisecond)
	}
	b.ReportMetric(rr/rounds, "replica-req/s")
	b.ReportMetric(lr/rounds, "local-req/s")
	b.ReportMetric(rr/lr, "replica/local")
}

// BenchmarkRollPropagation: a roll with grace 0 made by an admin until a
// running replica refuses the old key and accepts the new one (the rule: a
// rolled key stops verifying on every replica within 1 s). Run with
// -benchtime=200x for the p50/p99 over 200 rolls.
func BenchmarkRollPropagation(b *testing.B) {
	ss, admin, _ := sharedStore(b, 0)
	r := runReplica(b, ss, Options{})
	req := core.CreateRequest{Name: "rolled", Lifetime: core.Lifetime{Duration: 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}}}
	verify := func(secret string) core.Reason { return r.Service().Verify(secret, core.Target{}).Reason }
	waitFor := func(i int, cond func() bool) time.Duration {
		start := time.Now()
		for !cond() {
			if time.Since(start) > 5*time.Second {
				b.Fatalf("roll %d did not reach the replica in 5 s", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
		return time.Since(start)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		k, oldSecret, err := admin.Create(req)
		if err != nil {
			b.Fatal(err)
		}
		waitFor(i, func() bool { return verify(oldSecret) == core.ReasonOK })
		b.StartTimer()
		rolled, err := admin.Roll(k.ID, 0)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, waitFor(i, func() bool {
			return verify(oldSecret) == core.ReasonExpired && verify(rolled.Secret) == core.ReasonOK
		}))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}
