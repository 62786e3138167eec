package core_test

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/seal"
)

func TestSlotAtOrBefore(t *testing.T) {
	slot := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		in         time.Time
		want, next time.Time
	}{
		{slot, slot, slot.AddDate(0, 0, 1)},
		{slot.Add(-time.Nanosecond), slot.AddDate(0, 0, -1), slot},
		{slot.Add(time.Nanosecond), slot, slot.AddDate(0, 0, 1)},
		{time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), slot.AddDate(0, 0, -1), slot},
		{time.Date(2026, 11, 27, 23, 59, 59, 0, time.UTC), slot, slot.AddDate(0, 0, 1)},
		// 12:30 in UTC+1 is 11:30 UTC: today's slot.
		{time.Date(2026, 11, 27, 12, 30, 0, 0, paris), slot, slot.AddDate(0, 0, 1)},
		// 11:30 in UTC+1 is 10:30 UTC: yesterday's slot.
		{time.Date(2026, 11, 27, 11, 30, 0, 0, paris), slot.AddDate(0, 0, -1), slot},
		{time.Date(2027, 1, 1, 5, 0, 0, 0, time.UTC), time.Date(2026, 12, 31, 11, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 11, 0, 0, 0, time.UTC)},
	} {
		if got := core.SlotAtOrBefore(tc.in); !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("SlotAtOrBefore(%v) = %v, want %v UTC", tc.in, got, tc.want)
		}
		if got := core.NextSlot(tc.in); !got.Equal(tc.next) {
			t.Errorf("NextSlot(%v) = %v, want %v", tc.in, got, tc.next)
		}
	}
}

// digestStores returns both store implementations the digest selection is
// checked against: the in-memory one and the real bbolt store.
func digestStores(t *testing.T) map[string]func(t *testing.T) core.Store {
	return map[string]func(t *testing.T) core.Store{
		"memory": func(*testing.T) core.Store { return storetest.NewMemStore() },
		"bbolt": func(t *testing.T) core.Store {
			return storetest.OpenBbolt(t, t.TempDir())
		},
	}
}

func addDigestKeys(t *testing.T, st core.Store, exp map[string]time.Time) {
	t.Helper()
	names := make([]string, 0, len(exp))
	for n := range exp {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		k := &core.Key{ID: fmt.Sprintf("%016x", i+1), Name: n, Digest: []byte("d-" + n), Hint: "kdk_x",
			Permissions: core.Permissions{Kind: core.KindGlobal}, Scopes: []string{"*:*"},
			CreatedAt: exp[n].Add(-90 * 24 * time.Hour), ExpiresAt: exp[n], MAC: []byte("m")}
		if err := st.InsertKey(k, core.AuditEvent{Action: core.ActionCreate}); err != nil {
			t.Fatalf("insert %s: %v", n, err)
		}
	}
}

func digestNames(keys []*core.Key) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.Name)
	}
	return out
}

func TestSelectDigestWindowBoundaries(t *testing.T) {
	T := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	exp := map[string]time.Time{
		"expired-at-T-24h (out)":    T.Add(-day),
		"expired-just-after-T-24h":  T.Add(-day + time.Nanosecond),
		"expired-at-T-1s":           T.Add(-time.Second),
		"expired-at-T":              T,
		"expiring-at-T+1ns":         T.Add(time.Nanosecond),
		"expiring-at-T+3d":          T.Add(3 * day),
		"expiring-at-T+7d":          T.Add(7 * day),
		"expiring-at-T+7d+1s (out)": T.Add(7*day + time.Second),
		"long-expired (out)":        T.Add(-10 * day),
	}
	for name, open := range digestStores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			addDigestKeys(t, st, exp)
			for _, tc := range []struct {
				name          string
				slot, last    time.Time
				since         time.Time
				expired, soon []string
			}{
				{
					name: "first digest", slot: T, since: T.Add(-day),
					expired: []string{"expired-just-after-T-24h", "expired-at-T-1s", "expired-at-T"},
					soon:    []string{"expiring-at-T+1ns", "expiring-at-T+3d", "expiring-at-T+7d"},
				},
				{
					name: "delivered yesterday", slot: T, last: T.Add(-day), since: T.Add(-day),
					expired: []string{"expired-just-after-T-24h", "expired-at-T-1s", "expired-at-T"},
					soon:    []string{"expiring-at-T+1ns", "expiring-at-T+3d", "expiring-at-T+7d"},
				},
				{
					// A slot given in another zone and not on the hour is
					// used as given, in UTC.
					name: "slot in another zone", slot: T.In(time.FixedZone("X", -5*3600)), since: T.Add(-day),
					expired: []string{"expired-just-after-T-24h", "expired-at-T-1s", "expired-at-T"},
					soon:    []string{"expiring-at-T+1ns", "expiring-at-T+3d", "expiring-at-T+7d"},
				},
				{
					name: "catch-up after missed slots", slot: T, last: T.Add(-10*day - time.Hour), since: T.Add(-10*day - time.Hour),
					expired: []string{"long-expired (out)", "expired-at-T-24h (out)", "expired-just-after-T-24h", "expired-at-T-1s", "expired-at-T"},
					soon:    []string{"expiring-at-T+1ns", "expiring-at-T+3d", "expiring-at-T+7d"},
				},
				{
					name: "next day", slot: T.Add(day), last: T, since: T,
					expired: []string{"expiring-at-T+1ns"},
					soon:    []string{"expiring-at-T+3d", "expiring-at-T+7d", "expiring-at-T+7d+1s (out)"},
				},
			} {
				t.Run(tc.name, func(t *testing.T) {
					d, err := core.SelectDigest(st, tc.slot, tc.last)
					if err != nil {
						t.Fatalf("SelectDigest: %v", err)
					}
					if !d.Slot.Equal(tc.slot) || d.Slot.Location() != time.UTC || !d.Since.Equal(tc.since) {
						t.Errorf("slot %v since %v, want %v since %v", d.Slot, d.Since, tc.slot, tc.since)
					}
					if got := digestNames(d.Expired); !slices.Equal(got, tc.expired) {
						t.Errorf("expired = %q, want %q", got, tc.expired)
					}
					if got := digestNames(d.Expiring); !slices.Equal(got, tc.soon) {
						t.Errorf("expiring = %q, want %q", got, tc.soon)
					}
					want := fmt.Sprintf("Company API Keys: %d expired, %d expiring soon, 0 idle", len(tc.expired), len(tc.soon))
					if d.Subject() != want || d.Empty() {
						t.Errorf("Subject = %q (empty %v), want %q", d.Subject(), d.Empty(), want)
					}
				})
			}
		})
	}
}

