package workspace

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/storage"
)

// TestSharedStorePrunesChangesDaily: the admin's scheduler prunes the
// change log of changes older than ChangesKept before the workspace's
// clock, keeping newer ones and always the latest; a data folder's
// scheduler has nothing to prune.
func TestSharedStorePrunesChangesDaily(t *testing.T) {
	u := storetest.PGDatabase(t, "prune")
	kr := storage.NewMemoryKeyring()
	if _, err := InitShared(Options{StoreURL: u, Keyring: kr}, ""); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(90 * 24 * time.Hour)
	b := open(t, Options{StoreURL: u, Keyring: kr, Now: now})
	for range 4 {
		if _, _, err := b.Service().Create(sectionsReq); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Date the change log on the test's clock: every change but the two
	// latest is a day past ChangesKept, the two latest a day inside it.
	var total int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM changes`).Scan(&total); err != nil || total < 4 {
		t.Fatalf("changes = %d, %v", total, err)
	}
	if _, err := conn.Exec(ctx, `UPDATE changes SET at = CASE WHEN seq > (SELECT max(seq) - 2 FROM changes) THEN $1::timestamptz ELSE $2::timestamptz END`,
		now.Add(-ChangesKept+24*time.Hour), now.Add(-ChangesKept-24*time.Hour)); err != nil {
		t.Fatal(err)
	}

	s := b.Scheduler(nil)
	if s.Daily == nil {
		t.Fatal("the shared store's scheduler does not prune the change log")
	}
	if err := s.Daily(ctx, b.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM changes`).Scan(&left); err != nil || left != 2 {
		t.Fatalf("%d of %d changes left, %v; want the 2 within %v", left, total, err, ChangesKept)
	}
	// Thirty days on, the rest is past ChangesKept, but the latest stays
	// (the followers' position).
	if err := s.Daily(ctx, now.Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM changes`).Scan(&left); err != nil || left != 1 {
		t.Fatalf("%d changes left, %v; want the latest", left, err)
	}

	local := open(t, Options{Dir: t.TempDir(), Keyring: storage.NewMemoryKeyring(), Now: now})
	if local.Scheduler(nil).Daily != nil {
		t.Error("a data folder's scheduler has a daily prune")
	}
}
