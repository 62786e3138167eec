package workspace

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/replica"
	"github.com/keydesk/keydesk/storage"
)

// TestSharedStoreCatalog: on the shared store the imported catalog is
// signed with the admins' Ed25519 key; other admins open with it, and a
// database writer who edits it (an operation made read-only) is refused.
func TestSharedStoreCatalog(t *testing.T) {
	u := storetest.PGDatabase(t, "catalog")
	kr := storage.NewMemoryKeyring()
	if _, err := InitShared(Options{StoreURL: u, Keyring: kr}, ""); err != nil {
		t.Fatal(err)
	}
	b := open(t, Options{StoreURL: u, Keyring: kr})
	if err := b.ImportCatalog(blockfrostCatalog(t, b.Service().Catalog())); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = open(t, Options{StoreURL: u, Keyring: kr})
	if n := b.Service().Catalog().OperationCount(); n != 129 {
		t.Fatalf("another admin opens with %d operations, want 129", n)
	}
	// A replica, holding only the verifier, serves the imported catalog.
	ed, err := b.Keyring().EdSigner()
	if err != nil {
		t.Fatal(err)
	}
	storeID := b.Store().StoreID()
	b.Close()
	st, err := pgstore.Open(context.Background(), u, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := replica.Open(context.Background(), st, storeID, ed.Verifier(), replica.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := rep.Service().Catalog().MatchRoute("GET", "/api/v0/pools/pool1xyz"); !ok {
		t.Error("the replica does not serve the imported catalog's routes")
	}

	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tag, err := conn.Exec(context.Background(),
		`UPDATE settings SET value = convert_to(regexp_replace(convert_from(value, 'UTF8'),
			'("id":"post-tx-submit"[^{}]*?"readOnly":)false', '\1true'), 'UTF8')
		 WHERE name = $1 AND convert_from(value, 'UTF8') ~ '"id":"post-tx-submit"[^{}]*?"readOnly":false'`, core.CatalogSetting)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("forge: %v %v", tag, err)
	}
	if _, err := Open(Options{StoreURL: u, Keyring: kr}); !errors.Is(err, core.ErrCatalogForged) {
		t.Fatalf("opened with a forged catalog: %v", err)
	}
}

// TestReplicaPicksUpAnImportedCatalog: a replica already running when an
// admin imports a catalog serves the new catalog's routes without a
// restart, and goes back to the embedded catalog when the admin resets it.
func TestReplicaPicksUpAnImportedCatalog(t *testing.T) {
	u := storetest.PGDatabase(t, "catalog_live")
	kr := storage.NewMemoryKeyring()
	if _, err := InitShared(Options{StoreURL: u, Keyring: kr}, ""); err != nil {
		t.Fatal(err)
	}
	b := open(t, Options{StoreURL: u, Keyring: kr})
	ed, err := b.Keyring().EdSigner()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := pgstore.Open(ctx, u, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := replica.Open(ctx, st, b.Store().StoreID(), ed.Verifier(), replica.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const method, path = "GET", "/api/v0/pools/pool1xyz"
	if _, _, ok := rep.Service().Catalog().MatchRoute(method, path); ok {
		t.Fatal("the embedded catalog has Blockfrost's routes")
	}
	done := make(chan error, 1)
	go func() { done <- rep.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	// waitFor polls the replica's catalog (what it serves) until it
	// answers want, or fails after a bound far above the heartbeat.
	waitFor := func(want bool, what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, _, ok := rep.Service().Catalog().MatchRoute(method, path); ok == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the running replica did not %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := b.ImportCatalog(blockfrostCatalog(t, b.Service().Catalog())); err != nil {
		t.Fatal(err)
	}
	waitFor(true, "serve the imported catalog")
	if err := b.ResetCatalog(); err != nil {
		t.Fatal(err)
	}
	waitFor(false, "go back to the embedded catalog after a reset")
}

// TestSharedStoreRefusesAWrittenBackCatalog: a database writer puts back
// the catalog an admin replaced (validly signed, but older: the operation
// the admin moved out of section orders is back in it), or removes the
// catalog. A window and a verification server refuse to open the store,
// with the sentence saying why; an admin's catalog import or reset (which
// opens the store with the embedded catalog) still works and puts it
// right.
func TestSharedStoreRefusesAWrittenBackCatalog(t *testing.T) {
	u := storetest.PGDatabase(t, "catalog_replay")
	kr := storage.NewMemoryKeyring()
	if _, err := InitShared(Options{StoreURL: u, Keyring: kr}, ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, core.CatalogSetting); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	b := open(t, Options{StoreURL: u, Keyring: kr})
	if err := b.ImportCatalog(keytest.RefundCatalog(t, "orders", "1")); err != nil {
		t.Fatal(err)
	}
	exec(`CREATE TABLE old_catalog AS SELECT * FROM settings WHERE name = $1`)
	if err := b.ImportCatalog(keytest.RefundCatalog(t, "payments", "2")); err != nil {
		t.Fatal(err)
	}
	b.Close()

	refused := func(what string) {
		t.Helper()
		_, err := Open(Options{StoreURL: u, Keyring: kr})
		if !errors.Is(err, pgstore.ErrCatalogMismatch) {
			t.Fatalf("a window on the store with %s: %v, want ErrCatalogMismatch", what, err)
		}
		if !strings.Contains(Advice(err), "not the one its signed state names") {
			t.Errorf("the sentence for %s: %q", what, Advice(err))
		}
		rep, err := OpenReplica(ctx, ReplicaOptions{StoreURL: u, Keyring: kr, Dir: t.TempDir()})
		if !errors.Is(err, pgstore.ErrCatalogMismatch) {
			if err == nil {
				rep.Close()
			}
			t.Fatalf("a server's replica on the store with %s: %v, want ErrCatalogMismatch", what, err)
		}
	}
	exec(`UPDATE settings SET value = (SELECT value FROM old_catalog) WHERE name = $1`)
	refused("the older catalog written back")

	// catalog import and reset open with the embedded catalog: the stored
	// one reads as forged, which the reset replaces.
	b = open(t, Options{StoreURL: u, Keyring: kr, SkipStoredCatalog: true})
	if _, err := b.StoredCatalog(); !errors.Is(err, core.ErrCatalogForged) || !errors.Is(err, pgstore.ErrCatalogMismatch) {
		t.Fatalf("the stored catalog, written back, read by an admin: %v", err)
	}
	if err := b.ResetCatalog(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = open(t, Options{StoreURL: u, Keyring: kr})
	if b.Service().Catalog().Imported() || b.Service().Catalog().Version == "1" {
		t.Fatalf("after the reset the window opens with catalog %q", b.Service().Catalog().Version)
	}
	if err := b.ImportCatalog(keytest.RefundCatalog(t, "payments", "3")); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = open(t, Options{StoreURL: u, Keyring: kr})
	if v := b.Service().Catalog().Version; v != "3" {
		t.Fatalf("after the import the window opens with catalog %q, want 3", v)
	}
	b.Close()

	exec(`DELETE FROM settings WHERE name = $1`)
	refused("the catalog removed")
}
