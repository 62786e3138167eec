package pgstore

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
)

// A server role (or anyone who can write the database) sets every key's
// last-used time to the year 2262: the keys do not look used, idle
// detection still reports them, and the next real use replaces the forged
// time. A time within core.MaxClockSkew of the reader's clock is kept.
func TestFutureLastUsedIsIgnored(t *testing.T) {
	admin, u := newStore(t)
	ctx := context.Background()
	created := storetest.T0
	svc, err := core.NewService(admin, newSigner(), core.FixedClock(created), nil)
	if err != nil {
		t.Fatal(err)
	}
	req := core.CreateRequest{Name: "idle", Lifetime: core.Lifetime{Duration: 365 * 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}}}
	k, _, err := svc.Create(req)
	if err != nil {
		t.Fatal(err)
	}
	role := newRole(t, u)
	for _, g := range ServerGrants(role) {
		if _, err := admin.Pool().Exec(ctx, g); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
	}
	server, err := Open(ctx, withUser(t, u, role), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if _, err := server.pool.Exec(ctx, `UPDATE keys SET last_used_ns = $1`, int64(math.MaxInt64)); err != nil {
		t.Fatalf("the server role's UPDATE of last_used_ns: %v", err)
	}

	later := created.Add(core.IdleAfter + 24*time.Hour)
	read := func(what string) *core.Key {
		t.Helper()
		for _, open := range []func() (*core.Service, error){
			func() (*core.Service, error) { return core.NewService(admin, newSigner(), core.FixedClock(later), nil) },
			func() (*core.Service, error) {
				return core.NewLazyVerifyService(server, newSigner(), core.FixedClock(later), nil)
			},
		} {
			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if what == "forged" && (!got.LastUsedAt.IsZero() || !got.IsIdle(later)) {
				t.Fatalf("after the forged last use: last used %v, idle %v; want never used and idle", got.LastUsedAt, got.IsIdle(later))
			}
			if what != "forged" {
				return got
			}
		}
		return nil
	}
	read("forged")

	// The next real use, written by a replica under the server role,
	// replaces the forged time.
	used := created.Add(time.Hour)
	if err := server.SetLastUsed(map[string]time.Time{k.ID: used}); err != nil {
		t.Fatal(err)
	}
	if got, _ := admin.GetKey(k.ID); !got.LastUsedAt.Equal(used) {
		t.Fatalf("after a real use: stored last used %v, want %v", got.LastUsedAt, used)
	}

	// Clock skew: a time two minutes ahead of the reader's clock counts.
	skewed := later.Add(2 * time.Minute)
	if _, err := admin.Pool().Exec(ctx, `UPDATE keys SET last_used_ns = $1`, skewed.UnixNano()); err != nil {
		t.Fatal(err)
	}
	if got := read("skewed"); !got.LastUsedAt.Equal(skewed) || got.IsIdle(later) {
		t.Fatalf("a last use within the clock skew: %v, idle %v", got.LastUsedAt, got.IsIdle(later))
	}
}
