package storage

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
)

// benchCreated is when the benchmark's keys were created, and the clock
// they are loaded on: the figures never depend on the day they are taken.
var benchCreated = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// buildSignedStore writes n keys, each with a genuine record MAC, into a new
// sealed store in dir (batches of 10,000 per transaction) and closes it.
func buildSignedStore(b *testing.B, dir string, n int) *Keyring {
	b.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	kr, err := CreateKeyringIn(NewMemoryKeyring(), s.StoreID())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Seal(kr); err != nil {
		b.Fatal(err)
	}
	created := benchCreated
	const batch = 10_000
	keys := make([]*core.Key, 0, batch)
	for i := range n {
		k := keytest.Bench(i, created)
		k.MAC = kr.signer.SignRecord(k.MACPayload())
		keys = append(keys, k)
		if len(keys) == batch || i == n-1 {
			if err := s.InsertKeys(keys, core.AuditEvent{Time: created, Actor: "bench", Action: core.ActionCreate}); err != nil {
				b.Fatal(err)
			}
			keys = keys[:0]
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	return kr
}

// openSealedBench opens the store in dir and seals it with kr, as the
// window does at start.
func openSealedBench(b *testing.B, dir string, kr *Keyring) *Store {
	b.Helper()
	s, err := Open(dir, Options{MustExist: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Seal(kr); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchOpen measures opening a store of n keys as the window does: Open,
// Seal (the check of the records against the signed state) and loading
// every record into a core.Service (each record's MAC checked), after
// which the background check of the signatures starts (measured by
// BenchmarkSignatureCheck10k).
func benchOpen(b *testing.B, n int) {
	dir := filepath.Join(b.TempDir(), "data")
	kr := buildSignedStore(b, dir, n)
	for b.Loop() {
		s := openSealedBench(b, dir, kr)
		if _, err := core.NewService(s, kr.Signer(), core.FixedClock(benchCreated), nil); err != nil {
			b.Fatal(err)
		}
		s.StartSignatureCheck() // as the workspace does; Close stops it
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
}

// BenchmarkOpenLater100k measures opening a 100,000-key store as the
// window does since issue #23 (workspace.Options.CheckLater): Open and
// every record loaded into a core.NewLazyService, after which the table
// can be shown (ms/open); then, reported apart, the time until the seal
// (started in the background after the load, SealInBackground) and every
// record's MAC check have ended (ms/checked, from the start).
func BenchmarkOpenLater100k(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "data")
	kr := buildSignedStore(b, dir, 100_000)
	var opened, checked time.Duration
	for b.Loop() {
		start := time.Now()
		s, err := Open(dir, Options{MustExist: true})
		if err != nil {
			b.Fatal(err)
		}
		svc, err := core.NewLazyService(s, kr.Signer(), core.FixedClock(benchCreated), nil)
		if err != nil {
			b.Fatal(err)
		}
		opened += time.Since(start)
		s.SealInBackground(kr)
		if err := s.WaitSeal(); err != nil {
			b.Fatal(err)
		}
		svc.CheckRecords(nil)
		checked += time.Since(start)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(opened.Milliseconds())/float64(b.N), "ms/open")
	b.ReportMetric(float64(checked.Milliseconds())/float64(b.N), "ms/checked")
}

// BenchmarkOpen10k is benchOpen with 10,000 keys.
func BenchmarkOpen10k(b *testing.B) { benchOpen(b, 10_000) }

// BenchmarkOpen100k is benchOpen with 100,000 keys.
func BenchmarkOpen100k(b *testing.B) { benchOpen(b, 100_000) }

// benchSignatureCheck measures the check of the record signatures on
// 10,000 keys (Open, Seal, then the check to its end): in the background
// as the window runs it (StartSignatureCheck: all CPUs but one, yielding)
// or waited for (SignatureCheck: every CPU).
func benchSignatureCheck(b *testing.B, waited bool) {
	dir := filepath.Join(b.TempDir(), "data")
	kr := buildSignedStore(b, dir, 10_000)
	for b.Loop() {
		s := openSealedBench(b, dir, kr)
		var err error
		if waited {
			err = s.SignatureCheck()
		} else {
			s.StartSignatureCheck()
			c := s.sigs.Load()
			<-c.done
			err = c.err
		}
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/check")
}

// BenchmarkSignatureCheck10k is the background check of 10,000 keys.
func BenchmarkSignatureCheck10k(b *testing.B) { benchSignatureCheck(b, false) }

// BenchmarkSignatureCheckWaited10k is SignatureCheck on 10,000 keys.
func BenchmarkSignatureCheckWaited10k(b *testing.B) { benchSignatureCheck(b, true) }

// BenchmarkMigrate10k measures the move of a 10,000-key store of schema 4
// (unsigned records) to signed records: Open and the Seal that checks the
// state MAC and every record's MAC and signs every record, in one
// transaction.
func BenchmarkMigrate10k(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "data")
	kr := buildSignedStore(b, dir, 10_000)
	makeV4(b, dir, kr)
	v4, err := os.ReadFile(Path(dir))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		if err := os.WriteFile(Path(dir), v4, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := kr.SetGeneration(0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s := openSealedBench(b, dir, kr)
		b.StopTimer()
		if v, _ := s.Schema(); v != SchemaVersion {
			b.Fatalf("schema %d after the migration", v)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/migration")
}
