package core

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// mustRoll rolls the key id with grace through svc.
func mustRoll(t *testing.T, svc *Service, id string, grace time.Duration) Rolled {
	t.Helper()
	r, err := svc.Roll(id, grace)
	if err != nil {
		t.Fatalf("Roll(%s, %v): %v", id, grace, err)
	}
	return r
}

func TestRollEachGrace(t *testing.T) {
	for _, grace := range GraceChoices {
		t.Run(FormatGrace(grace), func(t *testing.T) {
			svc, st, clk := newTestService(t)
			perms := sections(map[string]Access{"users": AccessRead})
			old, oldSecret := mustCreate(t, svc, CreateRequest{Name: "billing", Lifetime: Lifetime{Duration: 30 * 24 * time.Hour}, Permissions: perms})
			clk.Set(t0.Add(10 * 24 * time.Hour))
			now := clk.Now()
			r := mustRoll(t, svc, old.ID, grace)
			if r.Secret == "" || r.Secret == oldSecret || CheckKey(r.Secret) != nil {
				t.Fatalf("new secret %q", r.Secret)
			}
			created := now.Truncate(time.Second)
			if !r.New.CreatedAt.Equal(created) || !r.New.ExpiresAt.Equal(created.Add(30*24*time.Hour)) {
				t.Fatalf("new key lives %v to %v, want 30 days from %v", r.New.CreatedAt, r.New.ExpiresAt, created)
			}
			if r.New.Name != "billing" || strings.Join(r.New.Scopes, " ") != strings.Join(old.Scopes, " ") || r.New.Permissions.Sections["users"] != AccessRead {
				t.Fatalf("new key %+v does not keep the name and permissions of %+v", r.New, old)
			}
			if want := created.Add(grace); !r.Old.ExpiresAt.Equal(want) {
				t.Fatalf("old key expires %v, want %v", r.Old.ExpiresAt, want)
			}
			if r.Old.RolledTo != r.New.ID || r.New.RolledFrom != old.ID {
				t.Fatalf("links: old→%q new←%q", r.Old.RolledTo, r.New.RolledFrom)
			}
			// Both records as stored, linked both ways, with valid MACs.
			so, sn := st.keys[old.ID], st.keys[r.New.ID]
			if so.RolledTo != sn.ID || sn.RolledFrom != so.ID || !so.ExpiresAt.Equal(r.Old.ExpiresAt) {
				t.Fatalf("stored: %+v / %+v", so, sn)
			}
			if a := st.audit[len(st.audit)-1]; a.Action != ActionRoll || a.KeyID != old.ID || !strings.Contains(a.Detail, sn.ID) || strings.Contains(a.Detail, r.Secret) {
				t.Fatalf("audit %+v", a)
			}
			svc2, err := NewService(st, newSigner(), clk, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range svc2.List() {
				if k.Tampered {
					t.Fatalf("key %s reloads as tampered", k.ID)
				}
			}
			// The new key verifies at once; the old one during the
			// grace and `expired` from its end.
			if v := svc2.Verify(r.Secret, Target{}); v.Reason != ReasonOK {
				t.Fatalf("new key: %s", v.Reason)
			}
			if grace > 0 {
				clk.Set(created.Add(grace - time.Second))
				if v := svc2.Verify(oldSecret, Target{}); v.Reason != ReasonOK {
					t.Fatalf("old key during the grace: %s", v.Reason)
				}
			}
			clk.Set(created.Add(grace))
			if v := svc2.Verify(oldSecret, Target{}); v.Reason != ReasonExpired {
				t.Fatalf("old key at the end of the grace: %s", v.Reason)
			}
		})
	}
}

func TestRollNeverExtends(t *testing.T) {
	svc, _, clk := newTestService(t)
	old, _ := mustCreate(t, svc, CreateRequest{Name: "short", Lifetime: Lifetime{Duration: 2 * time.Hour}, Permissions: Permissions{Kind: KindGlobal}})
	clk.Set(t0.Add(90 * time.Minute))
	r := mustRoll(t, svc, old.ID, 7*24*time.Hour)
	if !r.Old.ExpiresAt.Equal(old.ExpiresAt) {
		t.Fatalf("a 7-day grace moved the expiry %v to %v", old.ExpiresAt, r.Old.ExpiresAt)
	}
	if got := r.New.ExpiresAt.Sub(r.New.CreatedAt); got != 2*time.Hour {
		t.Fatalf("new lifetime %v, want the old 2h", got)
	}
}

func TestRollGlobalAndLongLifetimes(t *testing.T) {
	svc, _, clk := newTestService(t)
	g, _ := mustCreate(t, svc, CreateRequest{Name: "dev", Permissions: Permissions{Kind: KindGlobal}})
	clk.Set(t0.Add(24 * time.Hour))
	r := mustRoll(t, svc, g.ID, DefaultGrace)
	if got := r.New.ExpiresAt.Sub(r.New.CreatedAt); got != GlobalMaxLifetime || r.New.Permissions.Kind != KindGlobal {
		t.Fatalf("rolled Global key lives %v (%s)", got, r.New.Permissions.Kind)
	}
	// A 12-month key created 2027-03-01 lives 366 days (2028 has a 29
	// February); rolled on 2028-02-29 the next 12 months have 365 days,
	// so the same length would break the 12-month rule: it is capped.
	clk.Set(time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC))
	y, _ := mustCreate(t, svc, CreateRequest{Name: "year", Permissions: sections(map[string]Access{"users": AccessRead})})
	clk.Set(time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC))
	r = mustRoll(t, svc, y.ID, 0)
	if want := time.Date(2029, 2, 28, 12, 0, 0, 0, time.UTC); !r.New.ExpiresAt.Equal(MaxExpiry(r.New.CreatedAt, KindSections)) || r.New.ExpiresAt.After(want.AddDate(0, 0, 1)) {
		t.Fatalf("rolled 12-month key expires %v, beyond the 12-month rule", r.New.ExpiresAt)
	}
}

