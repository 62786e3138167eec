package pgstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
)

// forgedSeq is the change number of the attack: far beyond any
// number the sequence will issue.
const forgedSeq int64 = 9223372036854775000

// forgeChange writes the attack's change row through pool (which must be
// allowed to).
func forgeChange(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO changes (seq, at, kind, op, name)
		VALUES ($1, now(), 'setting', 'update', 'x')`, forgedSeq); err != nil {
		t.Fatalf("forge a change row: %v", err)
	}
}

// TestServerRoleCannotNumberChanges: under the README's GRANTs the server
// role can neither write a change row (the attack that froze every
// follower) nor move the change sequence; it still records a delivered
// digest, numbered by the sequence.
func TestServerRoleCannotNumberChanges(t *testing.T) {
	admin, u := newStore(t)
	insert(t, admin, "aaaa")
	role := newRole(t, u)
	ctx := context.Background()
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
	expectRefused(t, server)

	slot := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	if err := server.MarkSlotDelivered(slot, core.AuditEvent{Time: slot, Actor: "replica", Action: core.ActionDigestSent}); err != nil {
		t.Fatalf("MarkSlotDelivered as the server role: %v", err)
	}
	var seq int64
	var kind string
	if err := admin.pool.QueryRow(ctx, `SELECT seq, kind FROM changes ORDER BY seq DESC LIMIT 1`).Scan(&seq, &kind); err != nil || seq != 2 || kind != KindDigest {
		t.Fatalf("last change = %d %s, %v; want 2 digest", seq, kind, err)
	}
}

// expectRefused checks that server's role can write no change row and can
// not move the change sequence.
func expectRefused(t *testing.T, server *Store) {
	t.Helper()
	for _, sql := range []string{
		fmt.Sprintf(`INSERT INTO changes (seq, at, kind, op, name) VALUES (%d, now(), 'setting', 'update', 'x')`, forgedSeq),
		`INSERT INTO changes (kind, op, name) VALUES ('key', 'delete', 'aaaa')`,
		`SELECT setval('changes_seq_seq', 9223372036854775000)`,
		`SELECT nextval('changes_seq_seq')`,
	} {
		_, err := server.pool.Exec(context.Background(), sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as the server role = %v, want permission denied", sql, err)
		}
	}
}

// TestMigrationTakesChangeRowsFromServerRoles: a store of the schema before
// (2 when this was written) whose server role holds the earlier README's
// GRANTs (INSERT on changes) is refused to that role and upgraded by an
// admin's open: the role can no longer write change rows, and still
// follows changes and records delivered digests.
func TestMigrationTakesChangeRowsFromServerRoles(t *testing.T) {
	admin, u := newStore(t)
	ctx := context.Background()
	// Back to the schema before, with the GRANTs of before. (The
	// migration that takes change rows from server roles is v2 -> v3;
	// the later ones run again harmlessly.)
	for _, sql := range []string{
		`DROP FUNCTION keydesk_digest_changed()`,
		`DELETE FROM schema_version WHERE version >= 3`,
	} {
		if _, err := admin.pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	role := newRole(t, u,
		`GRANT SELECT ON schema_version, store_meta, keys, settings, digest_state, digest_slots, changes TO %s`,
		`GRANT UPDATE (last_used_ns) ON keys TO %s`,
		`GRANT INSERT, UPDATE ON digest_state, digest_slots TO %s`,
		`GRANT INSERT ON audit, changes TO %s`,
		`GRANT USAGE ON SEQUENCE audit_seq_seq, changes_seq_seq TO %s`)
	server, err := Open(ctx, withUser(t, u, role), Options{})
	if !errors.Is(err, ErrUpgradeNeeded) {
		// A server role cannot upgrade the schema.
		if err == nil {
			server.Close()
		}
		t.Fatalf("the server role's open of the older schema = %v, want ErrUpgradeNeeded", err)
	}
	upgraded, err := Open(ctx, u, Options{})
	if err != nil {
		t.Fatalf("admin open of the older schema: %v", err)
	}
	upgraded.Close()
	if v, err := admin.Schema(); err != nil || v != SchemaVersion {
		t.Fatalf("schema after the admin's open = %d, %v", v, err)
	}
	server, err = Open(ctx, withUser(t, u, role), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	expectRefused(t, server)
	slot := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	if err := server.MarkSlotDelivered(slot, core.AuditEvent{Time: slot, Actor: "replica", Action: core.ActionDigestSent}); err != nil {
		t.Fatalf("MarkSlotDelivered as the upgraded server role: %v", err)
	}
	_, changes, statuses := startFollower(t, server, 0, FollowOptions{})
	expectStatus(t, statuses, true)
	insert(t, admin, "bbbb")
	expectChanges(t, changes, "1 digest update last_delivered_slot", "2 key insert bbbb")
}

// TestFollowerIgnoresAForgedChangeNumber: a change row numbered far ahead
// by someone who may write the table (a superuser here) moves neither a
// snapshot's position nor a follower's: later changes still arrive, and
// the follower reports the row.
func TestFollowerIgnoresAForgedChangeNumber(t *testing.T) {
	s, _ := newStore(t)
	insert(t, s, "aaaa")
	forgeChange(t, s)
	ctx := context.Background()
	if _, seq, err := s.Snapshot(ctx); err != nil || seq != 1 {
		t.Fatalf("Snapshot after a forged change = %d, %v; want 1", seq, err)
	}
	problems := make(chan error, 10)
	_, changes, statuses := startFollower(t, s, 0, FollowOptions{OnProblem: func(err error) { problems <- err }})
	expectStatus(t, statuses, true)
	expectChanges(t, changes, "1 key insert aaaa")
	if err := within(t, problems, wait, "the forged change to be reported"); !errors.Is(err, ErrForgedChange) {
		t.Fatalf("problem = %v, want ErrForgedChange", err)
	}
	insert(t, s, "bbbb")
	if err := s.DeleteKey("aaaa", storetest.Event(core.ActionDelete, "aaaa")); err != nil {
		t.Fatal(err)
	}
	expectChanges(t, changes, "2 key insert bbbb", "3 key delete aaaa")

	// A follower started afterwards from a snapshot's position.
	_, seq, err := s.Snapshot(ctx)
	if err != nil || seq != 3 {
		t.Fatalf("Snapshot = %d, %v; want 3", seq, err)
	}
	_, later, _ := startFollower(t, s, seq, FollowOptions{})
	insert(t, s, "cccc")
	expectChanges(t, later, "4 key insert cccc")
	if n, err := s.PruneChanges(ctx, time.Now().Add(time.Hour)); err != nil || n != 3 {
		t.Fatalf("PruneChanges = %d, %v; want 3 (the forged row and the last change kept)", n, err)
	}
	if _, seq, err := s.Snapshot(ctx); err != nil || seq != 4 {
		t.Fatalf("Snapshot after pruning = %d, %v; want 4", seq, err)
	}
}

// TestFollowerStopsWhenTheSequenceGoesBack: the change sequence set back
// below what a follower applied (so that later changes would be numbered
// below it) stops the follower with ErrStoreChanged: it must load again.
func TestFollowerStopsWhenTheSequenceGoesBack(t *testing.T) {
	s, _ := newStore(t)
	for _, id := range []string{"aaaa", "bbbb", "cccc"} {
		insert(t, s, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `DELETE FROM changes WHERE seq < 3`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `SELECT setval('changes_seq_seq', 1)`); err != nil {
		t.Fatal(err)
	}
	f := s.Follower(3, func(c Change) { t.Errorf("applied %+v", c) }, FollowOptions{Heartbeat: 50 * time.Millisecond})
	if err := f.Run(ctx); !errors.Is(err, ErrStoreChanged) {
		t.Fatalf("Run = %v, want ErrStoreChanged", err)
	}
}
