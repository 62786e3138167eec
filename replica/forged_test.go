package replica

import (
	"context"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
)

// The attack, written by someone who may write the change table (a
// superuser): a change row numbered far ahead. A replica started afterwards
// is not frozen by it: a key created later verifies, a key deleted later
// stops verifying, and /healthz says ok (the replica shows it is current:
// its set matches the store's signed state).
func TestForgedChangeNumberDoesNotFreezeAReplica(t *testing.T) {
	ss, admin, _ := sharedStore(t, 0)
	gone, goneSecret := keytest.Create(t, admin, req)
	exec(t, ss, `INSERT INTO changes (seq, at, kind, op, name) VALUES (9223372036854775000, now(), 'setting', 'update', 'x')`)
	r := runReplica(t, ss, Options{Heartbeat: 100 * time.Millisecond})
	verify := func(secret string) core.Reason { return r.Service().Verify(secret, core.Target{}).Reason }
	if got := verify(goneSecret); got != core.ReasonOK {
		t.Fatalf("a key created before: %v", got)
	}
	_, secret := keytest.Create(t, admin, req)
	if _, err := admin.Delete(gone.ID); err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "the created key to verify", func() bool { return verify(secret) == core.ReasonOK })
	within(t, 20*time.Second, "the deleted key to stop verifying", func() bool { return verify(goneSecret) == core.ReasonUnknown })
	within(t, 20*time.Second, "health ok", func() bool { return r.Health().Status == "ok" })
}

// Changes removed from the change table (a gap) leave the replica's set
// short of the signed state: it reads the whole signed state again instead
// of trusting the change numbers, and is current.
func TestSyncReloadsAfterAGap(t *testing.T) {
	ss, admin, _ := sharedStore(t, 0)
	gone, goneSecret := keytest.Create(t, admin, req)
	ctx := context.Background()
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, secret := keytest.Create(t, admin, req)
	if _, err := admin.Delete(gone.ID); err != nil {
		t.Fatal(err)
	}
	exec(t, ss, `DELETE FROM changes WHERE name IN ($1, $2)`, k.ID, gone.ID)
	if err := r.Sync(ctx); err != nil {
		t.Fatalf("Sync after a gap: %v", err)
	}
	if v := r.Service().Verify(secret, core.Target{}); v.Reason != core.ReasonOK {
		t.Fatalf("the key whose change was removed: %v", v.Reason)
	}
	if v := r.Service().Verify(goneSecret, core.Target{}); v.Reason != core.ReasonUnknown {
		t.Fatalf("the key deleted in the gap: %v", v.Reason)
	}
	if h := r.Health(); h.Status != "ok" {
		t.Fatalf("health after the reload: %+v", h)
	}
	// The replica follows on from the reload.
	_, later := keytest.Create(t, admin, req)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if v := r.Service().Verify(later, core.Target{}); v.Reason != core.ReasonOK {
		t.Fatalf("a key created after the reload: %v", v.Reason)
	}
}

// A replica away longer than the change log is kept (the admin pruned the
// changes it had not applied) reads the whole signed state again and goes
// on following, instead of stopping: a key created while it was away and
// one created after verify on it.
func TestReplicaCatchesUpAfterThePrunedChanges(t *testing.T) {
	ss, admin, _ := sharedStore(t, 0)
	ctx := context.Background()
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{Heartbeat: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, away := keytest.Create(t, admin, req)
	_, away2 := keytest.Create(t, admin, req)
	exec(t, ss, `UPDATE changes SET at = '2026-01-01T00:00:00Z'`)
	if n, err := ss.PruneChanges(ctx, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)); err != nil || n == 0 {
		t.Fatalf("PruneChanges = %d, %v", n, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	verify := func(secret string) core.Reason { return r.Service().Verify(secret, core.Target{}).Reason }
	within(t, 20*time.Second, "the keys created while away to verify", func() bool {
		return verify(away) == core.ReasonOK && verify(away2) == core.ReasonOK
	})
	_, later := keytest.Create(t, admin, req)
	within(t, 20*time.Second, "a key created after the reload to verify", func() bool { return verify(later) == core.ReasonOK })
	select {
	case err := <-done:
		done <- err
		t.Fatalf("Run stopped: %v", err)
	default:
	}
}
