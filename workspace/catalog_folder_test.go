package workspace

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/storage"
	bolt "go.etcd.io/bbolt"
)

// canRefund reports whether the key secret may refund on b (with the
// catalog b's service uses).
func canRefund(b *Workspace, secret string) bool {
	op, ok := b.Service().Catalog().Operation("refund")
	return ok && b.Service().Verify(secret, core.Target{Operation: op}).Allowed
}

// folderCatalog reads the catalog setting of the closed data folder dir
// from the file.
func folderCatalog(t *testing.T, dir string) []byte {
	t.Helper()
	var v []byte
	rawFolder(t, dir, func(tx *bolt.Tx) error {
		v = append([]byte(nil), tx.Bucket([]byte("settings")).Get([]byte(core.CatalogSetting))...)
		return nil
	})
	return v
}

// writeFolderCatalog edits the closed data folder dir as someone who can
// write the file but holds no key: the catalog setting becomes value (nil:
// removed) and, with digest, the catalog digest the file names becomes
// value's SHA-256.
func writeFolderCatalog(t *testing.T, dir string, value []byte, digest bool) {
	t.Helper()
	rawFolder(t, dir, func(tx *bolt.Tx) error {
		var err error
		if value == nil {
			err = tx.Bucket([]byte("settings")).Delete([]byte(core.CatalogSetting))
		} else {
			err = tx.Bucket([]byte("settings")).Put([]byte(core.CatalogSetting), value)
		}
		if err != nil || !digest {
			return err
		}
		sum := sha256.Sum256(value)
		return tx.Bucket([]byte("meta")).Put([]byte("catalog_digest"), sum[:])
	})
}

// rawFolder runs fn in a write transaction on the closed data folder dir's
// file, opened with bbolt directly.
func rawFolder(t *testing.T, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(storage.Path(dir), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// TestFolderRefusesAWrittenBackCatalog: someone who can edit keydesk.db
// puts back the catalog an admin replaced (validly signed with the
// folder's own key, but older: the operation the admin moved out of
// section orders is back in it), or removes the catalog. The folder does
// not open with it, with or without CheckLater, and says why; with the
// digest in the file changed too, a CheckLater window opens but the key
// never may refund (the check fails, nothing verifies). catalog import and
// reset (which open without reading the catalog) still work and put it
// right.
func TestFolderRefusesAWrittenBackCatalog(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := filepath.Join(t.TempDir(), "data")
	opts := Options{Keyring: kr, Dir: dir, Now: t0}
	b := open(t, opts)
	if err := b.ImportCatalog(keytest.RefundCatalog(t, "orders", "1")); err != nil {
		t.Fatal(err)
	}
	b.Close()
	old := folderCatalog(t, dir)
	b = open(t, opts)
	_, secret, err := b.Service().Create(core.CreateRequest{Name: "orders", Lifetime: core.Lifetime{Duration: 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"orders": core.AccessFull}}})
	if err != nil {
		t.Fatal(err)
	}
	if !canRefund(b, secret) {
		t.Fatal("the key may not refund while refund is in its section")
	}
	if err := b.ImportCatalog(keytest.RefundCatalog(t, "payments", "2")); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = open(t, opts)
	if canRefund(b, secret) {
		t.Fatal("the key may refund after the admin moved refund out of its section")
	}
	b.Close()
	good, err := os.ReadFile(storage.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	putBack := func() {
		t.Helper()
		if err := os.WriteFile(storage.Path(dir), good, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	refused := func(what string) {
		t.Helper()
		for _, later := range []bool{false, true} {
			o := opts
			o.CheckLater = later
			b, err := Open(o)
			if err == nil {
				b.Close()
			}
			if !errors.Is(err, storage.ErrCatalogMismatch) || !errors.Is(err, core.ErrCatalogForged) {
				t.Fatalf("open (CheckLater %v) with %s: %v, want ErrCatalogMismatch", later, what, err)
			}
			if !strings.Contains(Advice(err), "not the one its signed state names") {
				t.Errorf("the sentence for %s: %q", what, Advice(err))
			}
		}
	}
	writeFolderCatalog(t, dir, old, false)
	refused("the older catalog written back")
	putBack()
	writeFolderCatalog(t, dir, nil, false)
	refused("the catalog removed")

	// The older catalog with its digest: the window shows the keys, but
	// the check of the file fails before any verification.
	putBack()
	writeFolderCatalog(t, dir, old, true)
	b = open(t, Options{Keyring: kr, Dir: dir, Now: t0, CheckLater: true})
	if canRefund(b, secret) {
		t.Error("the key may refund on the older catalog and its digest written back")
	}
	if err := b.SignatureCheck(); !errors.Is(err, storage.ErrTampered) {
		t.Errorf("the check with the older catalog and its digest written back: %v, want ErrTampered", err)
	}
	b.Close()
	if b, err := Open(opts); !errors.Is(err, storage.ErrTampered) {
		if err == nil {
			b.Close()
		}
		t.Errorf("open with the older catalog and its digest written back: %v, want ErrTampered", err)
	}

	// catalog reset puts the written-back catalog right, then an import.
	putBack()
	writeFolderCatalog(t, dir, old, false)
	b = open(t, Options{Keyring: kr, Dir: dir, Now: t0, SkipStoredCatalog: true})
	if _, err := b.StoredCatalog(); !errors.Is(err, core.ErrCatalogForged) || !errors.Is(err, storage.ErrCatalogMismatch) {
		t.Fatalf("the written-back catalog read by catalog reset: %v", err)
	}
	if err := b.ResetCatalog(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = open(t, opts)
	if b.Service().Catalog().Imported() || canRefund(b, secret) {
		t.Fatalf("after the reset: catalog %q, the key may refund: %v", b.Service().Catalog().Version, canRefund(b, secret))
	}
	if err := b.ImportCatalog(keytest.RefundCatalog(t, "payments", "3")); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = open(t, Options{Keyring: kr, Dir: dir, Now: t0, CheckLater: true})
	if v := b.Service().Catalog().Version; v != "3" || canRefund(b, secret) {
		t.Fatalf("after the import: catalog %q, the key may refund: %v", v, canRefund(b, secret))
	}
	b.Close()
}
