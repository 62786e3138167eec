package replica

import (
	"context"
	"errors"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/legacystate"
	"github.com/keydesk/keydesk/pgstore"
)

// A replica accepts only the current format of the signed state: on a
// store whose state an earlier Keydesk signed (the XOR digest) it refuses
// to start until an admin's open moves it; once moved, the old-format
// state written back (with the rows it covers) is refused by a running
// replica (its generation is older than the one the move signed; /healthz
// says so) and by a new one (its format).
func TestReplicaRefusesTheOldStateFormat(t *testing.T) {
	ctx := context.Background()
	ss, admin, _ := sharedStore(t, 0)
	keytest.Create(t, admin, req)
	keytest.Create(t, admin, req)
	snap, err := ss.ReadSignedSnapshot(ctx, ss.Signer().Verifier(), 0)
	if err != nil {
		t.Fatal(err)
	}
	old, err := legacystate.Row(testMaster, ss.StoreID(), snap.State.Gen, snap.Keys)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, ss, `UPDATE store_meta SET value = $1 WHERE name = 'signed_state'`, old)
	if _, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{}); !errors.Is(err, pgstore.ErrOldState) {
		t.Fatalf("a replica on an old-format state: %v, want ErrOldState", err)
	}

	if err := ss.UpgradeState(ctx, 0); err != nil {
		t.Fatalf("an admin's upgrade: %v", err)
	}
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{})
	if err != nil {
		t.Fatalf("a replica after the upgrade: %v", err)
	}
	k, secret := keytest.Create(t, admin, req)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if v := r.Service().Verify(secret, core.Target{}); !v.Valid {
		t.Fatalf("a key created after the upgrade: %v", v.Reason)
	}

	// The downgrade.
	exec(t, ss, `DELETE FROM keys WHERE id = $1`, k.ID)
	exec(t, ss, `UPDATE store_meta SET value = $1 WHERE name = 'signed_state'`, old)
	exec(t, ss, `INSERT INTO changes (kind, op, name) VALUES ('key', 'update', $1)`, snap.Keys[0].ID)
	if err := r.Sync(ctx); !errors.Is(err, pgstore.ErrStateRolledBack) {
		t.Fatalf("Sync after the downgrade: %v, want ErrStateRolledBack", err)
	}
	if h := r.Health(); h.Status != "degraded" || h.Problem == "" {
		t.Fatalf("health after the downgrade: %+v", h)
	}
	if _, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{}); !errors.Is(err, pgstore.ErrOldState) {
		t.Fatalf("a new replica after the downgrade: %v, want ErrOldState", err)
	}
}
