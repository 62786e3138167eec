package storage

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
	bolt "go.etcd.io/bbolt"
)

// schema5Fixture is a data folder as the build before the LtHash set
// digest left it (schema 5, XOR digest): store 5eed…a5 created at t0 with
// the master key testMaster; keys "Billing sync (prod)" (rolled, so also
// its successor), "Nightly export" renamed to "Nightly export (eu)", and
// "Old partner" deleted. Its generation is 6.
const (
	schema5Fixture = "testdata/schema5/keydesk.db"
	schema5StoreID = "5eed00000000000000000000000000a5"
	schema5Gen     = 6
)

// schema5Folder copies the fixture into a fresh data folder and returns it
// with a keyring holding the fixture's master key and generation, as the
// previous build left them.
func schema5Folder(t *testing.T) (string, *Keyring) {
	return fixtureFolder(t, schema5Fixture, schema5StoreID, schema5Gen)
}

// fixtureFolder copies the data file fixture into a fresh data folder and
// returns it with a keyring holding the master key testMaster for store
// storeID and the generation gen, as the build that wrote it left them.
func fixtureFolder(t *testing.T, fixture, storeID string, gen uint64) (string, *Keyring) {
	t.Helper()
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(Path(dir), data, 0o600); err != nil {
		t.Fatal(err)
	}
	backend := NewMemoryKeyring()
	if err := backend.Set(masterUser(storeID), base64.StdEncoding.EncodeToString(testMaster)); err != nil {
		t.Fatal(err)
	}
	kr, err := OpenKeyringIn(backend, storeID)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.SetGeneration(gen); err != nil {
		t.Fatal(err)
	}
	return dir, kr
}

// TestSealMigratesSchema5Folder opens a data folder of the previous schema:
// Seal checks its XOR state MAC once, then moves it to the current schema
// (the LtHash digest, and the catalog's) in one transaction, with the generation advanced (keyring too);
// the keys load unchanged, untampered and signed.
func TestSealMigratesSchema5Folder(t *testing.T) {
	dir, kr := schema5Folder(t)
	if v := schemaOfFile(t, dir); v != 5 {
		t.Fatalf("the fixture is at schema %d, want 5", v)
	}
	s, err := reseal(t, dir, kr)
	if err != nil {
		t.Fatalf("Seal of a schema 5 folder: %v", err)
	}
	if v, _ := s.Schema(); v != SchemaVersion {
		t.Fatalf("schema after Seal %d, want %d", v, SchemaVersion)
	}
	if g, _ := s.Generation(); g != schema5Gen+1 {
		t.Fatalf("generation after the move %d, want %d", g, schema5Gen+1)
	}
	if g, ok, err := kr.Generation(); err != nil || !ok || g != schema5Gen+1 {
		t.Fatalf("keyring generation %d, %v, %v; want %d", g, ok, err, schema5Gen+1)
	}
	keys, err := s.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, k := range keys {
		if !kr.Signer().VerifyRecord(k.MACPayload(), k.MAC) {
			t.Errorf("key %s does not check out after the move", k.ID)
		}
		names[k.Name]++
	}
	if len(keys) != 3 || names["Billing sync (prod)"] != 2 || names["Nightly export (eu)"] != 1 {
		t.Fatalf("keys after the move: %v", names)
	}
	if err := s.SignatureCheck(); err != nil {
		t.Fatalf("SignatureCheck after the move: %v", err)
	}
	if err := checkSealState(s); err != nil {
		t.Fatal(err)
	}
	// The store takes changes and opens again.
	svc, err := core.NewService(s, kr.Signer(), core.FixedClock(t0.Add(2*time.Hour)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rename(keys[0].ID, "renamed after the move"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := reseal(t, dir, kr)
	if err != nil {
		t.Fatalf("reopen after the move: %v", err)
	}
	s2.Close()
}

// TestDigestDowngradeRefused: once a store has moved past schema 5, neither a
// schema set back to 5 in the file (its current state MAC then checked as a
// v5 one) nor the schema 5 copy of the file from before the move (older
// than the keyring's generation) opens; and a schema 5 folder whose
// records do not match its XOR state is refused, not moved.
func TestDigestDowngradeRefused(t *testing.T) {
	dir, kr := schema5Folder(t)
	v5, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	s, err := reseal(t, dir, kr)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	rawUpdate(t, dir, func(tx *bolt.Tx) error { setSchema(t, tx, 5); return nil })
	if _, err := reseal(t, dir, kr); !errors.Is(err, ErrTampered) {
		t.Fatalf("Seal of a moved file set back to schema 5 = %v, want ErrTampered", err)
	}
	if err := os.WriteFile(Path(dir), v5, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := reseal(t, dir, kr); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("Seal of the schema 5 copy from before the move = %v, want ErrRolledBack", err)
	}

	// A schema 5 folder with a record's signature swapped for another's:
	// its XOR state no longer matches, and nothing is moved.
	dir2, kr2 := schema5Folder(t)
	rawUpdate(t, dir2, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		var ids [][]byte
		var sigs [][]byte
		if err := b.ForEach(func(id, v []byte) error {
			_, sig, err := seal.DecodeRecordAt(id, v)
			ids, sigs = append(ids, append([]byte{}, id...)), append(sigs, append([]byte{}, sig...))
			return err
		}); err != nil {
			return err
		}
		k, _, err := seal.DecodeRecordAt(ids[0], b.Get(ids[0]))
		if err != nil {
			return err
		}
		return b.Put(ids[0], seal.EncodeSignedRecord(k, sigs[1]))
	})
	if _, err := reseal(t, dir2, kr2); !errors.Is(err, ErrTampered) {
		t.Fatalf("Seal of a tampered schema 5 folder = %v, want ErrTampered", err)
	}
	if v := schemaOfFile(t, dir2); v != 5 {
		t.Fatalf("a refused move left schema %d, want 5", v)
	}
}

// schemaOfFile reads the schema version of the closed store in dir.
func schemaOfFile(t *testing.T, dir string) uint64 {
	t.Helper()
	var v uint64
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		v = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(metaSchema))
		return nil
	})
	return v
}
