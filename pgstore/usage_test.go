package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/keydesk/keydesk/core"
)

// TestUsageMigrationGrantsServerRoles: a store at schema 4 whose server
// role holds the GRANTs of before is upgraded by an admin's open; the role
// may then write usage counts, and still nothing else.
func TestUsageMigrationGrantsServerRoles(t *testing.T) {
	admin, u := newStore(t)
	ctx := context.Background()
	for _, sql := range []string{`DROP TABLE key_usage`, `DELETE FROM schema_version WHERE version >= 5`} {
		if _, err := admin.pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	role := newRole(t, u,
		`GRANT SELECT ON schema_version, store_meta, keys, settings, digest_state, digest_slots, changes TO %s`,
		`GRANT UPDATE (last_used_ns) ON keys TO %s`,
		`GRANT INSERT, UPDATE ON digest_state, digest_slots TO %s`,
		`GRANT INSERT ON audit TO %s`,
		`GRANT USAGE ON SEQUENCE audit_seq_seq TO %s`,
		`GRANT SELECT ON SEQUENCE changes_seq_seq TO %s`,
		`GRANT EXECUTE ON FUNCTION keydesk_digest_changed() TO %s`)
	upgraded, err := Open(ctx, u, Options{})
	if err != nil {
		t.Fatalf("admin open of schema 4: %v", err)
	}
	upgraded.Close()
	server, err := Open(ctx, withUser(t, u, role), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	if err := server.PutUsage("replica-a", []core.UsageRow{{Day: day, KeyID: "aaaa", Denied: 2}}, day); err != nil {
		t.Fatalf("PutUsage as the upgraded server role: %v", err)
	}
	if u, err := core.ReadKeyUsage(admin, "aaaa", day, 1); err != nil || u.Total.Denied != 2 {
		t.Fatalf("usage after the upgrade: %+v, %v", u, err)
	}
	expectRefused(t, server)
}

// TestUsageRowsAreChecked: rows that break the table's checks (a negative
// count, a writer id that is not one) are refused by the database, and a
// count too large for it is capped rather than wrapped.
func TestUsageRowsAreChecked(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO key_usage (day, writer, key_id, allowed) VALUES ('2025-06-02', 'a', 'k', -1)`,
		`INSERT INTO key_usage (day, writer, key_id) VALUES ('2025-06-02', 'A B', 'k')`,
	} {
		var pgErr *pgconn.PgError
		if _, err := s.pool.Exec(ctx, sql); !errors.As(err, &pgErr) || pgErr.Code != "23514" {
			t.Errorf("%s = %v, want a check violation", sql, err)
		}
	}
	day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	if err := s.PutUsage("a", []core.UsageRow{{Day: day, KeyID: "k", Allowed: 1 << 63}}, day); err != nil {
		t.Fatal(err)
	}
	if u, err := core.ReadKeyUsage(s, "k", day, 1); err != nil || u.Total.Allowed != 1<<63-1 {
		t.Fatalf("a count beyond bigint: %+v, %v", u, err)
	}
}
