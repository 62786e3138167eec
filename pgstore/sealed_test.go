package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/seal"
)

func newEdSigner(t testing.TB) *seal.EdSigner {
	t.Helper()
	s, err := seal.NewEdSigner(testMaster)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newSealed initialises a store with a signed state and an admin service.
func newSealed(t *testing.T) (*SealedStore, *core.Service, string) {
	t.Helper()
	st, u := newStore(t)
	ss := Sealed(st, newEdSigner(t))
	if err := ss.SealFromRows(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(ss, ss.Signer(), core.SystemClock{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ss, svc, u
}

func snapshotIDs(t *testing.T, s *Store, v *seal.EdVerifier, minGen uint64) (map[string]*core.Key, *SignedSnapshot) {
	t.Helper()
	snap, err := s.ReadSignedSnapshot(context.Background(), v, minGen)
	if err != nil {
		t.Fatalf("ReadSignedSnapshot: %v", err)
	}
	m := map[string]*core.Key{}
	for _, k := range snap.Keys {
		m[k.ID] = k
	}
	return m, snap
}

func TestSealedRecordsAreEd25519Signed(t *testing.T) {
	ss, svc, _ := newSealed(t)
	k, secret := keytest.Create(t, svc, keytest.SectionRequest("signed"))
	if len(k.MAC) != 64 || !ss.Signer().VerifyRecord(k.MACPayload(), k.MAC) {
		t.Fatalf("the record is not Ed25519-signed (MAC of %d bytes)", len(k.MAC))
	}
	// The local store's HMAC signer of the same master key does not accept it.
	if newSigner().VerifyRecord(k.MACPayload(), k.MAC) {
		t.Fatal("an HMAC signer accepted an Ed25519 record signature")
	}
	if _, err := svc.Rename(k.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	keys, snap := snapshotIDs(t, ss.Store, ss.Signer().Verifier(), 0)
	if keys[k.ID] == nil || keys[k.ID].Name != "renamed" || snap.State.Gen != 3 {
		t.Fatalf("snapshot: key %v, generation %d (want renamed, 3)", keys[k.ID], snap.State.Gen)
	}
	// A verify-only service over the snapshot verifies the key.
	vs, err := core.NewVerifyService(Preload(ss.Store, snap.Keys), ss.Signer().Verifier(), core.SystemClock{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := vs.Verify(secret, core.Target{}); !v.Valid {
		t.Fatalf("verify-only service: %v", v.Reason)
	}
}

func TestVerifyOnlyServiceCannotChangeKeys(t *testing.T) {
	ss, svc, _ := newSealed(t)
	k, _ := keytest.Create(t, svc, keytest.SectionRequest("existing"))
	vs, err := core.NewVerifyService(ss, ss.Signer().Verifier(), core.SystemClock{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := vs.Create(keytest.SectionRequest("minted")); !errors.Is(err, core.ErrVerifyOnly) {
		t.Fatalf("Create with verify-only material: %v, want ErrVerifyOnly", err)
	}
	if _, err := vs.Rename(k.ID, "widened"); !errors.Is(err, core.ErrVerifyOnly) {
		t.Fatalf("Rename with verify-only material: %v, want ErrVerifyOnly", err)
	}
	if _, err := vs.Delete(k.ID); !errors.Is(err, core.ErrVerifyOnly) {
		t.Fatalf("Delete with verify-only material: %v, want ErrVerifyOnly", err)
	}
	keys, _ := snapshotIDs(t, ss.Store, ss.Signer().Verifier(), 0)
	if len(keys) != 1 || keys[k.ID].Name != "existing" {
		t.Fatalf("the store changed: %v", keys)
	}
}

// A database writer saves a key's signed row, the key is deleted, and the
// writer puts the row back (with a change row, so followers look at it):
// the set no longer matches any signed state, so no reader accepts it.
func TestDeletedKeyRevivedByDatabaseWriterIsRefused(t *testing.T) {
	ss, svc, u := newSealed(t)
	k, _ := keytest.Create(t, svc, keytest.SectionRequest("to be deleted"))
	if _, _, err := svc.Create(keytest.SectionRequest("stays")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := ss.Pool().Exec(ctx, `CREATE TABLE saved AS SELECT * FROM keys WHERE id = $1`, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	_, before := snapshotIDs(t, ss.Store, ss.Signer().Verifier(), 0)
	if _, err := ss.Pool().Exec(ctx, `INSERT INTO keys SELECT * FROM saved`); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Pool().Exec(ctx, `INSERT INTO changes (kind, op, name) VALUES ('key', 'insert', $1)`, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.ReadSignedSnapshot(ctx, ss.Signer().Verifier(), 0); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("snapshot with a revived row: %v, want ErrStateMismatch", err)
	}
	read, err := ss.KeyChanges(ctx, before.Seq, nil)
	if err != nil {
		t.Fatal(err)
	}
	changes, state := read.Keys, read.State
	a := Accumulate(ss.Signer().Verifier(), before.Keys)
	for _, ch := range changes {
		if ch.Key != nil {
			a.Add(ss.Signer().SetElement(ch.ID, ch.Key.MAC))
		}
	}
	if state.Check(ss.Signer().Verifier(), ss.StoreID(), a) {
		t.Fatal("the set with the revived row matches the signed state")
	}
	if _, _, err := OpenSealed(ctx, u, ss.Signer(), Options{}); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("an admin opening the store: %v, want ErrStateMismatch", err)
	}
}

// A database put back to an older copy (the key row and the signed state
// of before the delete) is refused by a reader that has seen the newer
// generation.
func TestOlderSignedStateIsRefused(t *testing.T) {
	ss, svc, _ := newSealed(t)
	k, _ := keytest.Create(t, svc, keytest.SectionRequest("deleted later"))
	ctx := context.Background()
	if _, err := ss.Pool().Exec(ctx, `CREATE TABLE saved AS SELECT * FROM keys WHERE id = $1`, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := pgxExec(ctx, ss, `CREATE TABLE saved_state AS SELECT * FROM store_meta WHERE name = 'signed_state'`); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	_, seen := snapshotIDs(t, ss.Store, ss.Signer().Verifier(), 0)
	if err := pgxExec(ctx, ss, `INSERT INTO keys SELECT * FROM saved`); err != nil {
		t.Fatal(err)
	}
	if err := pgxExec(ctx, ss, `UPDATE store_meta SET value = (SELECT value FROM saved_state) WHERE name = 'signed_state'`); err != nil {
		t.Fatal(err)
	}
	// A reader that never saw the newer state cannot tell (a new replica
	// trusts what the database signs); one that did refuses.
	if _, err := ss.ReadSignedSnapshot(ctx, ss.Signer().Verifier(), 0); err != nil {
		t.Fatalf("the older state, read fresh: %v", err)
	}
	if _, err := ss.ReadSignedSnapshot(ctx, ss.Signer().Verifier(), seen.State.Gen); !errors.Is(err, ErrStateRolledBack) {
		t.Fatalf("older state: %v, want ErrStateRolledBack", err)
	}
}

// A forged state row (a database writer's) is never built upon: the next
// admin change fails and writes nothing.
func TestAdminRefusesForgedState(t *testing.T) {
	ss, svc, _ := newSealed(t)
	ctx := context.Background()
	other := Sealed(ss.Store, func() *seal.EdSigner {
		s, err := seal.NewEdSigner(make([]byte, seal.MasterKeySize))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}())
	if err := pgxExec(ctx, ss, `DELETE FROM store_meta WHERE name = 'signed_state'`); err != nil {
		t.Fatal(err)
	}
	if err := other.SealFromRows(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Create(keytest.SectionRequest("on a forged state")); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("create on a forged state: %v, want ErrStateMismatch", err)
	}
	var n int
	if err := ss.Pool().QueryRow(ctx, `SELECT count(*) FROM keys`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("keys after the refused create: %d (%v)", n, err)
	}
}

// A record whose fields were edited in the database (its signature kept)
// is tampered: it never verifies.
func TestEditedRecordIsTampered(t *testing.T) {
	ss, svc, _ := newSealed(t)
	k, secret := keytest.Create(t, svc, keytest.SectionRequest("narrow"))
	edited := k.Clone()
	edited.ExpiresAt = edited.ExpiresAt.AddDate(10, 0, 0)
	ctx := context.Background()
	if _, err := ss.Pool().Exec(ctx, `UPDATE keys SET record = $2, expires_ns = $3 WHERE id = $1`, k.ID, seal.EncodeRecord(edited), edited.ExpiresAt.UnixNano()); err != nil {
		t.Fatal(err)
	}
	_, snap := snapshotIDs(t, ss.Store, ss.Signer().Verifier(), 0)
	vs, err := core.NewVerifyService(Preload(ss.Store, snap.Keys), ss.Signer().Verifier(), core.SystemClock{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := vs.Verify(secret, core.Target{}); v.Valid || v.Reason != core.ReasonTampered {
		t.Fatalf("edited record: valid %v, reason %v; want tampered", v.Valid, v.Reason)
	}
}

func pgxExec(ctx context.Context, s *SealedStore, sql string) error {
	_, err := s.Pool().Exec(ctx, sql)
	return err
}

// A record copied under another id (with another digest) is refused: the
// snapshot holds it twice.
func TestRecordCopiedUnderAnotherIDIsRefused(t *testing.T) {
	ss, svc, _ := newSealed(t)
	if _, _, err := svc.Create(keytest.SectionRequest("copied")); err != nil {
		t.Fatal(err)
	}
	if err := pgxExec(context.Background(), ss, `INSERT INTO keys SELECT 'copy', digest || '\x00'::bytea, name, hint, scopes, kind, permissions, created_ns, expires_ns, last_used_ns, mac, record FROM keys`); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.ReadSignedSnapshot(context.Background(), ss.Signer().Verifier(), 0); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("snapshot with a copied record: %v, want ErrStateMismatch", err)
	}
}

// InsertKeys writes a batch in one transaction: the signed state advances
// once and matches every record, and a duplicate anywhere in a batch
// leaves none of it written.
func TestSealedInsertKeysIsOneTransaction(t *testing.T) {
	ss, _, _ := newSealed(t)
	v := ss.Signer().Verifier()
	_, before := snapshotIDs(t, ss.Store, v, 0)
	sign := func(ids ...string) []*core.Key {
		keys := make([]*core.Key, len(ids))
		for i, id := range ids {
			k := keytest.Key(id, storetest.T0.Add(24*time.Hour))
			k.MAC = ss.Signer().SignRecord(k.MACPayload())
			keys[i] = k
		}
		return keys
	}
	ev := core.AuditEvent{Time: storetest.T0, Actor: "test", Action: core.ActionCreate}
	if err := ss.InsertKeys(sign("a1", "a2", "a3"), ev); err != nil {
		t.Fatal(err)
	}
	keys, snap := snapshotIDs(t, ss.Store, v, 0)
	if len(keys) != 3 || snap.State.Gen != before.State.Gen+1 {
		t.Fatalf("after a batch of 3: %d keys, generation %d (want 3 keys, generation %d)", len(keys), snap.State.Gen, before.State.Gen+1)
	}
	if err := ss.InsertKeys(sign("b1", "b2", "a2"), ev); !errors.Is(err, core.ErrDuplicate) {
		t.Fatalf("a batch with a duplicate: %v, want ErrDuplicate", err)
	}
	keys, snap2 := snapshotIDs(t, ss.Store, v, 0)
	if len(keys) != 3 || keys["b1"] != nil || snap2.State.Gen != snap.State.Gen {
		t.Fatalf("after a refused batch: %d keys (b1 %v), generation %d (want 3, none, %d)", len(keys), keys["b1"] != nil, snap2.State.Gen, snap.State.Gen)
	}
}
