package replica

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/clocktest"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/pgstore"
)

// within polls cond until it holds and returns how long that took, failing
// the test after d (the bound the rule sets: 1 s for a change to reach a
// replica).
func within(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// runReplica opens a replica of the admin's store ss with opts and follows
// the store until the test (or the benchmark run) ends.
func runReplica(tb testing.TB, ss *pgstore.SealedStore, opts Options) *Replica {
	tb.Helper()
	r, err := Open(context.Background(), ss.Store, ss.StoreID(), ss.Signer().Verifier(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	return r
}

// A roll made by an admin reaches a running replica: the new key verifies
// there within 1 s, the old one keeps verifying until its grace ends and is
// `expired` from then on, and both records carry their links. With grace 0
// the old key is refused at once; deleting a rolled key removes it.
func TestRollReachesARunningReplica(t *testing.T) {
	ss, admin, _ := sharedStore(t, 0)
	long := req
	long.Lifetime = core.Lifetime{Duration: 30 * 24 * time.Hour}
	k, oldSecret := keytest.Create(t, admin, long)
	k0, old0Secret := keytest.Create(t, admin, long)
	clk := clocktest.New(time.Now())
	r := runReplica(t, ss, Options{Clock: clk})
	verify := func(secret string) core.Verification { return r.Service().Verify(secret, core.Target{}) }
	for _, s := range []string{oldSecret, old0Secret} {
		if v := verify(s); v.Reason != core.ReasonOK {
			t.Fatalf("before the roll: %s", v.Reason)
		}
	}

	rolled, err := admin.Roll(k.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	took := within(t, time.Second, "the new key verifies on the replica", func() bool { return verify(rolled.Secret).Reason == core.ReasonOK })
	t.Logf("roll propagation (grace 1h): the new key verified on the replica after %v", took)
	ov, nv := verify(oldSecret), verify(rolled.Secret)
	if ov.Reason != core.ReasonOK || !ov.Key.ExpiresAt.Equal(rolled.Old.ExpiresAt) || ov.Key.RolledTo != rolled.New.ID {
		t.Fatalf("the old key during its grace: %s, expires %v (want %v), rolled to %q", ov.Reason, ov.Key.ExpiresAt, rolled.Old.ExpiresAt, ov.Key.RolledTo)
	}
	if nv.Key.RolledFrom != k.ID || nv.Key.Name != k.Name {
		t.Fatalf("the new key on the replica: rolled from %q, name %q", nv.Key.RolledFrom, nv.Key.Name)
	}
	if !rolled.Old.ExpiresAt.Before(k.ExpiresAt) {
		t.Fatalf("the old key's expiry was not shortened: %v", rolled.Old.ExpiresAt)
	}
	for _, c := range []struct {
		at        time.Time
		old, next core.Reason
	}{
		{rolled.Old.ExpiresAt.Add(-time.Second), core.ReasonOK, core.ReasonOK},
		{rolled.Old.ExpiresAt, core.ReasonExpired, core.ReasonOK},
		{rolled.Old.ExpiresAt.Add(24 * time.Hour), core.ReasonExpired, core.ReasonOK},
	} {
		clk.Set(c.at)
		if got, gotNew := verify(oldSecret).Reason, verify(rolled.Secret).Reason; got != c.old || gotNew != c.next {
			t.Errorf("at grace end %+v: old key %s (want %s), new key %s (want %s)",
				c.at.Sub(rolled.Old.ExpiresAt), got, c.old, gotNew, c.next)
		}
	}
	clk.Set(time.Now())

	// Grace 0: the old key is refused at once.
	rolled0, err := admin.Roll(k0.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	took = within(t, time.Second, "grace 0: the old key is refused and the new one verifies on the replica", func() bool {
		return verify(old0Secret).Reason == core.ReasonExpired && verify(rolled0.Secret).Reason == core.ReasonOK
	})
	t.Logf("roll propagation (grace 0): the old key refused after %v", took)

	// The rolled key deleted during its grace: refused at once.
	if _, err := admin.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "a deleted rolled key is refused", func() bool { return verify(oldSecret).Reason == core.ReasonUnknown })
	if v := verify(rolled.Secret); v.Reason != core.ReasonOK {
		t.Fatalf("the new key after the old one was deleted: %s", v.Reason)
	}
	if h := r.Health(); h.Status != "ok" {
		t.Fatalf("health after the rolls: %+v", h)
	}
}

// While a database writer's revived row makes the replica refuse the set
// (no signed state covers it), a roll made meanwhile still restricts the
// old key there, as a deletion would: the old key of a leaked secret is
// refused at the end of its grace, not kept until its own expiry. Only a
// validly signed roll of the record the replica holds applies; the new key
// waits for a signed set, and a pre-roll row written back never replaces
// a rolled record.
func TestRollAppliesWhileTheSetIsRefused(t *testing.T) {
	ss, admin, _ := sharedStore(t, 0)
	ctx := context.Background()
	long := req
	long.Lifetime = core.Lifetime{Duration: 30 * 24 * time.Hour}
	victim, _ := keytest.Create(t, admin, long)
	leaked, leakedSecret := keytest.Create(t, admin, long)
	earlier, earlierSecret := keytest.Create(t, admin, long)
	exec(t, ss, `CREATE TABLE saved AS SELECT * FROM keys`)
	rolledEarlier, err := admin.Roll(earlier.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(secret string) core.Verification { return r.Service().Verify(secret, core.Target{}) }
	if _, err := admin.Delete(victim.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	// The writer revives the deleted row, and puts back the pre-roll row
	// of the key rolled earlier (its longer expiry, no link).
	exec(t, ss, `INSERT INTO keys SELECT * FROM saved WHERE id = $1`, victim.ID)
	exec(t, ss, `UPDATE keys SET expires_ns = s.expires_ns, mac = s.mac, record = s.record FROM saved s WHERE keys.id = s.id AND keys.id = $1`, earlier.ID)
	exec(t, ss, `INSERT INTO changes (kind, op, name) VALUES ('key', 'insert', $1), ('key', 'update', $2)`, victim.ID, earlier.ID)
	rolled, err := admin.Roll(leaked.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); !errors.Is(err, pgstore.ErrStateMismatch) {
		t.Fatalf("sync with a revived row: %v, want ErrStateMismatch", err)
	}
	if v := verify(leakedSecret); v.Reason != core.ReasonExpired || v.Key.RolledTo != rolled.New.ID {
		t.Fatalf("the old key rolled with grace 0, on a replica refusing the set: %s (rolled to %q)", v.Reason, v.Key.RolledTo)
	}
	if v := verify(rolled.Secret); v.Reason != core.ReasonUnknown {
		t.Fatalf("the new key without a signed set: %s, want unknown", v.Reason)
	}
	if v := verify(earlierSecret); !v.Key.ExpiresAt.Equal(rolledEarlier.Old.ExpiresAt) || v.Key.RolledTo != rolledEarlier.New.ID {
		t.Fatalf("the pre-roll row written back replaced the rolled record: expires %v (want %v), rolled to %q",
			v.Key.ExpiresAt, rolledEarlier.Old.ExpiresAt, v.Key.RolledTo)
	}
	if h := r.Health(); h.Status != "degraded" || h.Problem == "" {
		t.Fatalf("health while the set is refused: %+v", h)
	}
}
