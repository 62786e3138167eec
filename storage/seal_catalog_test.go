package storage

import (
	"crypto/sha256"
	"errors"
	"os"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	bolt "go.etcd.io/bbolt"
)

// sealedRefund is the stored form of keytest.RefundCatalog(in, version)
// signed with kr's key, as catalog import writes it.
func sealedRefund(t *testing.T, kr *Keyring, in, version string) []byte {
	t.Helper()
	v, err := core.SealCatalog(keytest.RefundCatalog(t, in, version), kr.Signer())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// putCatalog stores value (nil: a reset) as the store's catalog.
func putCatalog(t *testing.T, s *Store, value []byte) {
	t.Helper()
	action := core.ActionCatalogImport
	if value == nil {
		action = core.ActionCatalogReset
	}
	if err := s.PutSetting(core.CatalogSetting, value, core.AuditEvent{Time: t0, Actor: "admin", Action: action}); err != nil {
		t.Fatal(err)
	}
}

// writeBackCatalog edits the closed store in dir as someone who can write
// the file but holds no key: the catalog setting becomes value (nil:
// removed) and, when digest is set, the catalog digest in the meta bucket
// becomes it.
func writeBackCatalog(t *testing.T, dir string, value, digest []byte) {
	t.Helper()
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		var err error
		if value == nil {
			err = tx.Bucket(bucketSettings).Delete([]byte(core.CatalogSetting))
		} else {
			err = tx.Bucket(bucketSettings).Put([]byte(core.CatalogSetting), value)
		}
		if err != nil || digest == nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put([]byte("catalog_digest"), digest)
	})
}

// catalogVersion reads the store's catalog as the workspace does
// (core.StoredCatalog) and returns its version.
func catalogVersion(s *Store, kr *Keyring) (string, error) {
	c, err := core.StoredCatalog(s, kr.Signer())
	if err != nil {
		return "", err
	}
	return c.Version, nil
}

