package pgstore

import (
	"context"
	"errors"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/legacystate"
)

// putCatalog stores a catalog setting as an admin's import does (the
// embedded catalog with its version set to version, signed).
func putCatalog(t *testing.T, ss *SealedStore, version string) []byte {
	t.Helper()
	c := core.DefaultCatalog()
	c.Version = version
	sealed, err := core.SealCatalog(c, ss.Signer())
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.PutSetting(core.CatalogSetting, sealed, core.AuditEvent{Actor: "admin", Action: core.ActionCatalogImport}); err != nil {
		t.Fatal(err)
	}
	return sealed
}

// state reads the signed state row.
func state(t *testing.T, ss *SealedStore) StateRow {
	t.Helper()
	r, ok, err := readState(context.Background(), ss.pool)
	if err != nil || !ok {
		t.Fatalf("read the signed state: %v (found: %v)", err, ok)
	}
	return r
}

// An admin's catalog import or reset advances the signed state, which
// names the catalog; key changes keep the name. A database writer who
// writes an older catalog back, removes the catalog, or writes back the
// whole older state with it, is refused by SignedCatalog (and by a
// snapshot's CheckCatalog).
func TestCatalogIsBoundToTheSignedState(t *testing.T) {
	ctx := context.Background()
	ss, svc, _ := newSealed(t)
	v := ss.Signer().Verifier()
	if r := state(t, ss); r.Format != StateFormat || r.Catalog != (CatalogDigest{}) {
		t.Fatalf("a new store's state: format %d, catalog %x; want %d, none", r.Format, r.Catalog, StateFormat)
	}
	gen := state(t, ss).Gen
	old := putCatalog(t, ss, "old")
	if r := state(t, ss); r.Gen != gen+1 || r.Catalog != DigestCatalog(old) {
		t.Fatalf("after an import: generation %d, catalog %x; want %d, %x", r.Gen, r.Catalog, gen+1, DigestCatalog(old))
	}
	saved := state(t, ss).encode()
	current := putCatalog(t, ss, "current")
	keytest.Create(t, svc, keytest.SectionRequest("after the import"))
	if r := state(t, ss); r.Gen != gen+3 || r.Catalog != DigestCatalog(current) {
		t.Fatalf("after a key change: generation %d, catalog %x; want %d, %x", r.Gen, r.Catalog, gen+3, DigestCatalog(current))
	}
	latest := state(t, ss).encode()
	if raw, err := ss.SignedCatalog(ctx, v, gen+3); err != nil || string(raw) != string(current) {
		t.Fatalf("SignedCatalog: %v", err)
	}

	refused := func(what string, minGen uint64, want error) {
		t.Helper()
		if _, err := ss.SignedCatalog(ctx, v, minGen); !errors.Is(err, want) {
			t.Fatalf("SignedCatalog, %s: %v, want %v", what, err, want)
		}
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := ss.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE settings SET value = $2 WHERE name = $1`, core.CatalogSetting, old)
	refused("the older catalog written back", 0, ErrCatalogMismatch)
	refused("the older catalog written back", 0, core.ErrCatalogForged)
	refused("the older catalog written back", 0, ErrStateMismatch)
	snap, err := ss.ReadSignedSnapshot(ctx, v, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.CheckCatalog(); !errors.Is(err, ErrCatalogMismatch) {
		t.Fatalf("a snapshot's CheckCatalog with the older catalog: %v", err)
	}
	exec(`DELETE FROM settings WHERE name = $1`, core.CatalogSetting)
	refused("the catalog removed", 0, ErrCatalogMismatch)
	// The older catalog with the state that named it: a reader that has
	// seen the later generation refuses it.
	exec(`INSERT INTO settings (name, value) VALUES ($1, $2)`, core.CatalogSetting, old)
	setStateRow(t, ss, saved)
	refused("the older state and catalog written back", gen+3, ErrStateRolledBack)
	if _, err := ss.SignedCatalog(ctx, v, 0); err != nil {
		t.Fatalf("the older state and its catalog, to a reader that saw neither: %v", err)
	}

	// The admin's reset (on the store put right): no catalog, named so.
	setStateRow(t, ss, latest)
	exec(`UPDATE settings SET value = $2 WHERE name = $1`, core.CatalogSetting, current)
	if err := ss.PutSetting(core.CatalogSetting, nil, core.AuditEvent{Actor: "admin", Action: core.ActionCatalogReset}); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if raw, err := ss.SignedCatalog(ctx, v, 0); err != nil || raw != nil {
		t.Fatalf("after the reset: %d bytes, %v; want none", len(raw), err)
	}
	if r := state(t, ss); r.Catalog != (CatalogDigest{}) {
		t.Fatalf("after the reset the state names catalog %x", r.Catalog)
	}
	exec(`INSERT INTO settings (name, value) VALUES ($1, $2)`, core.CatalogSetting, current)
	refused("a catalog written in after the reset", 0, ErrCatalogMismatch)
}

// A store whose signed state is of format 3 (builds before the catalog's
// binding) is read, its catalog unchecked; an admin's open moves it to
// format 4 at the next generation, naming the catalog it holds. The
// format 3 state written back afterwards is refused: by an admin's change
// (its format), by an admin's upgrade that saw the later generation, by a
// reader that saw it.
func TestUpgradeStateFromFormat3(t *testing.T) {
	ctx := context.Background()
	ss, svc, u := newSealed(t)
	keytest.Create(t, svc, keytest.SectionRequest("before"))
	catalog := putCatalog(t, ss, "imported")
	_, snap := snapshotIDs(t, ss.Store, ss.signer.Verifier(), 0)
	gen := snap.State.Gen
	v3, err := legacystate.RowV3(testMaster, ss.storeID, gen, snap.Keys)
	if err != nil {
		t.Fatal(err)
	}
	setStateRow(t, ss, v3)
	v := ss.signer.Verifier()
	_, snap = snapshotIDs(t, ss.Store, v, 0)
	if snap.State.Format != unboundStateFormat || snap.State.BindsCatalog() || snap.CheckCatalog() != nil {
		t.Fatalf("a reader of a format 3 state: format %d", snap.State.Format)
	}
	if raw, err := ss.SignedCatalog(ctx, v, 0); err != nil || string(raw) != string(catalog) {
		t.Fatalf("SignedCatalog on a format 3 state: %v", err)
	}

	admin, asnap, err := OpenSealed(ctx, u, newEdSigner(t), Options{})
	if err != nil {
		t.Fatalf("an admin's open of a format 3 store: %v", err)
	}
	defer admin.Close()
	if asnap.State.Format != StateFormat || asnap.State.Gen != gen+1 || asnap.State.Catalog != DigestCatalog(catalog) || asnap.CheckCatalog() != nil {
		t.Fatalf("after the upgrade: format %d, generation %d (want %d, %d), catalog named %x",
			asnap.State.Format, asnap.State.Gen, StateFormat, gen+1, asnap.State.Catalog)
	}
	keytest.Create(t, svc, keytest.SectionRequest("after the upgrade"))

	// The downgrade: the format 3 state with the rows it covers.
	if _, err := ss.pool.Exec(ctx, `DELETE FROM keys WHERE name = 'after the upgrade'`); err != nil {
		t.Fatal(err)
	}
	setStateRow(t, ss, v3)
	if _, _, err := svc.Create(keytest.SectionRequest("on the downgraded state")); !errors.Is(err, ErrOldState) {
		t.Fatalf("an admin's change on a downgraded state: %v, want ErrOldState", err)
	}
	if err := admin.UpgradeState(ctx, gen+2); !errors.Is(err, ErrStateRolledBack) {
		t.Fatalf("an admin that saw generation %d upgrading the downgraded state: %v, want ErrStateRolledBack", gen+2, err)
	}
	if _, err := ss.ReadSignedSnapshot(ctx, v, gen+2); !errors.Is(err, ErrStateRolledBack) {
		t.Fatalf("a reader that saw generation %d: %v, want ErrStateRolledBack", gen+2, err)
	}
	if _, err := ss.SignedCatalog(ctx, v, gen+2); !errors.Is(err, ErrStateRolledBack) {
		t.Fatalf("SignedCatalog for a reader that saw generation %d: %v, want ErrStateRolledBack", gen+2, err)
	}
}

// The state's stored form round-trips in both formats read, and a format 4
// row cut to the size of a format 3 one (or the other way round) does not
// parse.
func TestStateRowFormats(t *testing.T) {
	ss, _, _ := newSealed(t)
	putCatalog(t, ss, "x")
	r := state(t, ss)
	back, err := decodeStateRow(r.encode())
	if err != nil || back.Format != StateFormat || back.Catalog != r.Catalog || back.Gen != r.Gen || string(back.Sig) != string(r.Sig) {
		t.Fatalf("format 4 round trip: %+v, %v", back, err)
	}
	old := r
	old.Format = unboundStateFormat
	back, err = decodeStateRow(old.encode())
	if err != nil || back.Format != unboundStateFormat || back.Catalog != (CatalogDigest{}) || string(back.Sig) != string(r.Sig) {
		t.Fatalf("format 3 round trip: %+v, %v", back, err)
	}
	if back.Check(ss.signer.Verifier(), ss.storeID, r.Digest) {
		t.Fatal("a format 4 signature checks as a format 3 state")
	}
}
