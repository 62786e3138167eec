package storage

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/seal"
	bolt "go.etcd.io/bbolt"
)

// TestRollSealedStore rolls a key through a service on a sealed store:
// one transaction with its audit event, the old record's expiry index entry
// moved, both links signed, and the reopened store seals, checks and
// verifies as before: the old key works during its grace, `expired` after.
func TestRollSealedStore(t *testing.T) {
	s, kr, dir, keys, secrets := sealedWithKeys(t, NewMemoryKeyring(), 2)
	clk := core.FixedClock(t0.Add(time.Hour))
	svc, err := core.NewService(s, kr.Signer(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	audits := auditLen(t, s)
	gen, _ := s.Generation()
	r, err := svc.Roll(keys[0].ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Generation(); g != gen+1 {
		t.Fatalf("generation %d after a roll, want %d (one change)", g, gen+1)
	}
	if n := auditLen(t, s); n != audits+1 {
		t.Fatalf("%d audit events for one roll", n-audits)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Check after the roll: %v", err)
	}
	// The expiry index holds the old key at its new expiry, not the old.
	wantOld := t0.Add(2 * time.Hour)
	ids, err := s.KeyIDsExpiring(t0, wantOld)
	if err != nil || len(ids) != 1 || ids[0] != keys[0].ID {
		t.Fatalf("expiry index up to the grace end: %v, %v", ids, err)
	}
	if ids, _ := s.KeyIDsExpiring(keys[0].ExpiresAt.Add(-time.Second), keys[0].ExpiresAt); len(ids) != 1 || ids[0] != keys[1].ID {
		t.Fatalf("the old expiry entry was not removed: %v", ids)
	}
	old, _ := s.GetKey(keys[0].ID)
	nk, _ := s.GetKey(r.New.ID)
	if old.RolledTo != nk.ID || nk.RolledFrom != old.ID || !old.ExpiresAt.Equal(wantOld) {
		t.Fatalf("stored links: %+v / %+v", old, nk)
	}
	raw := func(id string) (b []byte) {
		_ = s.db.View(func(tx *bolt.Tx) error {
			b = bytes.Clone(tx.Bucket(bucketKeys).Get([]byte(id)))
			return nil
		})
		return b
	}
	// A sealed store signs every record: all are in format v3.
	if raw(old.ID)[0] != seal.RecordV3 || raw(nk.ID)[0] != seal.RecordV3 || raw(keys[1].ID)[0] != seal.RecordV3 {
		t.Fatalf("record formats %#x %#x %#x", raw(old.ID)[0], raw(nk.ID)[0], raw(keys[1].ID)[0])
	}
	if bytes.Contains(raw(nk.ID), []byte(r.Secret)) {
		t.Fatal("the new record holds its secret")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		secret string
		at     time.Time
		want   core.Reason
	}{
		{secrets[0], t0.Add(2*time.Hour - time.Second), core.ReasonOK},
		{secrets[0], t0.Add(2 * time.Hour), core.ReasonExpired},
		{r.Secret, t0.Add(2 * time.Hour), core.ReasonOK},
		{secrets[1], t0.Add(2 * time.Hour), core.ReasonOK},
	} {
		s2, err := reseal(t, dir, kr)
		if err != nil {
			t.Fatalf("reseal after the roll: %v", err)
		}
		svc2, err := core.NewService(s2, kr.Signer(), core.FixedClock(tc.at), nil)
		if err != nil {
			t.Fatal(err)
		}
		if v := svc2.Verify(tc.secret, core.Target{}); v.Reason != tc.want {
			t.Errorf("at %v: %s, want %s", tc.at, v.Reason, tc.want)
		}
		s2.Close()
	}
}

// TestRollKeyRefusals: a roll of a rolled, missing or clashing record
// writes nothing.
func TestRollKeyRefusals(t *testing.T) {
	s, kr, _, keys, _ := sealedWithKeys(t, NewMemoryKeyring(), 2)
	svc, err := core.NewService(s, kr.Signer(), core.FixedClock(t0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Roll(keys[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	gen, _ := s.Generation()
	audits := auditLen(t, s)
	stored, _ := s.GetKey(keys[0].ID)
	again := stored.Clone()
	again.RolledTo = "ffffffffffffffff"
	fresh := keytest.Key("eeeeeeeeeeeeeeee", t0.Add(time.Hour))
	if err := s.RollKey(again, fresh, event(core.ActionRoll, again.ID)); !errors.Is(err, core.ErrAlreadyRolled) {
		t.Fatalf("second roll of a record: %v", err)
	}
	missing := keytest.Key("dddddddddddddddd", t0.Add(time.Hour))
	if err := s.RollKey(missing, fresh, event(core.ActionRoll, missing.ID)); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("roll of a missing record: %v", err)
	}
	other, _ := s.GetKey(keys[1].ID)
	clash := keytest.Key(keys[0].ID, t0.Add(time.Hour)) // the id of an existing key
	if err := s.RollKey(other, clash, event(core.ActionRoll, other.ID)); !errors.Is(err, core.ErrDuplicate) {
		t.Fatalf("roll onto an existing id: %v", err)
	}
	if g, _ := s.Generation(); g != gen || auditLen(t, s) != audits {
		t.Fatal("a refused roll changed the store")
	}
	if got, _ := s.GetKey(keys[1].ID); got.RolledTo != "" || !got.ExpiresAt.Equal(keys[1].ExpiresAt) {
		t.Fatalf("a refused roll changed the old record: %+v", got)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
