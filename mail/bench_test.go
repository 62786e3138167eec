package mail_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
)

// benchKeys is the number of keys in the benchmark store: the 100,000 keys
// the performance targets are set for.
const benchKeys = 100_000

// benchStore builds a real bbolt store with benchKeys records whose expiries
// are spread evenly over one year at random times of day (about 2,200 keys
// fall in a slot's 8-day window), in batches of 10,000 per transaction.
func benchStore(b *testing.B, signer core.Signer) (*storage.Store, time.Time) {
	b.Helper()
	st := storetest.OpenBbolt(b, b.TempDir())
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 10_000
	keys := make([]*core.Key, 0, batch)
	for i := range benchKeys {
		exp := start.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Second)
		k := &core.Key{
			ID:          fmt.Sprintf("%016x", i+1),
			Name:        fmt.Sprintf("Bench key %d", i),
			Digest:      []byte(fmt.Sprintf("digest-%032d", i)),
			Hint:        fmt.Sprintf("kdk_%03d", i%1000),
			Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessFull}},
			Scopes:      []string{"messaging:*"},
			CreatedAt:   exp.Add(-180 * 24 * time.Hour),
			ExpiresAt:   exp,
		}
		k.MAC = signer.SignRecord(k.MACPayload())
		keys = append(keys, k)
		if len(keys) == batch {
			if err := st.InsertKeys(keys, core.AuditEvent{Time: start, Actor: "bench", Action: core.ActionCreate, Detail: "bench batch"}); err != nil {
				b.Fatal(err)
			}
			keys = keys[:0]
		}
	}
	return st, start
}

// scanDigest is the baseline: read every record and filter by expiry.
func scanDigest(st core.Store, slot time.Time) (expired, expiring int, err error) {
	all, err := st.ListKeys()
	if err != nil {
		return 0, 0, err
	}
	since, until := slot.Add(-24*time.Hour), slot.Add(core.DigestLookahead)
	for _, k := range all {
		switch {
		case k.ExpiresAt.After(since) && !k.ExpiresAt.After(slot):
			expired++
		case k.ExpiresAt.After(slot) && !k.ExpiresAt.After(until):
			expiring++
		}
	}
	return expired, expiring, nil
}

// BenchmarkDigestSelection selects a slot's keys the way Keydesk does
// (core.Service.SelectDigest: ids from the bbolt expiry index, records from
// the service's memory) and, in the same run, by a full scan (ListKeys and a
// filter) and through the store's records (core.SelectDigest: index range
// plus reading and decoding each record in the window). It reports ms per
// selection (target ≤ 5 ms for 100,000 keys), the scan/index ratio and the keys per
// digest, and fails over 5 ms.
func BenchmarkDigestSelection(b *testing.B) {
	signer, err := seal.NewSigner(make([]byte, seal.MasterKeySize))
	if err != nil {
		b.Fatal(err)
	}
	st, start := benchStore(b, signer)
	svc, err := core.NewService(st, signer, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	slotAt := func(i int) time.Time {
		return start.Add(time.Duration(30+i%300)*24*time.Hour + core.DigestHour*time.Hour)
	}
	// Every way must agree before they are timed.
	for i := range 5 {
		d, err := svc.SelectDigest(slotAt(i*37), time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		ds, err := core.SelectDigest(st, slotAt(i*37), time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		ex, soon, err := scanDigest(st, slotAt(i*37))
		if err != nil {
			b.Fatal(err)
		}
		if ex != len(d.Expired) || soon != len(d.Expiring) || ex != len(ds.Expired) || soon != len(ds.Expiring) {
			b.Fatalf("service selected %d+%d keys, store %d+%d, scan %d+%d",
				len(d.Expired), len(d.Expiring), len(ds.Expired), len(ds.Expiring), ex, soon)
		}
	}
	perRun := func(runs int, f func(i int) error) time.Duration {
		t0 := time.Now()
		for i := range runs {
			if err := f(i); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(t0) / time.Duration(runs)
	}
	scanPer := perRun(5, func(i int) error { _, _, err := scanDigest(st, slotAt(i)); return err })
	storePer := perRun(20, func(i int) error { _, err := core.SelectDigest(st, slotAt(i), time.Time{}); return err })

	b.ResetTimer()
	i, keysSeen := 0, 0
	for b.Loop() {
		d, err := svc.SelectDigest(slotAt(i), time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		keysSeen += len(d.Expired) + len(d.Expiring)
		i++
	}
	b.StopTimer()
	indexPer := b.Elapsed() / time.Duration(i)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(indexPer), "ms/select")
	b.ReportMetric(ms(scanPer), "ms/scan")
	b.ReportMetric(ms(storePer), "ms/store-select")
	b.ReportMetric(float64(scanPer)/float64(indexPer), "scan/index")
	b.ReportMetric(float64(keysSeen)/float64(i), "keys/digest")
	if ms(indexPer) > 5 {
		b.Errorf("selecting a slot's keys took %.2f ms, target ≤ 5 ms", ms(indexPer))
	}
}
