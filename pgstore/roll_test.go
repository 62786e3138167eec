package pgstore

import (
	"errors"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
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
	k, oldSecret, err := svc.Create(sectionRequest("billing"))
	if err != nil {
		t.Fatal(err)
	}
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
	other, _, err := svc.Create(sectionRequest("other"))
	if err != nil {
		t.Fatal(err)
	}
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
