package core

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// A service with verification material only (a replica) cannot roll: the
// roll would sign two records. It fails with ErrVerifyOnly and writes
// nothing, whichever key it is asked about.
func TestVerifyOnlyServiceCannotRoll(t *testing.T) {
	admin, st, clk := newTestService(t)
	k, secret := mustCreate(t, admin, CreateRequest{Name: "billing", Permissions: sections(map[string]Access{"users": AccessRead})})
	for name, open := range map[string]func(Store, RecordVerifier, Clock, *Catalog) (*Service, error){
		"verify-only": NewVerifyService, "lazy verify-only": NewLazyVerifyService,
	} {
		vs, err := open(st, newSigner(), clk, nil)
		if err != nil {
			t.Fatal(err)
		}
		audits := len(st.audit)
		for _, id := range []string{k.ID, "no-such-key"} {
			if _, err := vs.Roll(id, time.Hour); !errors.Is(err, ErrVerifyOnly) {
				t.Fatalf("%s: Roll(%s) = %v, want ErrVerifyOnly", name, id, err)
			}
		}
		if len(st.keys) != 1 || len(st.audit) != audits {
			t.Fatalf("%s: the refused roll wrote: %d keys, %d audit entries", name, len(st.keys), len(st.audit))
		}
		if got := st.keys[k.ID]; !got.ExpiresAt.Equal(k.ExpiresAt) || got.RolledTo != "" {
			t.Fatalf("%s: the refused roll changed the record: %+v", name, got)
		}
		if v := vs.Verify(secret, Target{}); v.Reason != ReasonOK {
			t.Fatalf("%s: the key after the refused roll: %s", name, v.Reason)
		}
	}
}

// checkIdleRows checks the packed idle rows against the index: one row per
// entry, each entry's row number its position.
func checkIdleRows(t *testing.T, s *Service) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	indexed := len(s.byDigest) + len(s.collided)
	for _, r := range s.idleRows {
		if r.e != nil && len(r.e.key.Digest) != digestLen {
			indexed++ // in the rows, not in the digest map (see digestOf)
		}
	}
	if len(s.idleRows) != indexed {
		t.Fatalf("%d idle rows for %d keys", len(s.idleRows), indexed)
	}
	for i, r := range s.idleRows {
		if r.e == nil || int(r.e.row) != i || !r.e.indexed() ||
			len(r.e.key.Digest) == digestLen && s.lookup(&r.e.digest) != r.e {
			t.Fatalf("idle row %d does not belong to a live entry (%+v)", i, r)
		}
		if r.since != r.e.key.IdleSince().UnixNano() || r.expires != r.e.key.ExpiresAt.UnixNano() ||
			r.e.expires != r.expires || r.e.lastUsed != lastUsedNano(r.e.key) {
			t.Fatalf("idle row %d is stale for key %s", i, r.e.key.ID)
		}
	}
}

// lastUsedNano is k's stored last use as an entry keeps it.
func lastUsedNano(k *Key) int64 {
	if k.LastUsedAt.IsZero() {
		return noUse
	}
	return k.LastUsedAt.UnixNano()
}

// A replica follows an admin through many remote creates, renames, rolls
// and deletes (ApplyRemote, RemoveRemote, as replica.Sync applies them): its
// idle rows stay one per live key, and its idle selection is exactly the
// admin's and the store's: never a removed key, never a record replaced.
func TestRemoteChurnKeepsIdleSelection(t *testing.T) {
	admin, st, clk := newTestService(t)
	replica, err := NewLazyVerifyService(st, newSigner(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(14, 11))
	perms := sections(map[string]Access{"messaging": AccessRead})
	var live []string // ids of keys in the store
	removed := map[string]bool{}
	pick := func() (int, string) { i := rng.IntN(len(live)); return i, live[i] }
	for step := range 2000 {
		// Keys are created over ten days, so their idle times spread.
		clk.Set(t0.Add(time.Duration(step) * 7 * time.Minute))
		switch op := rng.IntN(10); {
		case op < 4 || len(live) < 5: // create
			k, _ := mustCreate(t, admin, CreateRequest{Name: "churn", Lifetime: Lifetime{Duration: 180 * 24 * time.Hour}, Permissions: perms})
			replica.ApplyRemote(st.keys[k.ID])
			live = append(live, k.ID)
		case op < 6: // delete
			i, id := pick()
			if _, err := admin.Delete(id); err != nil {
				t.Fatal(err)
			}
			if !replica.RemoveRemote(id) {
				t.Fatalf("step %d: the replica did not hold %s", step, id)
			}
			live = slices.Delete(live, i, i+1)
			removed[id] = true
		case op < 7: // rename (same id and digest)
			_, id := pick()
			if _, err := admin.Rename(id, "renamed"); err != nil {
				t.Fatal(err)
			}
			replica.ApplyRemote(st.keys[id])
		case op < 8: // roll: the old record replaced, a new key added
			_, id := pick()
			r, err := admin.Roll(id, 0)
			if errors.Is(err, ErrAlreadyRolled) || errors.Is(err, ErrKeyExpired) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			replica.ApplyRemote(st.keys[r.Old.ID])
			replica.ApplyRemote(st.keys[r.New.ID])
			live = append(live, r.New.ID)
		case op < 9: // a removal seen twice (a follower's notice, then Sync)
			_, id := pick()
			if _, err := admin.Delete(id); err != nil {
				t.Fatal(err)
			}
			replica.RemoveRemote(id)
			if replica.RemoveRemote(id) {
				t.Fatalf("step %d: %s removed twice", step, id)
			}
			live = slices.DeleteFunc(live, func(s string) bool { return s == id })
			removed[id] = true
		default: // a record replaced under the same id by one with another digest
			_, id := pick()
			k := st.keys[id].Clone()
			k.Digest = admin.signer.(hmacSigner).DigestSecret("another secret " + id)
			k.MAC = admin.admin.SignRecord(k.MACPayload())
			st.keys[id] = k
			admin.ApplyRemote(k)
			replica.ApplyRemote(k)
		}
	}
	checkIdleRows(t, replica)
	if len(replica.List()) != len(live) {
		t.Fatalf("the replica lists %d keys, the store holds %d", len(replica.List()), len(live))
	}
	all, _ := st.ListKeys()
	ids := func(keys []*Key) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = k.ID
		}
		return out
	}
	// Every 12 hours across the days the keys become idle.
	for after := t0.Add(IdleAfter - 12*time.Hour); after.Before(t0.Add(IdleAfter + 11*24*time.Hour)); after = after.Add(12 * time.Hour) {
		until := after.Add(12 * time.Hour)
		got, err := replica.selectIdle(after, until)
		if err != nil {
			t.Fatal(err)
		}
		want := ids(selectIdle(all, after, until))
		if !slices.Equal(ids(got), want) {
			t.Fatalf("idle in (%v, %v]: the replica lists %v, the store %v", after, until, ids(got), want)
		}
		for _, id := range ids(got) {
			if removed[id] {
				t.Fatalf("the replica lists the removed key %s as idle", id)
			}
		}
	}
	if len(removed) < 100 {
		t.Fatalf("only %d keys removed: the test did not churn", len(removed))
	}
}
