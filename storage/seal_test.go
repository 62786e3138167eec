package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	bolt "go.etcd.io/bbolt"
)

// sealedWithKeys opens a sealed store and creates n keys through a service
// signing with the keyring's signer; it returns the keys and their secrets.
func sealedWithKeys(t *testing.T, backend KeyringBackend, n int) (*Store, *Keyring, string, []*core.Key, []string) {
	t.Helper()
	s, kr, dir := openSealedIn(t, backend)
	svc, err := core.NewService(s, kr.Signer(), core.FixedClock(t0), nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []*core.Key
	var secrets []string
	for i := range n {
		k, secret := keytest.Create(t, svc, keytest.SectionRequest("key "+string(rune('A'+i))))
		keys, secrets = append(keys, k), append(secrets, secret)
	}
	return s, kr, dir, keys, secrets
}

// reseal opens dir again and seals it with kr, as the app does at start.
func reseal(t *testing.T, dir string, kr *Keyring) (*Store, error) {
	t.Helper()
	s, err := Open(dir, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(kr); err != nil {
		s.Close()
		return nil, err
	}
	checkOnCleanup(t, s)
	return s, nil
}

// verifyAfterOpen opens dir the way the app does (Open, Seal, then a
// service over the records) and verifies secret; it returns the open error
// or the verification reason, and closes the store.
func verifyAfterOpen(t *testing.T, dir string, kr *Keyring, secret string) (core.Reason, error) {
	t.Helper()
	s, err := reseal(t, dir, kr)
	if err != nil {
		return "", err
	}
	defer s.Close()
	svc, err := core.NewService(s, kr.Signer(), core.FixedClock(t0.Add(time.Hour)), nil)
	if err != nil {
		return "", err
	}
	return svc.Verify(secret, core.Target{Scope: "messaging:read"}).Reason, nil
}

// deleteKeepingBytes deletes key k through the store and returns the bytes
// of its record and index entries as they were, which bbolt leaves in the
// file's freed pages for anyone to copy back.
func deleteKeepingBytes(t *testing.T, s *Store, dir string, k *core.Key) (rec []byte) {
	t.Helper()
	raw, err := s.GetKey(k.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec = encodeKey(raw)
	if err := s.DeleteKey(k.ID, event(core.ActionDelete, k.ID)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(file, rec) {
		t.Logf("the deleted record's %d bytes are still in the file", len(rec))
	}
	return rec
}

// TestRevivedRecordNeverVerifies writes a deleted key's record back, with
// its index entries, as an editor of keydesk.db can: under its own id it
// must fail the open with ErrTampered (the set of records no longer matches
// the signed state), under another id with ErrCorrupt (a record is only
// valid under its own id), and the key must never verify.
func TestRevivedRecordNeverVerifies(t *testing.T) {
	for _, where := range []string{"own id", "new id", "live key's id"} {
		t.Run(where, func(t *testing.T) {
			s, kr, dir, keys, secrets := sealedWithKeys(t, NewMemoryKeyring(), 3)
			dead := keys[0]
			rec := deleteKeepingBytes(t, s, dir, dead)
			id := dead.ID
			switch where {
			case "new id":
				id = "0123456789abcdef"
			case "live key's id":
				id = keys[1].ID
			}
			rawUpdate(t, dir, func(tx *bolt.Tx) error {
				if id == keys[1].ID {
					if err := tx.Bucket(bucketDigest).Delete(keys[1].Digest); err != nil {
						return err
					}
					if err := tx.Bucket(bucketExpiry).Delete(expiryKey(keys[1].ExpiresAt, keys[1].ID)); err != nil {
						return err
					}
				}
				if err := tx.Bucket(bucketKeys).Put([]byte(id), rec); err != nil {
					return err
				}
				if err := tx.Bucket(bucketDigest).Put(dead.Digest, []byte(id)); err != nil {
					return err
				}
				return tx.Bucket(bucketExpiry).Put(expiryKey(dead.ExpiresAt, id), nil)
			})
			reason, err := verifyAfterOpen(t, dir, kr, secrets[0])
			want := ErrTampered
			if where != "own id" {
				want = ErrCorrupt
			}
			if !errors.Is(err, want) {
				t.Fatalf("open after reviving the record under its %s = %v (verify: %q), want %v", where, err, reason, want)
			}
			if strings.Count(err.Error(), "\n") != 0 || len(err.Error()) > 200 {
				t.Fatalf("error is not one short sentence: %q", err)
			}
		})
	}
}

// TestRevivedRecordFailsTheLoaderUnsealed checks the record binding on its
// own: even a store never sealed refuses to load a record stored under
// another record's id.
func TestRevivedRecordFailsTheLoaderUnsealed(t *testing.T) {
	s, dir := openStore(t)
	svc := newService(t, s, t0)
	a, _ := keytest.Create(t, svc, keytest.SectionRequest("a"))
	b, _ := keytest.Create(t, svc, keytest.SectionRequest("b"))
	rec := deleteKeepingBytes(t, s, dir, a)
	rawUpdate(t, dir, func(tx *bolt.Tx) error { return tx.Bucket(bucketKeys).Put([]byte(b.ID), rec) })
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.ListKeys(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ListKeys = %v, want ErrCorrupt", err)
	}
	if _, err := s2.GetKey(b.ID); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("GetKey = %v, want ErrCorrupt", err)
	}
}

// TestRemovedOrReplacedRecordRefused removes a live record (with its index
// entries), and replaces one with an older signed version of itself: both
// change the set of records, so the open fails with ErrTampered.
func TestRemovedOrReplacedRecordRefused(t *testing.T) {
	t.Run("removed", func(t *testing.T) {
		s, kr, dir, keys, _ := sealedWithKeys(t, NewMemoryKeyring(), 2)
		s.Close()
		k := keys[1]
		rawUpdate(t, dir, func(tx *bolt.Tx) error {
			tx.Bucket(bucketDigest).Delete(k.Digest)
			tx.Bucket(bucketExpiry).Delete(expiryKey(k.ExpiresAt, k.ID))
			return tx.Bucket(bucketKeys).Delete([]byte(k.ID))
		})
		if _, err := reseal(t, dir, kr); !errors.Is(err, ErrTampered) {
			t.Fatalf("Seal = %v, want ErrTampered", err)
		}
	})
	t.Run("older version", func(t *testing.T) {
		s, kr, dir, keys, _ := sealedWithKeys(t, NewMemoryKeyring(), 1)
		old := encodeKey(keys[0])
		svc, err := core.NewService(s, kr.Signer(), core.FixedClock(t0), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Rename(keys[0].ID, "renamed"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		rawUpdate(t, dir, func(tx *bolt.Tx) error { return tx.Bucket(bucketKeys).Put([]byte(keys[0].ID), old) })
		if _, err := reseal(t, dir, kr); !errors.Is(err, ErrTampered) {
			t.Fatalf("Seal = %v, want ErrTampered", err)
		}
	})
}

// TestStateMACRemovedRefused removes the state MAC, alone and together with
// a schema downgrade that would run the migration again: once the keyring
// holds a generation, a store without its MAC is refused.
func TestStateMACRemovedRefused(t *testing.T) {
	for _, downgrade := range []bool{false, true} {
		s, kr, dir, _, _ := sealedWithKeys(t, NewMemoryKeyring(), 1)
		s.Close()
		rawUpdate(t, dir, func(tx *bolt.Tx) error {
			m := tx.Bucket(bucketMeta)
			if downgrade {
				m.Put(metaSchema, []byte{0, 0, 0, 0, 0, 0, 0, 2})
			}
			return m.Delete(metaStateMAC)
		})
		if _, err := reseal(t, dir, kr); !errors.Is(err, ErrTampered) {
			t.Fatalf("downgrade %v: Seal = %v, want ErrTampered", downgrade, err)
		}
	}
}

// forEachBackend runs test with the generation kept in memory and, under
// a Secret Service (requireKeyring), in the real OS keyring.
func forEachBackend(t *testing.T, test func(t *testing.T, backend KeyringBackend)) {
	t.Run("memory", func(t *testing.T) { test(t, NewMemoryKeyring()) })
	t.Run("os-keyring", func(t *testing.T) {
		keytest.RequireKeyring(t)
		test(t, OSKeyring(0))
	})
}

// TestOlderCopyOfFileRefused puts back a copy of keydesk.db taken before a
// key was deleted: its state MAC is genuine, but its generation is behind
// the keyring's, so the open fails with ErrRolledBack and the deleted key
// does not verify.
func TestOlderCopyOfFileRefused(t *testing.T) {
	forEachBackend(t, testOlderCopyRefused)
}

func testOlderCopyRefused(t *testing.T, backend KeyringBackend) {
	s, kr, dir, keys, secrets := sealedWithKeys(t, backend, 2)
	// A copy of the file as it is now (bbolt's own consistent copy, as a
	// backup tool would take it).
	backup := dir + "/backup.db"
	if err := s.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(backup, 0o600) }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKey(keys[0].ID, event(core.ActionDelete, keys[0].ID)); err != nil {
		t.Fatal(err)
	}
	gen, err := s.Generation()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FlushGeneration(); err != nil {
		t.Fatal(err)
	}
	if kgen, ok, err := kr.Generation(); err != nil || !ok || kgen != gen {
		t.Fatalf("keyring generation after the delete = %d, %v, %v; want %d", kgen, ok, err, gen)
	}
	s.Close()
	if err := os.Rename(backup, Path(dir)); err != nil {
		t.Fatal(err)
	}
	reason, err := verifyAfterOpen(t, dir, kr, secrets[0])
	if !errors.Is(err, ErrRolledBack) {
		t.Fatalf("open of the older copy = %v (verify: %q), want ErrRolledBack", err, reason)
	}
	// A restore moves the keyring's generation with it: then it opens.
	s2, err := Open(dir, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := s2.Generation()
	s2.Close()
	if err := kr.SetGeneration(old); err != nil {
		t.Fatal(err)
	}
	if reason, err := verifyAfterOpen(t, dir, kr, secrets[1]); err != nil || reason != core.ReasonOK {
		t.Fatalf("after moving the keyring's generation: %q, %v", reason, err)
	}
}

// TestFileAheadOfKeyringAccepted is the state a crash between a commit and
// the keyring write leaves: the file's generation is ahead of the
// keyring's. Seal accepts it and brings the keyring up to date.
func TestFileAheadOfKeyringAccepted(t *testing.T) {
	forEachBackend(t, testFileAheadAccepted)
}

func testFileAheadAccepted(t *testing.T, backend KeyringBackend) {
	s, kr, dir, _, secrets := sealedWithKeys(t, backend, 2)
	gen, _ := s.Generation()
	s.Close()
	if err := kr.SetGeneration(gen - 2); err != nil {
		t.Fatal(err)
	}
	if reason, err := verifyAfterOpen(t, dir, kr, secrets[1]); err != nil || reason != core.ReasonOK {
		t.Fatalf("file ahead of the keyring: %q, %v; want ok", reason, err)
	}
	if kgen, ok, err := kr.Generation(); err != nil || !ok || kgen != gen {
		t.Fatalf("keyring generation = %d, %v, %v; want %d", kgen, ok, err, gen)
	}
	// No generation in the keyring at all (a crash before the first
	// keyring write) is accepted the same way.
	if err := backend.Delete(generationUser(kr.StoreID())); err != nil {
		t.Fatal(err)
	}
	if _, err := verifyAfterOpen(t, dir, kr, secrets[1]); err != nil {
		t.Fatalf("no generation in the keyring: %v", err)
	}
}

// TestGenerationAdvances checks which changes advance the generation and
// mirror it: every change but a last-used write.
func TestGenerationAdvances(t *testing.T) {
	s, kr, _, keys, _ := sealedWithKeys(t, NewMemoryKeyring(), 1)
	gen := func() uint64 {
		t.Helper()
		if err := s.FlushGeneration(); err != nil {
			t.Fatal(err)
		}
		g, err := s.Generation()
		if err != nil {
			t.Fatal(err)
		}
		if kg, _, _ := kr.Generation(); kg != g {
			t.Fatalf("keyring generation %d, file %d", kg, g)
		}
		return g
	}
	g := gen()
	for name, change := range map[string]func() error{
		"setting":  func() error { return s.PutSetting("x", []byte("1"), event(core.ActionSettingsChanged, "")) },
		"audit":    func() error { return s.AppendAudit(event(core.ActionSettingsChanged, "")) },
		"slot":     func() error { return s.MarkSlotDelivered(t0, event(core.ActionSettingsChanged, "")) },
		"delete":   func() error { return s.DeleteKey(keys[0].ID, event(core.ActionDelete, keys[0].ID)) },
		"insert":   func() error { return s.InsertKey(keytest.Key("k2", t0), event(core.ActionCreate, "k2")) },
		"lastused": func() error { return s.SetLastUsed(map[string]time.Time{"k2": t0}) },
	} {
		if err := change(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := g + 1
		if name == "lastused" {
			want = g
		}
		if g = gen(); g != want {
			t.Fatalf("%s: generation %d, want %d", name, g, want)
		}
	}
}

// TestSealedStoreReadOnlyWithoutKey opens a sealed store without sealing
// it: reading works, changing fails with ErrReadOnly and writes nothing.
func TestSealedStoreReadOnlyWithoutKey(t *testing.T) {
	s, _, dir, keys, _ := sealedWithKeys(t, NewMemoryKeyring(), 1)
	s.Close()
	s2, err := Open(dir, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.ListKeys(); err != nil {
		t.Fatal(err)
	}
	before, _ := s2.Generation()
	if err := s2.DeleteKey(keys[0].ID, event(core.ActionDelete, keys[0].ID)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("DeleteKey on an unsealed sealed store = %v, want ErrReadOnly", err)
	}
	if err := s2.AppendAudit(event(core.ActionSettingsChanged, "")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("AppendAudit = %v, want ErrReadOnly", err)
	}
	if after, _ := s2.Generation(); after != before {
		t.Fatal("a refused change advanced the generation")
	}
	if _, err := s2.GetKey(keys[0].ID); err != nil {
		t.Fatalf("the refused delete removed the key: %v", err)
	}
}

// TestSealMigratesUnsealedStore seals a store written without the signing
// material (as before schema v3): the first Seal writes its state MAC, and
// the next open checks it.
func TestSealMigratesUnsealedStore(t *testing.T) {
	s, dir := openStore(t)
	svc := newService(t, s, t0)
	keytest.Create(t, svc, keytest.SectionRequest("before the upgrade"))
	s.Close()
	kr, err := CreateKeyringIn(NewMemoryKeyring(), s.StoreID())
	if err != nil {
		t.Fatal(err)
	}
	s2, err := reseal(t, dir, kr)
	if err != nil {
		t.Fatalf("first Seal: %v", err)
	}
	if _, _, err := newService(t, s2, t0).Create(keytest.SectionRequest("after")); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if _, err := reseal(t, dir, kr); err != nil {
		t.Fatalf("second Seal: %v", err)
	}
}

// TestConcurrentChangesKeepTheSealedState creates, renames and deletes keys
// and writes settings from several goroutines on a sealed store (run with
// -race): the state the store tracks stays the one its records give, and
// the store opens again.
func TestConcurrentChangesKeepTheSealedState(t *testing.T) {
	s, kr, dir, _, _ := sealedWithKeys(t, NewMemoryKeyring(), 0)
	svc, err := core.NewService(s, kr.Signer(), core.FixedClock(t0), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				k, _, err := svc.Create(keytest.SectionRequest(fmt.Sprintf("g%d k%d", g, i)))
				if err != nil {
					t.Error(err)
					return
				}
				switch i % 3 {
				case 0:
					_, err = svc.Delete(k.ID)
				case 1:
					_, err = svc.Rename(k.ID, "renamed")
				default:
					err = s.PutSetting(fmt.Sprintf("g%d", g), []byte{byte(i)}, event(core.ActionSettingsChanged, ""))
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := checkSealState(s); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := reseal(t, dir, kr); err != nil {
		t.Fatalf("reopen after concurrent changes: %v", err)
	}
}

// TestSealMigratesSchemaV2 opens a schema v2 store (no generation, no state
// MAC, as the previous release wrote it): Open moves it to v3 and the first
// Seal signs its state; its keys still verify.
func TestSealMigratesSchemaV2(t *testing.T) {
	s, dir := openStore(t)
	svc := newService(t, s, t0)
	_, secret := keytest.Create(t, svc, keytest.SectionRequest("written by v2"))
	s.Close()
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if err := m.Delete(metaGeneration); err != nil {
			return err
		}
		return m.Put(metaSchema, []byte{0, 0, 0, 0, 0, 0, 0, 2})
	})
	kr, err := CreateKeyringIn(NewMemoryKeyring(), s.StoreID())
	if err != nil {
		t.Fatal(err)
	}
	kr.signer = testSigner(t) // the v2 records were signed with testMaster
	reason, err := verifyAfterOpen(t, dir, kr, secret)
	if err != nil || reason != core.ReasonOK {
		t.Fatalf("v2 store after migration: %q, %v", reason, err)
	}
	s2, err := Open(dir, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if v, _ := s2.Schema(); v != SchemaVersion {
		t.Fatalf("schema %d, want %d", v, SchemaVersion)
	}
	if _, ok, _ := kr.Generation(); !ok {
		t.Fatal("the first Seal did not record the generation in the keyring")
	}
	if err := s2.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(metaStateMAC) == nil {
			return errors.New("no state MAC after the first Seal")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