func TestSelectDigestEmpty(t *testing.T) {
	T := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	for name, open := range digestStores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			addDigestKeys(t, st, map[string]time.Time{
				"too-old":    T.Add(-24 * time.Hour),
				"too-far":    T.Add(7*24*time.Hour + time.Second),
				"far-future": T.AddDate(1, 0, 0),
			})
			d, err := core.SelectDigest(st, T, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if !d.Empty() || len(d.Expired)+len(d.Expiring) != 0 {
				t.Errorf("digest = %q / %q, want empty", digestNames(d.Expired), digestNames(d.Expiring))
			}
			if d.Subject() != "Company API Keys: 0 expired, 0 expiring soon, 0 idle" {
				t.Errorf("Subject = %q", d.Subject())
			}
		})
	}
}

// TestServiceSelectDigestMatchesStore checks the service's fast path (ids
// from the bbolt expiry index, records from memory) against the store's
// records, including after a rename and a delete through the service.
func TestServiceSelectDigestMatchesStore(t *testing.T) {
	T := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	st := storetest.OpenBbolt(t, t.TempDir())
	signer, err := seal.NewSigner(make([]byte, seal.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(st, signer, core.FixedClock(T.Add(-30*24*time.Hour)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, life := range []string{"7d", "30d", "7d", "30d", "36h"} {
		lt, err := core.ParseLifetime(life)
		if err != nil {
			t.Fatal(err)
		}
		perms := core.Permissions{Kind: core.KindGlobal}
		if life == "30d" {
			perms = core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}}
		}
		k, _, err := svc.Create(core.CreateRequest{Name: fmt.Sprintf("key %d", i), Lifetime: lt, Permissions: perms})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	check := func(slot time.Time) core.Digest {
		t.Helper()
		fast, err := svc.SelectDigest(slot, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		slow, err := core.SelectDigest(st, slot, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(digestNames(fast.Expired), digestNames(slow.Expired)) || !slices.Equal(digestNames(fast.Expiring), digestNames(slow.Expiring)) {
			t.Errorf("slot %v: service %q/%q, store %q/%q", slot, digestNames(fast.Expired), digestNames(fast.Expiring),
				digestNames(slow.Expired), digestNames(slow.Expiring))
		}
		return fast
	}
	d := check(T)
	if !slices.Equal(digestNames(d.Expired), []string{"key 1", "key 3"}) && !slices.Equal(digestNames(d.Expired), []string{"key 3", "key 1"}) || len(d.Expiring) != 0 {
		t.Fatalf("digest at T = %q / %q, want the two 30-day keys expired", digestNames(d.Expired), digestNames(d.Expiring))
	}
	if d := check(T.Add(-23 * 24 * time.Hour)); len(d.Expired) != 2 || len(d.Expiring) != 0 {
		t.Errorf("digest at T-23d = %q / %q, want the two 7-day keys expired", digestNames(d.Expired), digestNames(d.Expiring))
	}
	if d := check(T.Add(-7 * 24 * time.Hour)); len(d.Expired) != 0 || len(d.Expiring) != 2 {
		t.Errorf("digest at T-7d = %q / %q, want the two 30-day keys expiring", digestNames(d.Expired), digestNames(d.Expiring))
	}
	if _, err := svc.Rename(ids[1], "renamed key"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(ids[3]); err != nil {
		t.Fatal(err)
	}
	d = check(T)
	if got := append(digestNames(d.Expired), digestNames(d.Expiring)...); !slices.Contains(got, "renamed key") || slices.Contains(got, "key 3") {
		t.Errorf("after rename and delete: %q", got)
	}
	// Records the service has not loaded (written by someone else) are
	// still found, through the store.
	other := &core.Key{ID: "ffffffffffffffff", Name: "written elsewhere", Digest: []byte("x"), Hint: "kdk_x",
		Permissions: core.Permissions{Kind: core.KindGlobal}, Scopes: []string{"*:*"}, ExpiresAt: T.Add(time.Hour)}
	if err := st.InsertKey(other, core.AuditEvent{Action: core.ActionCreate}); err != nil {
		t.Fatal(err)
	}
	if d := check(T); !slices.Contains(digestNames(d.Expiring), "written elsewhere") {
		t.Errorf("a key unknown to the service is missing: %q", digestNames(d.Expiring))
	}
}
