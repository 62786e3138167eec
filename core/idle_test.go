package core_test

import (
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/clocktest"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
)

// bboltService returns a service over a real bbolt store in a temporary
// folder, with a settable clock at start.
func bboltService(t *testing.T, start time.Time) (*core.Service, *storage.Store, *clocktest.Clock) {
	t.Helper()
	st := storetest.OpenBbolt(t, t.TempDir())
	signer, err := seal.NewSigner(make([]byte, seal.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(start)
	svc, err := core.NewService(st, signer, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, clk
}

func TestIdleBoundaries(t *testing.T) {
	created := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	used := created.Add(10 * 24 * time.Hour)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name     string
		lastUsed time.Time
		at       time.Time
		idle     bool
	}{
		{"never used, 89d23h after creation", time.Time{}, created.Add(89*day + 23*time.Hour), false},
		{"never used, 90d after creation", time.Time{}, created.Add(90 * day), true},
		{"never used, a nanosecond before 90d", time.Time{}, created.Add(90*day - 1), false},
		{"used, 89d23h after the use", used, used.Add(89*day + 23*time.Hour), false},
		{"used, 90d after the use", used, used.Add(90 * day), true},
		{"used, 90d after creation but not after the use", used, created.Add(90 * day), false},
		{"expired keys are expired, not idle", time.Time{}, created.AddDate(1, 0, 0), false},
	} {
		k := &core.Key{CreatedAt: created, ExpiresAt: created.AddDate(0, 12, 0), LastUsedAt: tc.lastUsed}
		if got := k.IsIdle(tc.at); got != tc.idle {
			t.Errorf("%s: IsIdle = %v, want %v (idle since %v)", tc.name, got, tc.idle, k.IdleSince())
		}
	}
}

// TestVerifyDoesNotRecordUse: the admin's test (`keys verify`, Try a key)
// goes through Verify and must leave Last used alone; the API goes through
// VerifyUse.
func TestVerifyDoesNotRecordUse(t *testing.T) {
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	svc, st, clk := bboltService(t, start)
	k, secret, err := svc.Create(core.CreateRequest{Name: "svc", Permissions: core.Permissions{Kind: core.KindGlobal}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(start.Add(time.Hour))
	if v := svc.Verify(secret, core.Target{}); v.Reason != core.ReasonOK || !v.LastUsedAt.IsZero() {
		t.Fatalf("Verify: %s, last used %v", v.Reason, v.LastUsedAt)
	}
	if err := svc.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetKey(k.ID); !got.LastUsedAt.IsZero() {
		t.Fatalf("an admin's test set Last used to %v", got.LastUsedAt)
	}
	if v := svc.VerifyUse(secret, core.Target{}); v.Reason != core.ReasonOK || !v.LastUsedAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("VerifyUse: %s, last used %v", v.Reason, v.LastUsedAt)
	}
	if err := svc.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetKey(k.ID); !got.LastUsedAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("real use stored as %v", got.LastUsedAt)
	}
}

// TestDigestIdleOnce walks consecutive daily slots: each key appears in the
// idle list of exactly one digest, the one whose (T-24h, T] holds the
// moment it became idle, through the service's fast path and through the
// store alike.
func TestDigestIdleOnce(t *testing.T) {
	start := time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)
	svc, st, clk := bboltService(t, start)
	mk := func(name string) (*core.Key, string) {
		k, secret, err := svc.Create(core.CreateRequest{Name: name, Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"users": core.AccessRead}}})
		if err != nil {
			t.Fatal(err)
		}
		return k, secret
	}
	never, _ := mk("never used")
	_, usedSecret := mk("used once")
	_, busySecret := mk("used daily")
	clk.Set(start.Add(5 * 24 * time.Hour))
	svc.VerifyUse(usedSecret, core.Target{})
	reported := map[string][]time.Time{}
	first := core.NextSlot(start)
	for slot := first; slot.Before(start.Add(120 * 24 * time.Hour)); slot = slot.AddDate(0, 0, 1) {
		clk.Set(slot.Add(-time.Hour))
		svc.VerifyUse(busySecret, core.Target{})
		if err := svc.FlushLastUsed(); err != nil {
			t.Fatal(err)
		}
		clk.Set(slot)
		fast, err := svc.SelectDigest(slot, slot.AddDate(0, 0, -1))
		if err != nil {
			t.Fatal(err)
		}
		slow, err := core.SelectDigest(st, slot, slot.AddDate(0, 0, -1))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(digestNames(fast.Idle), digestNames(slow.Idle)) {
			t.Fatalf("slot %v: service idle %q, store idle %q", slot, digestNames(fast.Idle), digestNames(slow.Idle))
		}
		for _, k := range fast.Idle {
			reported[k.Name] = append(reported[k.Name], slot)
		}
	}
	wantNever := core.NextSlot(never.CreatedAt.Add(core.IdleAfter).Add(-time.Nanosecond))
	if got := reported["never used"]; len(got) != 1 || !got[0].Equal(wantNever) {
		t.Errorf("never-used key reported at %v, want once at %v", got, wantNever)
	}
	wantUsed := core.NextSlot(start.Add(5 * 24 * time.Hour).Add(core.IdleAfter).Add(-time.Nanosecond))
	if got := reported["used once"]; len(got) != 1 || !got[0].Equal(wantUsed) {
		t.Errorf("key used once reported at %v, want once at %v", got, wantUsed)
	}
	if got := reported["used daily"]; len(got) != 0 {
		t.Errorf("a key in daily use was reported idle at %v", got)
	}
}

// TestFirstDigestCatchUp: before any delivery, the scheduler passes the
// time mail was set up as lastDelivered, and the first digest covers every
// key that expired or became idle since then.
func TestFirstDigestCatchUp(t *testing.T) {
	setup := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	svc, _, clk := bboltService(t, setup.Add(-88*24*time.Hour))
	_, _, err := svc.Create(core.CreateRequest{Name: "idle", Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"users": core.AccessRead}}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(setup.Add(-3 * 24 * time.Hour))
	if _, _, err := svc.Create(core.CreateRequest{Name: "short", Lifetime: core.Lifetime{Duration: 4 * 24 * time.Hour}, Permissions: core.Permissions{Kind: core.KindGlobal}}); err != nil {
		t.Fatal(err)
	}
	// The app was closed for five days after mail was set up.
	slot := core.SlotAtOrBefore(setup.Add(5 * 24 * time.Hour))
	clk.Set(slot)
	d, err := svc.SelectDigest(slot, setup)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Since.Equal(setup) || !slices.Equal(digestNames(d.Expired), []string{"short"}) {
		t.Fatalf("first digest since %v expired %q, want the key that expired a day after set-up", d.Since, digestNames(d.Expired))
	}
	// Never used, it became idle two days after set-up.
	if !slices.Equal(digestNames(d.Idle), []string{"idle"}) {
		t.Fatalf("idle %q", digestNames(d.Idle))
	}
	// Without the set-up time only the last 24 hours are covered.
	if d, _ := svc.SelectDigest(slot, time.Time{}); len(d.Expired) != 0 || len(d.Idle) != 0 {
		t.Fatalf("24-hour window found %q / %q", digestNames(d.Expired), digestNames(d.Idle))
	}
}
