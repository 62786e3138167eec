package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/storetest"
)

// TestRollReachesFollowers: a roll through the service is one transaction
// whose two changes (the old key updated, the new one inserted) reach a
// follower together, carrying both linked records, and both verify on a
// replica built from them: the old key until its grace ends.
func TestRollReachesFollowers(t *testing.T) {
	s, _ := newStore(t)
	start := storetest.T0
	svc, err := core.NewService(s, newSigner(), core.FixedClock(start), nil)
	if err != nil {
		t.Fatal(err)
	}
	k, oldSecret := keytest.Create(t, svc, keytest.SectionRequest("billing"))
	// A second admin's service, loaded before the roll.
	stale, err := core.NewService(s, newSigner(), core.FixedClock(start), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, changes, statuses := startFollower(t, s, 0, FollowOptions{})
	expectStatus(t, statuses, true)
	expectChanges(t, changes, "1 key insert "+k.ID)
	r, err := svc.Roll(k.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got := expectChanges(t, changes, "2 key update "+k.ID, "3 key insert "+r.New.ID)
	if d := storetest.Equal(got[0].Key, r.Old); d != "" {
		t.Fatalf("the follower's old record: %s", d)
	}
	if d := storetest.Equal(got[1].Key, r.New); d != "" {
		t.Fatalf("the follower's new record: %s", d)
	}
	// A replica loading the store verifies the new key, and the old one
	// until the grace ends.
	for _, tc := range []struct {
		secret string
		at     time.Time
		want   core.Reason
	}{
		{oldSecret, start.Add(time.Hour - time.Second), core.ReasonOK},
		{oldSecret, start.Add(time.Hour), core.ReasonExpired},
		{r.Secret, start.Add(time.Hour), core.ReasonOK},
	} {
		replica, err := core.NewService(s, newSigner(), core.FixedClock(tc.at), nil)
		if err != nil {
			t.Fatal(err)
		}
		if v := replica.Verify(tc.secret, core.Target{}); v.Reason != tc.want {
			t.Errorf("replica at %v: %s, want %s", tc.at, v.Reason, tc.want)
		}
	}
	// The second admin rolling the same key (its service has not seen the
	// roll) is refused by the store, and nothing is written.
	if _, err := stale.Roll(k.ID, 0); !errors.Is(err, core.ErrAlreadyRolled) {
		t.Fatalf("a second roll of the same key: %v", err)
	}
	if got, _ := s.GetKey(k.ID); !got.ExpiresAt.Equal(r.Old.ExpiresAt) || got.RolledTo != r.New.ID {
		t.Fatalf("the refused roll changed the record: %+v", got)
	}
	// A key renamed by one admin and rolled by another whose service
	// still holds the old name: the roll would undo the rename, so the
	// store refuses it.
	other, _ := keytest.Create(t, svc, keytest.SectionRequest("other"))
	stale2, err := core.NewService(s, newSigner(), core.FixedClock(start), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rename(other.ID, "renamed elsewhere"); err != nil {
		t.Fatal(err)
	}
	if _, err := stale2.Roll(other.ID, 0); !errors.Is(err, core.ErrKeyChanged) {
		t.Fatalf("roll over another admin's rename: %v", err)
	}
	if got, _ := s.GetKey(other.ID); got.Name != "renamed elsewhere" || got.RolledTo != "" {
		t.Fatalf("the refused roll changed the record: %+v", got)
	}
}

// A roll on a sealed store advances the signed state in its own
// transaction: the state stays valid for every reader (a fresh snapshot, an
// admin opening the store, the next admin change built on it), and the old
// key's pre-roll row written back by a database writer (its longer expiry,
// no link to the new key) never verifies: a database writer cannot undo a
// roll to extend the old key.
func TestSealedRollKeepsTheSignedState(t *testing.T) {
	ss, svc, u := newSealed(t)
	ctx := context.Background()
	v := ss.Signer().Verifier()
	k, oldSecret := keytest.Create(t, svc, keytest.SectionRequest("billing"))
	if _, _, err := svc.Create(keytest.SectionRequest("bystander")); err != nil {
		t.Fatal(err)
	}
	if err := pgxExec(ctx, ss, `CREATE TABLE saved AS SELECT * FROM keys`); err != nil {
		t.Fatal(err)
	}
	if err := pgxExec(ctx, ss, `CREATE TABLE saved_state AS SELECT * FROM store_meta WHERE name = 'signed_state'`); err != nil {
		t.Fatal(err)
	}
	_, before := snapshotIDs(t, ss.Store, v, 0)

	r, err := svc.Roll(k.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Old.ExpiresAt.Before(k.ExpiresAt) {
		t.Fatalf("the roll did not shorten the old key: %v, was %v", r.Old.ExpiresAt, k.ExpiresAt)
	}
	keys, after := snapshotIDs(t, ss.Store, v, before.State.Gen)
	if after.State.Gen != before.State.Gen+1 || len(keys) != 3 {
		t.Fatalf("after the roll: generation %d (was %d), %d keys", after.State.Gen, before.State.Gen, len(keys))
	}
	if d := storetest.Equal(keys[k.ID], r.Old); d != "" {
		t.Fatalf("the old record in the signed snapshot: %s", d)
	}
	if d := storetest.Equal(keys[r.New.ID], r.New); d != "" {
		t.Fatalf("the new record in the signed snapshot: %s", d)
	}
	// An admin opening the store accepts it, and a verify-only service
	// over the checked records verifies both keys, linked both ways.
	reopened, snap, err := OpenSealed(ctx, u, ss.Signer(), Options{})
	if err != nil {
		t.Fatalf("opening the store after a roll: %v", err)
	}
	defer reopened.Close()
	vs, err := core.NewVerifyService(Preload(reopened, snap.Keys), v, core.SystemClock{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ov, nv := vs.Verify(oldSecret, core.Target{}), vs.Verify(r.Secret, core.Target{}); ov.Reason != core.ReasonOK || nv.Reason != core.ReasonOK ||
		ov.Key.RolledTo != r.New.ID || nv.Key.RolledFrom != k.ID {
		t.Fatalf("after the roll: old %s (→%q), new %s (←%q)", ov.Reason, ov.Key.RolledTo, nv.Reason, nv.Key.RolledFrom)
	}
	// The next admin change (another admin, the store just reopened)
	// builds on the rolled state: rolling the new key, renaming the old.
	admin2, err := core.NewService(Preload(reopened, snap.Keys), reopened.Signer(), core.SystemClock{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := admin2.Roll(r.New.ID, 0)
	if err != nil {
		t.Fatalf("rolling the new key: %v", err)
	}
	if _, err := admin2.Rename(k.ID, "billing (old)"); err != nil {
		t.Fatal(err)
	}
	keys, latest := snapshotIDs(t, ss.Store, v, after.State.Gen)
	if latest.State.Gen != after.State.Gen+2 || len(keys) != 4 || keys[r.New.ID].RolledTo != r2.New.ID {
		t.Fatalf("after a second roll and a rename: generation %d, %d keys", latest.State.Gen, len(keys))
	}
	// store init on the rolled store is refused and changes nothing.
	if err := ss.SealFromRows(ctx); !errors.Is(err, ErrAlreadyInitialised) {
		t.Fatalf("sealing a rolled store again: %v, want ErrAlreadyInitialised", err)
	}

	// A database writer puts the old key's pre-roll row back (with a
	// change row, so that followers look at it).
	if err := pgxExec(ctx, ss, `UPDATE keys SET digest = s.digest, name = s.name, hint = s.hint, scopes = s.scopes, kind = s.kind,
		permissions = s.permissions, created_ns = s.created_ns, expires_ns = s.expires_ns, mac = s.mac, record = s.record
		FROM saved s WHERE keys.id = s.id AND keys.id = '`+k.ID+`'`); err != nil {
		t.Fatal(err)
	}
	if err := pgxExec(ctx, ss, `INSERT INTO changes (kind, op, name) VALUES ('key', 'update', '`+k.ID+`')`); err != nil {
		t.Fatal(err)
	}
	if got, err := ss.GetKey(k.ID); err != nil || !got.ExpiresAt.Equal(k.ExpiresAt) || got.RolledTo != "" {
		t.Fatalf("the writer did not put the pre-roll row back: %+v, %v", got, err)
	}
	if _, err := ss.ReadSignedSnapshot(ctx, v, 0); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("a snapshot with the pre-roll row: %v, want ErrStateMismatch", err)
	}
	if _, _, err := OpenSealed(ctx, u, ss.Signer(), Options{}); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("an admin opening the store with the pre-roll row: %v, want ErrStateMismatch", err)
	}
	read, err := ss.KeyChanges(ctx, latest.Seq, nil)
	if err != nil {
		t.Fatal(err)
	}
	changes, state := read.Keys, read.State
	a := Accumulate(v, latest.Keys)
	for _, ch := range changes {
		if held, ok := keys[ch.ID]; ok {
			a.Remove(v.SetElement(ch.ID, held.MAC))
		}
		if ch.Key != nil {
			a.Add(v.SetElement(ch.ID, ch.Key.MAC))
		}
	}
	if len(changes) != 1 || state.Check(v, ss.StoreID(), a) {
		t.Fatalf("a follower's set with the pre-roll row matches the signed state (%d changes)", len(changes))
	}

	// The whole store put back to before the roll (rows and signed
	// state): a reader that has seen the roll refuses it.
	if err := pgxExec(ctx, ss, `DELETE FROM keys`); err != nil {
		t.Fatal(err)
	}
	if err := pgxExec(ctx, ss, `INSERT INTO keys SELECT * FROM saved`); err != nil {
		t.Fatal(err)
	}
	if err := pgxExec(ctx, ss, `UPDATE store_meta SET value = (SELECT value FROM saved_state) WHERE name = 'signed_state'`); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.ReadSignedSnapshot(ctx, v, latest.State.Gen); !errors.Is(err, ErrStateRolledBack) {
		t.Fatalf("the store put back to before the roll: %v, want ErrStateRolledBack", err)
	}
}
