package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/storetest"
)

// TestServerRole: a replica running under the server role reads and follows
// the store, merges last-used times and claims digest slots, but every
// attempt to create, change or delete a key record or a setting is refused
// by the database and changes nothing.
func TestServerRole(t *testing.T) {
	admin, u := newStore(t)
	k := insert(t, admin, "aaaa")
	role := newRole(t, u)
	ctx := context.Background()
	for _, g := range ServerGrants(role) {
		if _, err := admin.Pool().Exec(ctx, g); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
	}
	server, err := Open(ctx, withUser(t, u, role), Options{})
	if err != nil {
		t.Fatalf("Open as the server role: %v", err)
	}
	defer server.Close()

	// What a replica does.
	keys, seq, err := server.Snapshot(ctx)
	if err != nil || len(keys) != 1 || seq != 1 {
		t.Fatalf("Snapshot as the server role = %d keys, %d, %v", len(keys), seq, err)
	}
	used := storetest.T0.Add(time.Minute)
	if err := server.SetLastUsed(map[string]time.Time{"aaaa": used}); err != nil {
		t.Fatalf("SetLastUsed as the server role: %v", err)
	}
	if got, _ := admin.GetKey("aaaa"); !got.LastUsedAt.Equal(used) {
		t.Fatalf("last used = %v", got.LastUsedAt)
	}
	slot := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	claimed, release, err := server.ClaimSlot(ctx, slot)
	if err != nil || !claimed {
		t.Fatalf("ClaimSlot as the server role = %v, %v", claimed, err)
	}
	if err := server.MarkSlotDelivered(slot, core.AuditEvent{Time: slot, Actor: "replica", Action: core.ActionDigestSent}); err != nil {
		t.Fatalf("MarkSlotDelivered as the server role: %v", err)
	}
	if err := release(true); err != nil {
		t.Fatal(err)
	}
	// Its usage counts, which change nothing else.
	day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	if err := server.PutUsage("replica-a", []core.UsageRow{{Day: day, KeyID: "aaaa", Allowed: 3}}, day.AddDate(0, 0, -90)); err != nil {
		t.Fatalf("PutUsage as the server role: %v", err)
	}
	if u, err := core.ReadKeyUsage(admin, "aaaa", day, 1); err != nil || u.Total.Allowed != 3 || u.Writers != 1 {
		t.Fatalf("usage written by the server role: %+v, %v", u, err)
	}
	_, changes, statuses := startFollower(t, server, seq, FollowOptions{})
	expectStatus(t, statuses, true)
	insert(t, admin, "bbbb")
	expectChanges(t, changes, "2 digest update last_delivered_slot", "3 key insert bbbb")

	// What it must not do.
	forged := keytest.Key("forged", storetest.T0.Add(time.Hour))
	widened := k.Clone()
	widened.ExpiresAt = widened.ExpiresAt.Add(365 * 24 * time.Hour)
	ev := storetest.Event(core.ActionCreate, "x")
	refused := map[string]error{
		"InsertKey":  server.InsertKey(forged, ev),
		"InsertKeys": server.InsertKeys([]*core.Key{forged}, ev),
		"UpdateKey":  server.UpdateKey(widened, ev),
		"DeleteKey":  server.DeleteKey("aaaa", ev),
		"PutSetting": server.PutSetting("mail", []byte("x"), ev),
	}
	for what, err := range refused {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" || IsUnavailable(err) {
			t.Errorf("%s as the server role = %v, want permission denied (not unavailable)", what, err)
		}
	}
	if _, err := server.pool.Exec(ctx, `UPDATE keys SET expires_ns = expires_ns + 1`); err == nil {
		t.Error("the server role could change a key's expiry")
	}
	if _, err := server.pool.Exec(ctx, `DELETE FROM changes`); err == nil {
		t.Error("the server role could delete changes")
	}
	got, err := admin.ListKeys()
	if err != nil || len(got) != 2 || storetest.Equal(got[0], func() *core.Key { c := k.Clone(); c.LastUsedAt = used; return c }()) != "" {
		t.Fatalf("after refused writes: %v, %v", got, err)
	}
	if v, _ := admin.Setting("mail"); v != nil {
		t.Fatal("the server role wrote a setting")
	}
}