// refundStore is a sealed store whose catalog an admin moved "refund" out
// of section orders in (imported with it in orders, version 1, then in
// payments, version 2), closed; it returns the first import's setting and
// a copy of the file.
func refundStore(t *testing.T) (kr *Keyring, dir string, v1, file []byte) {
	t.Helper()
	s, kr, dir := openSealedIn(t, NewMemoryKeyring())
	v1 = sealedRefund(t, kr, "orders", "1")
	putCatalog(t, s, v1)
	putCatalog(t, s, sealedRefund(t, kr, "payments", "2"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	return kr, dir, v1, file
}

// TestWrittenBackCatalogRefused: someone who can edit the file puts back
// the catalog an admin replaced (validly signed with the folder's key, but
// older: refund is back in orders), or removes it. The store still opens
// (so that catalog import and reset can put it right), but the catalog is
// not handed out, after the check or before it (a window reads it first):
// ErrCatalogMismatch, which is also core.ErrCatalogForged. With the digest
// in the file changed to match, the store's check fails as tampered.
func TestWrittenBackCatalogRefused(t *testing.T) {
	kr, dir, v1, good := refundStore(t)
	restore := func() {
		t.Helper()
		if err := os.WriteFile(Path(dir), good, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(what string) {
		t.Helper()
		// Read before the check, as a window opened with CheckLater does.
		s, err := Open(dir, Options{MustExist: true})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := catalogVersion(s, kr); !errors.Is(err, ErrCatalogMismatch) || !errors.Is(err, core.ErrCatalogForged) {
			t.Errorf("%s, read before the check: catalog %q, %v; want ErrCatalogMismatch", what, v, err)
		}
		s.Close()
		s, err = reseal(t, dir, kr)
		if err != nil {
			t.Fatalf("%s: Seal = %v; the keys are intact, so the store opens", what, err)
		}
		if v, err := catalogVersion(s, kr); !errors.Is(err, ErrCatalogMismatch) || !errors.Is(err, core.ErrCatalogForged) {
			t.Errorf("%s, read after the check: catalog %q, %v; want ErrCatalogMismatch", what, v, err)
		}
		s.Close()
	}

	writeBackCatalog(t, dir, v1, nil)
	refused("the older catalog written back")
	restore()
	writeBackCatalog(t, dir, nil, nil)
	refused("the catalog removed")

	// The older catalog and its digest: the state MAC no longer matches.
	restore()
	sum := sha256.Sum256(v1)
	writeBackCatalog(t, dir, v1, sum[:])
	s, err := Open(dir, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(kr); !errors.Is(err, ErrTampered) {
		t.Errorf("Seal with the older catalog and its digest written back = %v, want ErrTampered", err)
	}
	s.Close()
	restore()
	writeBackCatalog(t, dir, nil, make([]byte, sha256.Size))
	if _, err := reseal(t, dir, kr); !errors.Is(err, ErrTampered) {
		t.Errorf("Seal with the catalog and its digest removed = %v, want ErrTampered", err)
	}
}

// TestWrittenBackCatalogPutRight: on a store whose catalog was written
// back, an import or a reset (which open the store without reading the
// catalog) is accepted and puts it right, across reopening.
func TestWrittenBackCatalogPutRight(t *testing.T) {
	kr, dir, v1, _ := refundStore(t)
	writeBackCatalog(t, dir, v1, nil)
	s, err := reseal(t, dir, kr)
	if err != nil {
		t.Fatal(err)
	}
	putCatalog(t, s, sealedRefund(t, kr, "payments", "3"))
	if v, err := catalogVersion(s, kr); err != nil || v != "3" {
		t.Fatalf("after the import: catalog %q, %v", v, err)
	}
	s.Close()
	s, err = reseal(t, dir, kr)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := catalogVersion(s, kr); err != nil || v != "3" {
		t.Fatalf("reopened after the import: catalog %q, %v", v, err)
	}
	s.Close()

	writeBackCatalog(t, dir, v1, nil)
	s, err = reseal(t, dir, kr)
	if err != nil {
		t.Fatal(err)
	}
	putCatalog(t, s, nil)
	s.Close()
	s, err = reseal(t, dir, kr)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := core.StoredCatalog(s, kr.Signer()); err != nil || c.Imported() {
		t.Fatalf("reopened after the reset: %v, %v; want the embedded catalog", c, err)
	}
}

// TestCatalogImportAndResetSurviveReopen: each import and reset is
// accepted and read back, by the same store and after reopening (the
// state MAC checked at each open names the catalog stored last).
func TestCatalogImportAndResetSurviveReopen(t *testing.T) {
	s, kr, dir := openSealedIn(t, NewMemoryKeyring())
	for _, step := range []struct {
		value   []byte
		version string
	}{
		{sealedRefund(t, kr, "orders", "1"), "1"},
		{sealedRefund(t, kr, "payments", "2"), "2"},
		{nil, core.DefaultCatalog().Version},
		{sealedRefund(t, kr, "orders", "4"), "4"},
	} {
		putCatalog(t, s, step.value)
		if v, err := catalogVersion(s, kr); err != nil || v != step.version {
			t.Fatalf("after storing catalog %q: %q, %v", step.version, v, err)
		}
		if err := checkSealState(s); err != nil {
			t.Fatal(err)
		}
		s.Close()
		var err error
		if s, err = reseal(t, dir, kr); err != nil {
			t.Fatalf("reopen after storing catalog %q: %v", step.version, err)
		}
		if v, err := catalogVersion(s, kr); err != nil || v != step.version {
			t.Fatalf("reopened after storing catalog %q: %q, %v", step.version, v, err)
		}
	}
}

// schema6Fixture is a data folder as the build before the catalog digest
// left it (schema 6): store 6eed…a6 created at t0 with the master key
// testMaster; keytest.RefundCatalog(orders, "1") imported, a key "Orders"
// with full access to orders created, then RefundCatalog(payments, "2")
// imported. Its generation is 3.
const (
	schema6Fixture = "testdata/schema6/keydesk.db"
	schema6StoreID = "6eed00000000000000000000000000a6"
	schema6Gen     = 3
)

// schema6Folder copies the fixture into a fresh data folder and returns it
// with a keyring holding the fixture's master key and generation.
func schema6Folder(t *testing.T) (string, *Keyring) {
	return fixtureFolder(t, schema6Fixture, schema6StoreID, schema6Gen)
}

// TestSchema6FolderMovesToCatalogState opens a data folder of the previous
// schema: its catalog is read (unchecked: its state names none), Seal
// checks its state the old way and moves it to schema 7 naming the
// catalog stored then, with the generation advanced (keyring too). From
// then on an older catalog written back is refused, the schema 6 copy of
// the file is older than the keyring, and the file set back to schema 6
// fails its state MAC.
func TestSchema6FolderMovesToCatalogState(t *testing.T) {
	dir, kr := schema6Folder(t)
	if v := schemaOfFile(t, dir); v != digestSchema {
		t.Fatalf("the fixture is at schema %d, want %d", v, digestSchema)
	}
	v6, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	checkOnCleanup(t, s)
	if v, err := catalogVersion(s, kr); err != nil || v != "2" {
		t.Fatalf("the schema 6 catalog before the check: %q, %v", v, err)
	}
	if err := s.Seal(kr); err != nil {
		t.Fatalf("Seal of a schema 6 folder: %v", err)
	}
	if v, _ := s.Schema(); v != catalogSchema {
		t.Fatalf("schema after Seal %d, want %d", v, catalogSchema)
	}
	if g, _ := s.Generation(); g != schema6Gen+1 {
		t.Fatalf("generation after the move %d, want %d", g, schema6Gen+1)
	}
	if g, ok, err := kr.Generation(); err != nil || !ok || g != schema6Gen+1 {
		t.Fatalf("keyring generation %d, %v, %v; want %d", g, ok, err, schema6Gen+1)
	}
	if err := checkSealState(s); err != nil {
		t.Fatal(err)
	}
	if v, err := catalogVersion(s, kr); err != nil || v != "2" {
		t.Fatalf("the catalog after the move: %q, %v", v, err)
	}
	keys, err := s.ListKeys()
	if err != nil || len(keys) != 1 || keys[0].Name != "Orders" || !kr.Signer().VerifyRecord(keys[0].MACPayload(), keys[0].MAC) {
		t.Fatalf("keys after the move: %v, %v", keys, err)
	}
	if err := s.SignatureCheck(); err != nil {
		t.Fatalf("SignatureCheck after the move: %v", err)
	}
	s.Close()
	moved, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}

	// The catalog of version 1, as the previous build stored it (the
	// signature is deterministic), written back.
	writeBackCatalog(t, dir, sealedRefund(t, kr, "orders", "1"), nil)
	s, err = reseal(t, dir, kr)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := catalogVersion(s, kr); !errors.Is(err, ErrCatalogMismatch) {
		t.Errorf("the older catalog written back after the move: %q, %v; want ErrCatalogMismatch", v, err)
	}
	s.Close()

	// The schema 6 copy: a rollback.
	if err := os.WriteFile(Path(dir), v6, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := reseal(t, dir, kr); !errors.Is(err, ErrRolledBack) {
		t.Errorf("Seal of the schema 6 copy after the move = %v, want ErrRolledBack", err)
	}
	// The moved file set back to schema 6 (its state then checked as a
	// schema 6 one, which names no catalog).
	if err := os.WriteFile(Path(dir), moved, 0o600); err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, dir, func(tx *bolt.Tx) error { setSchema(t, tx, digestSchema); return nil })
	if _, err := reseal(t, dir, kr); !errors.Is(err, ErrTampered) {
		t.Errorf("Seal of the moved file set back to schema 6 = %v, want ErrTampered", err)
	}
}

// TestCatalogReadBeforeSealMustBeNamed: a catalog handed out before Seal
// (a window reads it first) that is not the one the checked state names
// fails the Seal, so that nothing verifies on it: here the file of a
// schema 6 folder (whose state names no catalog, so the read could not be
// checked) is changed between the read and the check.
func TestCatalogReadBeforeSealMustBeNamed(t *testing.T) {
	dir, kr := schema6Folder(t)
	s, err := Open(dir, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := catalogVersion(s, kr); err != nil || v != "2" {
		t.Fatalf("the catalog before the check: %q, %v", v, err)
	}
	older := sealedRefund(t, kr, "orders", "1")
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSettings).Put([]byte(core.CatalogSetting), older)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(kr); !errors.Is(err, ErrCatalogMismatch) {
		t.Fatalf("Seal after a catalog it does not name was read = %v, want ErrCatalogMismatch", err)
	}
	if s.Sealed() {
		t.Fatal("the store is sealed")
	}
	if v, err := s.Schema(); err != nil || v != digestSchema {
		t.Fatalf("schema %d, %v after the refused Seal; want %d (nothing written)", v, err, digestSchema)
	}
}