func TestRollBadTargets(t *testing.T) {
	svc, st, clk := newTestService(t)
	short, _ := mustCreate(t, svc, CreateRequest{Name: "short", Lifetime: Lifetime{Duration: time.Hour}, Permissions: Permissions{Kind: KindGlobal}})
	good, _ := mustCreate(t, svc, CreateRequest{Name: "good", Permissions: Permissions{Kind: KindGlobal}})
	bad, _ := mustCreate(t, svc, CreateRequest{Name: "bad", Permissions: Permissions{Kind: KindGlobal}})
	// A record altered in the store loads as tampered.
	st.keys[bad.ID].ExpiresAt = st.keys[bad.ID].ExpiresAt.Add(time.Hour)
	svc, err := NewService(st, newSigner(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRoll(t, svc, good.ID, 0)
	clk.Set(t0.Add(2 * time.Hour))
	audits := len(st.audit)
	for _, tc := range []struct {
		id   string
		want error
	}{
		{"0000000000000000", ErrNotFound},
		{short.ID, ErrKeyExpired},
		{bad.ID, ErrTampered},
		{good.ID, ErrAlreadyRolled},
	} {
		if _, err := svc.Roll(tc.id, DefaultGrace); !errors.Is(err, tc.want) {
			t.Errorf("Roll(%s) = %v, want %v", tc.id, err, tc.want)
		}
	}
	if _, err := svc.Roll(r.New.ID, -time.Second); !errors.Is(err, ErrBadGrace) {
		t.Errorf("negative grace: %v", err)
	}
	if len(st.audit) != audits || len(st.keys) != 4 {
		t.Fatalf("a refused roll wrote: %d audit events, %d keys", len(st.audit)-audits, len(st.keys))
	}
	// The store refuses a second roll of the same record even when the
	// service did not know (another admin rolled it first).
	old := st.keys[r.New.ID].Clone()
	old.RolledTo = "x"
	st.keys[r.New.ID].RolledTo = "y"
	if err := st.RollKey(old, &Key{ID: "z", Digest: []byte("z")}, AuditEvent{}); !errors.Is(err, ErrAlreadyRolled) {
		t.Fatalf("store roll of a rolled record: %v", err)
	}
}

func TestRollThenDelete(t *testing.T) {
	svc, _, _ := newTestService(t)
	old, oldSecret := mustCreate(t, svc, CreateRequest{Name: "svc", Permissions: Permissions{Kind: KindGlobal}})
	r := mustRoll(t, svc, old.ID, time.Hour)
	if _, err := svc.Delete(old.ID); err != nil {
		t.Fatal(err)
	}
	if v := svc.Verify(oldSecret, Target{}); v.Reason != ReasonUnknown {
		t.Fatalf("deleted old key: %s", v.Reason)
	}
	k, err := svc.Get(r.New.ID)
	if err != nil || k.RolledFrom != old.ID || k.Tampered {
		t.Fatalf("new key after deleting the old one: %+v, %v", k, err)
	}
	// The new key can be rolled in turn.
	r2, err := svc.Roll(r.New.ID, 0)
	if err != nil || r2.New.RolledFrom != r.New.ID {
		t.Fatalf("second roll: %+v, %v", r2, err)
	}
	if _, err := svc.Delete(r2.New.ID); err != nil {
		t.Fatal(err)
	}
	if k, _ := svc.Get(r.New.ID); k.RolledTo != r2.New.ID {
		t.Fatalf("the link of a key whose successor was deleted: %q", k.RolledTo)
	}
}

func TestRollLinksAreSigned(t *testing.T) {
	svc, st, clk := newTestService(t)
	old, _ := mustCreate(t, svc, CreateRequest{Name: "svc", Permissions: Permissions{Kind: KindGlobal}})
	r := mustRoll(t, svc, old.ID, time.Hour)
	// Removing the link (to roll the old key a second time, extending
	// its life) or pointing it elsewhere breaks the MAC.
	st.keys[old.ID].RolledTo = ""
	st.keys[r.New.ID].RolledFrom = "someone-else"
	svc2, err := NewService(st, newSigner(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{old.ID, r.New.ID} {
		if k, _ := svc2.Get(id); !k.Tampered {
			t.Errorf("key %s with an altered link is not tampered", id)
		}
	}
}

func TestRollUnsupportedStore(t *testing.T) {
	st := struct{ Store }{newMemStore()}
	svc, err := NewService(st, newSigner(), FixedClock(t0), nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := mustCreate(t, svc, CreateRequest{Name: "x", Permissions: Permissions{Kind: KindGlobal}})
	if _, err := svc.Roll(k.ID, 0); !errors.Is(err, ErrRollUnsupported) {
		t.Fatalf("roll on a store without RollKey: %v", err)
	}
}

func TestPlanRoll(t *testing.T) {
	svc, _, clk := newTestService(t)
	k, _ := mustCreate(t, svc, CreateRequest{Name: "svc", Lifetime: Lifetime{Duration: 48 * time.Hour}, Permissions: Permissions{Kind: KindGlobal}})
	clk.Set(t0.Add(30 * time.Hour))
	p, err := svc.PlanRoll(k.ID, DefaultGrace)
	if err != nil {
		t.Fatal(err)
	}
	if !p.OldExpiresAt.Equal(k.ExpiresAt) || !p.New.ExpiresAt.Equal(t0.Add(78*time.Hour)) || p.New.RolledFrom != k.ID {
		t.Fatalf("plan %+v", p)
	}
	if got, _ := svc.Get(k.ID); got.RolledTo != "" {
		t.Fatal("PlanRoll changed the key")
	}
}

func TestParseGrace(t *testing.T) {
	for in, want := range map[string]time.Duration{"0": 0, "1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "90m": 90 * time.Minute, " 2d ": 48 * time.Hour} {
		if got, err := ParseGrace(in); err != nil || got != want {
			t.Errorf("ParseGrace(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1h", "soon", "1w", "-2d", "d"} {
		if _, err := ParseGrace(in); !errors.Is(err, ErrBadGrace) {
			t.Errorf("ParseGrace(%q) = %v", in, err)
		}
	}
	for _, d := range GraceChoices {
		if got, _ := ParseGrace(FormatGrace(d)); got != d {
			t.Errorf("FormatGrace(%v) = %q does not parse back", d, FormatGrace(d))
		}
	}
}

// TestIdleRowsFollowChanges checks the packed idle rows against deletes
// (a row moved into the hole), rolls, and uses pending or flushed.
func TestIdleRowsFollowChanges(t *testing.T) {
	svc, _, clk := newTestService(t)
	g := Permissions{Kind: KindSections, Sections: map[string]Access{"users": AccessRead}}
	a, _ := mustCreate(t, svc, CreateRequest{Name: "a", Permissions: g})
	b, _ := mustCreate(t, svc, CreateRequest{Name: "b", Permissions: g})
	c, cSecret := mustCreate(t, svc, CreateRequest{Name: "c", Permissions: g})
	if _, err := svc.Delete(a.ID); err != nil {
		t.Fatal(err)
	}
	r := mustRoll(t, svc, b.ID, 0)
	slot := NextSlot(t0.Add(IdleAfter)) // 11:00, after the 09:30 of t0
	ids := func() []string {
		t.Helper()
		d, err := svc.SelectDigest(slot, slot.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range d.Idle {
			out = append(out, k.ID)
		}
		return out
	}
	want := []string{c.ID, r.New.ID}
	if r.New.ID < c.ID {
		want = []string{r.New.ID, c.ID}
	}
	if got := ids(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("idle %v, want %v (not the deleted key, not the rolled one)", got, want)
	}
	// A use not yet flushed already counts, and so does a flushed one.
	clk.Set(t0.Add(2 * time.Hour))
	if v := svc.VerifyUse(cSecret, Target{}); !v.Allowed {
		t.Fatalf("VerifyUse: %+v", v)
	}
	if got := ids(); len(got) != 1 || got[0] != r.New.ID {
		t.Fatalf("after a pending use of c: %v", got)
	}
	if err := svc.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	if got := ids(); len(got) != 1 || got[0] != r.New.ID {
		t.Fatalf("after a flushed use of c: %v", got)
	}
}

func TestSameBeforeRoll(t *testing.T) {
	svc, _, _ := newTestService(t)
	k, _ := mustCreate(t, svc, CreateRequest{Name: "svc", Permissions: Permissions{Kind: KindGlobal}})
	r := mustRoll(t, svc, k.ID, time.Hour)
	if !SameBeforeRoll(k, r.Old) {
		t.Fatal("the record a roll started from does not match")
	}
	renamed := k.Clone()
	renamed.Name = "other"
	longer := r.Old.Clone()
	longer.ExpiresAt = k.ExpiresAt.Add(time.Hour)
	for name, tc := range map[string][2]*Key{"renamed": {renamed, r.Old}, "extended": {k, longer}} {
		if SameBeforeRoll(tc[0], tc[1]) {
			t.Errorf("%s: matches", name)
		}
	}
}
