package replica

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
)

// settableClock is the replica's clock, moved by the test.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

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

// runReplica opens a replica of the admin's store with clock and follows
// the store until the test ends.
func runReplica(t *testing.T, open func() (*Replica, error)) *Replica {
	t.Helper()
	r, err := open()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
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
	k, oldSecret, err := admin.Create(long)
	if err != nil {
		t.Fatal(err)
	}
	k0, old0Secret, err := admin.Create(long)
	if err != nil {
		t.Fatal(err)
	}
	clk := &settableClock{t: time.Now()}
	r := runReplica(t, func() (*Replica, error) {
		return Open(context.Background(), ss.Store, ss.StoreID(), ss.Signer().Verifier(), Options{Clock: clk})
	})
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
