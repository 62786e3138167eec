package core_test

import (
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
)

// TestCountStates: every key is counted in exactly one state, by the
// service's clock, and a use not yet written keeps a key active.
func TestCountStates(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	svc, _, clk := bboltService(t, start)
	ops := core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}}
	create := func(name string, l core.Lifetime) (*core.Key, string) {
		t.Helper()
		k, secret, err := svc.Create(core.CreateRequest{Name: name, Lifetime: l, Permissions: ops})
		if err != nil {
			t.Fatal(err)
		}
		return k, secret
	}
	create("short", core.Lifetime{Duration: 30 * 24 * time.Hour})
	create("unused", core.Lifetime{Months: 12})
	_, usedSecret := create("used", core.Lifetime{Months: 12})
	gone, _ := create("deleted", core.Lifetime{Months: 12})

	if got, want := svc.CountStates(), (core.KeyStates{Active: 4}); got != want {
		t.Fatalf("at creation: %+v, want %+v", got, want)
	}
	if _, err := svc.Delete(gone.ID); err != nil {
		t.Fatal(err)
	}
	// A use at day 50, still pending (not flushed), keeps "used" active
	// at day 90, when "unused" becomes idle and "short" has expired.
	clk.Set(start.Add(50 * 24 * time.Hour))
	if v := svc.VerifyUse(usedSecret, core.Target{}); v.Reason != core.ReasonOK {
		t.Fatalf("use: %s", v.Reason)
	}
	clk.Set(start.Add(core.IdleAfter - time.Nanosecond))
	if got, want := svc.CountStates(), (core.KeyStates{Active: 2, Expired: 1}); got != want {
		t.Fatalf("a nanosecond before 90 days: %+v, want %+v", got, want)
	}
	clk.Set(start.Add(core.IdleAfter))
	if got, want := svc.CountStates(), (core.KeyStates{Active: 1, Expired: 1, Idle: 1}); got != want {
		t.Fatalf("at 90 days: %+v, want %+v", got, want)
	}
	if err := svc.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	if got, want := svc.CountStates(), (core.KeyStates{Active: 1, Expired: 1, Idle: 1}); got != want {
		t.Fatalf("after the flush: %+v, want %+v", got, want)
	}
	// 90 days after the use, the used key is idle too.
	clk.Set(start.Add(140 * 24 * time.Hour))
	if got, want := svc.CountStates(), (core.KeyStates{Expired: 1, Idle: 2}); got != want {
		t.Fatalf("90 days after the use: %+v, want %+v", got, want)
	}
}
