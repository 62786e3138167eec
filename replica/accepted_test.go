package replica

import (
	"context"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/pgstore"
)

// A window's replica keeps no set element per key: the set digest it
// checks each signed state against stays right through the window's own
// changes (which reach its service before the change log) and another
// admin's, in any order, so no Sync needs a full reload, and once every
// change came back the replica holds no exception and its digest is the
// store's. (Derived from the service alone, the digest is wrong after the
// window's own change: every Sync then reloads.)
func TestOwnChangesKeepTheSetDigest(t *testing.T) {
	ss, other, _ := sharedStore(t, 0)
	long := req
	long.Lifetime = core.Lifetime{Duration: 30 * 24 * time.Hour}
	before := make([]*core.Key, 4)
	for i := range before {
		before[i], _ = keytest.Create(t, other, long)
	}
	var own *core.Service
	r, err := Open(context.Background(), ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{
		NewService: func(keys []*core.Key, catalog *core.Catalog) (*core.Service, error) {
			svc, err := core.NewService(pgstore.Preload(ss, keys), ss.Signer(), core.SystemClock{}, catalog)
			own = svc
			return svc, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sync := func(step string) {
		t.Helper()
		if err := r.Sync(ctx); err != nil {
			t.Fatalf("%s: Sync: %v", step, err)
		}
		r.syncMu.Lock()
		reloads := r.reloads
		r.syncMu.Unlock()
		if reloads != 0 {
			t.Fatalf("%s: the replica reloaded the whole signed state %d times", step, reloads)
		}
	}
	mine, mineSecret := keytest.Create(t, own, long)
	sync("own create")
	if _, err := own.Rename(before[0].ID, "renamed here"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Rename(before[1].ID, "renamed there"); err != nil {
		t.Fatal(err)
	}
	sync("own and other's rename")
	rolled, err := own.Roll(before[2].ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Changes of the window's own before the last one came back.
	if _, err := own.Rename(rolled.New.ID, "rolled here"); err != nil {
		t.Fatal(err)
	}
	if _, err := own.Delete(before[3].ID); err != nil {
		t.Fatal(err)
	}
	if r.diverging() == 0 {
		t.Fatal("the window's own changes left no exception before Sync")
	}
	theirs, theirSecret := keytest.Create(t, other, long)
	sync("own roll, rename, delete; other's create")
	if _, err := own.Rename(mine.ID, "renamed twice"); err != nil {
		t.Fatal(err)
	}
	if _, err := own.Delete(mine.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Delete(before[1].ID); err != nil {
		t.Fatal(err)
	}
	sync("own rename then delete; other's delete")
	sync("nothing new")
	if n := r.diverging(); n != 0 {
		t.Fatalf("%d exceptions left once every change came back", n)
	}
	snap, err := ss.ReadSignedSnapshot(ctx, ss.Signer().Verifier(), 0)
	if err != nil {
		t.Fatal(err)
	}
	r.syncMu.Lock()
	same := r.acc.Equal(&snap.Set)
	r.syncMu.Unlock()
	if !same {
		t.Fatal("the replica's set digest is not the store's")
	}
	for secret, want := range map[string]core.Reason{mineSecret: core.ReasonUnknown, theirSecret: core.ReasonOK, rolled.Secret: core.ReasonOK} {
		if v := own.Verify(secret, core.Target{}); v.Reason != want {
			t.Fatalf("verify: %s, want %s", v.Reason, want)
		}
	}
	if _, err := own.Get(theirs.ID); err != nil {
		t.Fatalf("another admin's key: %v", err)
	}
}

// The same while the replica runs (its follower deleting at once, Sync on
// every change and heartbeat) and the window and another admin change keys
// at the same time: no Sync needs a full reload, and once both stop the
// replica's digest is the store's with no exception left.
func TestOwnChangesWhileFollowing(t *testing.T) {
	ss, other, _ := sharedStore(t, 0)
	long := req
	long.Lifetime = core.Lifetime{Duration: 30 * 24 * time.Hour}
	var own *core.Service
	r := running(t, ss, Options{NewService: func(keys []*core.Key, catalog *core.Catalog) (*core.Service, error) {
		svc, err := core.NewService(pgstore.Preload(ss, keys), ss.Signer(), core.SystemClock{}, catalog)
		own = svc
		return svc, err
	}})
	churn := func(svc *core.Service, rounds int) error {
		for range rounds {
			k, _, err := svc.Create(long)
			if err != nil {
				return err
			}
			if _, err := svc.Rename(k.ID, "renamed"); err != nil {
				return err
			}
			rolled, err := svc.Roll(k.ID, time.Hour)
			if err != nil {
				return err
			}
			if _, err := svc.Delete(rolled.Old.ID); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make(chan error, 2)
	go func() { errs <- churn(own, 15) }()
	go func() { errs <- churn(other, 15) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	snap, err := ss.ReadSignedSnapshot(context.Background(), ss.Signer().Verifier(), 0)
	if err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "the replica to read every change back", func() bool {
		r.syncMu.Lock()
		defer r.syncMu.Unlock()
		return r.seq >= snap.Seq && r.acc.Equal(&snap.Set)
	})
	r.syncMu.Lock()
	reloads := r.reloads
	r.syncMu.Unlock()
	if reloads != 0 {
		t.Fatalf("the replica reloaded the whole signed state %d times", reloads)
	}
	within(t, 20*time.Second, "no exception left", func() bool { return r.diverging() == 0 })
	if got, want := len(own.List()), len(snap.Keys); got != want {
		t.Fatalf("%d keys in the window's service, %d in the store", got, want)
	}
}
