package workspace

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keydesk/keydesk/core"
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
