package replica

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/legacystate"
	"github.com/keydesk/keydesk/pgstore"
)

// refundCatalog is keytest.RefundCatalog of version "test".
func refundCatalog(t *testing.T, in string) *core.Catalog {
	t.Helper()
	return keytest.RefundCatalog(t, in, "test")
}

// importCatalog stores c as the store's catalog as an admin's import does
// (signed, with its audit entry; the sealed store advances the signed
// state).
func importCatalog(t *testing.T, ss *pgstore.SealedStore, c *core.Catalog) {
	t.Helper()
	sealed, err := core.SealCatalog(c, ss.Signer())
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.PutSetting(core.CatalogSetting, sealed, core.AuditEvent{Actor: "admin", Action: core.ActionCatalogImport}); err != nil {
		t.Fatal(err)
	}
}

// canRefund reports whether the key secret may refund on r (with the
// catalog r serves).
func canRefund(r *Replica, secret string) bool {
	op, ok := r.Service().Catalog().Operation("refund")
	return ok && r.Service().Verify(secret, core.Target{Operation: op}).Allowed
}

// refundSetup is a store whose catalog an admin moved "refund" out of
// section orders in (imported with it in orders, then with it in
// payments), with the first import's setting kept in the table
// old_catalog, and a key with full access to orders.
func refundSetup(t *testing.T) (ss *pgstore.SealedStore, secret string) {
	t.Helper()
	ss, _, _ = sharedStore(t, 0)
	importCatalog(t, ss, refundCatalog(t, "orders"))
	exec(t, ss, `CREATE TABLE old_catalog AS SELECT * FROM settings WHERE name = $1`, core.CatalogSetting)
	admin, err := core.NewService(ss, ss.Signer(), core.SystemClock{}, refundCatalog(t, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err = admin.Create(core.CreateRequest{Name: "orders", Lifetime: core.Lifetime{Duration: 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"orders": core.AccessFull}}})
	if err != nil {
		t.Fatal(err)
	}
	return ss, secret
}

// A database writer puts back the catalog an admin replaced (validly
// signed by the admins, but older): the operation the admin moved out of
// the key's section would come back into it. A running replica keeps the
// catalog the signed state names (the key may not refund, even when told
// the catalog changed or when it reads the whole state again, which fails
// and says why); a replica started afterwards refuses to start. The admin's
// next import is followed again.
func TestReplicaRefusesAWrittenBackCatalog(t *testing.T) {
	ctx := context.Background()
	ss, secret := refundSetup(t)
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !canRefund(r, secret) {
		t.Fatal("the key may not refund while refund is in its section")
	}
	importCatalog(t, ss, refundCatalog(t, "payments"))
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if canRefund(r, secret) {
		t.Fatal("the key may refund after the admin moved refund out of its section")
	}

	// The attack: the older setting written back, its change announced.
	exec(t, ss, `UPDATE settings SET value = (SELECT value FROM old_catalog) WHERE name = $1`, core.CatalogSetting)
	exec(t, ss, `INSERT INTO changes (kind, op, name) VALUES ('setting', 'update', $1)`, core.CatalogSetting)
	r.onChange(pgstore.Change{Kind: pgstore.KindSetting, Name: core.CatalogSetting})
	if err := r.refreshCatalog(); err != nil {
		t.Fatalf("refreshCatalog: %v", err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if canRefund(r, secret) {
		t.Fatal("the running replica took the catalog written back: the key may refund again")
	}
	r.syncMu.Lock()
	err = r.reload(ctx)
	r.syncMu.Unlock()
	if !errors.Is(err, pgstore.ErrCatalogMismatch) {
		t.Fatalf("a whole reload with the catalog written back: %v, want ErrCatalogMismatch", err)
	}
	if canRefund(r, secret) {
		t.Fatal("the key may refund after the reload")
	}
	if _, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{}); !errors.Is(err, pgstore.ErrCatalogMismatch) {
		t.Fatalf("a replica started on the catalog written back: %v, want ErrCatalogMismatch", err)
	}

	// The admin imports again: the replica follows.
	importCatalog(t, ss, refundCatalog(t, "orders"))
	if err := r.Sync(ctx); err != nil {
		t.Fatalf("Sync after the admin's import: %v", err)
	}
	if !canRefund(r, secret) {
		t.Fatal("the replica did not follow the admin's import")
	}
}

// The catalog written back between an admin's import and the replica's
// next read: the replica refuses the state (the setting is not the one it
// names), keeps the catalog it had, applies no key created meanwhile, and
// /healthz says degraded until the admin imports again.
func TestReplicaRefusesACatalogWrittenBackBeforeItRead(t *testing.T) {
	ctx := context.Background()
	ss, secret := refundSetup(t)
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	importCatalog(t, ss, refundCatalog(t, "payments"))
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// The admin imports a later version; before the replica reads it, the
	// first catalog (refund in orders) is written back.
	importCatalog(t, ss, keytest.RefundCatalog(t, "payments", "test 2"))
	exec(t, ss, `UPDATE settings SET value = (SELECT value FROM old_catalog) WHERE name = $1`, core.CatalogSetting)
	_, newSecret := createKey(t, ss)
	if err := r.Sync(ctx); !errors.Is(err, pgstore.ErrCatalogMismatch) {
		t.Fatalf("Sync with the catalog written back: %v, want ErrCatalogMismatch", err)
	}
	if canRefund(r, secret) {
		t.Fatal("the key may refund: the replica took the catalog written back")
	}
	if r.Service().Verify(newSecret, core.Target{}).Valid {
		t.Fatal("a key created with the state refused was applied")
	}
	if h := r.Health(); h.Status != "degraded" || h.Problem == "" {
		t.Fatalf("health with the catalog written back: %+v", h)
	}
	importCatalog(t, ss, keytest.RefundCatalog(t, "payments", "test 3"))
	if err := r.Sync(ctx); err != nil {
		t.Fatalf("Sync after the admin's import: %v", err)
	}
	if !r.Service().Verify(newSecret, core.Target{}).Valid || canRefund(r, secret) || r.Service().Catalog().Version != "test 3" {
		t.Fatal("the replica did not follow the admin's import")
	}
	if h := r.Health(); h.Status != "ok" {
		t.Fatalf("health after the admin's import: %+v", h)
	}
}

// createKey creates a key as an admin (with the embedded catalog).
func createKey(t *testing.T, ss *pgstore.SealedStore) (*core.Key, string) {
	t.Helper()
	admin, err := core.NewService(ss, ss.Signer(), core.SystemClock{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, secret, err := admin.Create(req)
	if err != nil {
		t.Fatal(err)
	}
	return k, secret
}

// A database writer removes the imported catalog, so that readers fall
// back to the embedded one: a replica started afterwards refuses to start,
// a running one keeps the imported catalog; the admin's reset is followed.
func TestReplicaRefusesARemovedCatalog(t *testing.T) {
	ctx := context.Background()
	ss, secret := refundSetup(t)
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	exec(t, ss, `DELETE FROM settings WHERE name = $1`, core.CatalogSetting)
	if _, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{}); !errors.Is(err, pgstore.ErrCatalogMismatch) {
		t.Fatalf("a replica started with the catalog removed: %v, want ErrCatalogMismatch", err)
	}
	r.syncMu.Lock()
	err = r.reload(ctx)
	r.syncMu.Unlock()
	if !errors.Is(err, pgstore.ErrCatalogMismatch) {
		t.Fatalf("a whole reload with the catalog removed: %v, want ErrCatalogMismatch", err)
	}
	if _, ok := r.Service().Catalog().Operation("refund"); !ok || !canRefund(r, secret) {
		t.Fatal("the running replica left the imported catalog")
	}

	// The admin's reset: back to the embedded catalog, followed.
	importCatalog(t, ss, refundCatalog(t, "payments"))
	if err := ss.PutSetting(core.CatalogSetting, nil, core.AuditEvent{Actor: "admin", Action: core.ActionCatalogReset}); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatalf("Sync after the admin's reset: %v", err)
	}
	if _, ok := r.Service().Catalog().Operation("refund"); ok {
		t.Fatal("the replica did not go back to the embedded catalog after the admin's reset")
	}
}

// A store whose signed state is of format 3 (builds before the catalog's
// binding) is read; an admin's open moves it to format 4 at the next
// generation, which a running replica follows. The format 3 state written
// back afterwards (with the catalog of its time) is a rollback: refused by
// the running replica and by one restarted with the generation it
// recorded.
func TestReplicaRefusesTheStateDowngradedToFormat3(t *testing.T) {
	ctx := context.Background()
	ss, secret := refundSetup(t)
	snap, err := ss.ReadSignedSnapshot(ctx, ss.Signer().Verifier(), 0)
	if err != nil {
		t.Fatal(err)
	}
	v3, err := legacystate.RowV3(testMaster, ss.StoreID(), snap.State.Gen, snap.Keys)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, ss, `UPDATE store_meta SET value = $1 WHERE name = 'signed_state'`, v3)
	gens, err := OpenGenerationFile(t.TempDir(), ss.StoreID())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{Generations: gens})
	if err != nil {
		t.Fatalf("a replica on a state of format 3: %v", err)
	}
	if !canRefund(r, secret) {
		t.Fatal("the replica on a format 3 state does not use the store's catalog")
	}
	if err := ss.UpgradeState(ctx, 0); err != nil {
		t.Fatalf("an admin's upgrade: %v", err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatalf("Sync after the upgrade: %v", err)
	}
	importCatalog(t, ss, refundCatalog(t, "payments"))
	if err := r.Sync(ctx); err != nil || canRefund(r, secret) {
		t.Fatalf("Sync after the admin's import: %v (the key may refund: %v)", err, canRefund(r, secret))
	}

	// The downgrade: the format 3 state and the catalog of its time.
	exec(t, ss, `UPDATE store_meta SET value = $1 WHERE name = 'signed_state'`, v3)
	exec(t, ss, `UPDATE settings SET value = (SELECT value FROM old_catalog) WHERE name = $1`, core.CatalogSetting)
	if err := r.Sync(ctx); !errors.Is(err, pgstore.ErrStateRolledBack) {
		t.Fatalf("Sync after the downgrade: %v, want ErrStateRolledBack", err)
	}
	r.catalogChanged.Store(true)
	if err := r.refreshCatalog(); err != nil || canRefund(r, secret) {
		t.Fatalf("the running replica took the downgraded store's catalog (%v)", err)
	}
	if h := r.Health(); h.Status != "degraded" {
		t.Fatalf("health after the downgrade: %+v", h)
	}
	if _, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{Generations: gens}); !errors.Is(err, pgstore.ErrStateRolledBack) {
		t.Fatalf("a replica restarted after the downgrade: %v, want ErrStateRolledBack", err)
	}
}

// Even a state of format 3 at a generation not below the replica's (no
// admin signs one once the store is in format 4; the test signs it) is
// refused once the replica accepted format 4.
func TestReplicaRefusesFormat3AfterFormat4(t *testing.T) {
	ctx := context.Background()
	ss, _ := refundSetup(t)
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := ss.ReadSignedSnapshot(ctx, ss.Signer().Verifier(), 0)
	if err != nil {
		t.Fatal(err)
	}
	v3, err := legacystate.RowV3(testMaster, ss.StoreID(), snap.State.Gen+1, snap.Keys)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, ss, `UPDATE store_meta SET value = $1 WHERE name = 'signed_state'`, v3)
	if err := r.Sync(ctx); !errors.Is(err, pgstore.ErrStateRolledBack) {
		t.Fatalf("Sync on a format 3 state after format 4: %v, want ErrStateRolledBack", err)
	}
}
