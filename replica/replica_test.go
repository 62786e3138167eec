package replica

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/pgstore"
)

var req = core.CreateRequest{Name: "replicated", Lifetime: core.Lifetime{Duration: 24 * time.Hour},
	Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}}}

func exec(t *testing.T, ss *pgstore.SealedStore, sql string, args ...any) {
	t.Helper()
	if _, err := ss.Pool().Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// The database put back to an older copy (a deleted key's row and the
// signed state of before the delete, with a change row) is refused by a
// replica that has seen the newer generation: the key stays refused and
// /healthz says why.
func TestSyncRefusesAnOlderState(t *testing.T) {
	ss, admin, _ := sharedStore(t, 0)
	ctx := context.Background()
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, secret := keytest.Create(t, admin, req)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if v := r.Service().Verify(secret, core.Target{}); !v.Valid {
		t.Fatalf("created key on the replica: %v", v.Reason)
	}
	exec(t, ss, `CREATE TABLE saved AS SELECT * FROM keys`)
	exec(t, ss, `CREATE TABLE saved_state AS SELECT * FROM store_meta WHERE name = 'signed_state'`)
	if _, err := admin.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if h := r.Health(); h.Status != "ok" {
		t.Fatalf("health after a good sync: %+v", h)
	}

	exec(t, ss, `INSERT INTO keys SELECT * FROM saved`)
	exec(t, ss, `UPDATE store_meta SET value = (SELECT value FROM saved_state) WHERE name = 'signed_state'`)
	exec(t, ss, `INSERT INTO changes (kind, op, name) VALUES ('key', 'insert', $1)`, k.ID)
	if err := r.Sync(ctx); !errors.Is(err, pgstore.ErrStateRolledBack) {
		t.Fatalf("sync on an older state: %v, want ErrStateRolledBack", err)
	}
	if v := r.Service().Verify(secret, core.Target{}); v.Reason != core.ReasonUnknown {
		t.Fatalf("the deleted key on the replica after the rollback: %v", v.Reason)
	}
	if h := r.Health(); h.Status != "degraded" || h.Problem == "" {
		t.Fatalf("health after a refused sync: %+v", h)
	}
}

// While a database writer's revived row makes the set mismatch, a key
// created meanwhile is not applied (no set that includes it is signed), but
// deletions still are.
func TestSyncAppliesDeletionsEvenWhenTheSetIsRefused(t *testing.T) {
	ss, admin, _ := sharedStore(t, 0)
	ctx := context.Background()
	revived, revivedSecret := keytest.Create(t, admin, req)
	keep, keepSecret := keytest.Create(t, admin, req)
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	exec(t, ss, `CREATE TABLE saved AS SELECT * FROM keys WHERE id = $1`, revived.ID)
	if _, err := admin.Delete(revived.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	exec(t, ss, `INSERT INTO keys SELECT * FROM saved`)
	exec(t, ss, `INSERT INTO changes (kind, op, name) VALUES ('key', 'insert', $1)`, revived.ID)
	_, newSecret := keytest.Create(t, admin, req)
	if _, err := admin.Delete(keep.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); !errors.Is(err, pgstore.ErrStateMismatch) {
		t.Fatalf("sync with a revived row: %v, want ErrStateMismatch", err)
	}
	for name, c := range map[string]struct {
		secret string
		want   core.Reason
	}{"revived": {revivedSecret, core.ReasonUnknown}, "deleted": {keepSecret, core.ReasonUnknown}, "created meanwhile": {newSecret, core.ReasonUnknown}} {
		if v := r.Service().Verify(c.secret, core.Target{}); v.Reason != c.want {
			t.Errorf("%s key: %v, want %v", name, v.Reason, c.want)
		}
	}
}
