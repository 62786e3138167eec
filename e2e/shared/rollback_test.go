package shared

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The database is dumped (pg_dump), a key is deleted, and the dump is put
// back (pg_restore --clean): a replica restarted with its data folder and
// the admin who deleted the key both refuse the older store, in one
// sentence naming both generations; a replica with a brand-new data folder
// cannot know and starts (the README says so).
func TestRestoredOlderDatabaseIsRefused(t *testing.T) {
	need(t)
	storeURL, cred := initStore(t)
	db := strings.TrimPrefix(mustParsePath(t, storeURL), "/")
	data := t.TempDir()
	r := startReplica(t, storeURL, cred, "KEYDESK_DATA="+data)
	id, secret := createKey(t, storeURL, "deleted, then restored")
	eventually(t, time.Second, "the key verifies", func() bool { return r.verify(t, secret) == "ok" })

	dump := filepath.Join(t.TempDir(), "keydesk.dump")
	if out, err := exec.Command("pg_dump", "--format=custom", "--file", dump, dbURL(t, db, "")).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	mustKeydesk(t, nil, "--store", storeURL, "keys", "delete", id, "--yes")
	eventually(t, time.Second, "the deleted key is refused", func() bool { return r.verify(t, secret) == "unknown" })
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("the replica did not stop cleanly: %v\n%s", err, r.stderr)
	}
	info, err := os.Stat(filepath.Join(data, "replica-"+storeID(t, storeURL)+".generation"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the replica's generation file: %v, %v; want mode 0600", info, err)
	}

	if out, err := exec.Command("pg_restore", "--clean", "--if-exists", "--dbname", dbURL(t, db, ""), dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}

	const want = "older than generation 3 already seen here"
	// The replica restarted with its data folder.
	out, errs, code := keydesk(t, "", []string{"KEYDESK_DATA=" + data}, "--store", storeURL, "serve", "--listen", "127.0.0.1:0", "--credential", cred)
	if code == 0 || !strings.Contains(errs, "generation 2, "+want) || !strings.Contains(errs, "newer backup") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("a restarted replica on the older database: exit %d\n%s%s", code, out, errs)
	}
	// The admin who deleted the key (the keyring holds the generation).
	out, errs, code = keydesk(t, "", nil, "--store", storeURL, "keys", "list")
	if code == 0 || !strings.Contains(errs, "generation 2, "+want) || strings.Contains(out, id) {
		t.Fatalf("the admin's keys list on the older database: exit %d\n%s%s", code, out, errs)
	}
	// A brand-new replica has seen nothing: it starts on the older copy.
	fresh := startReplica(t, storeURL, cred)
	if got := fresh.verify(t, secret); got != "ok" {
		t.Fatalf("a brand-new replica: the restored key answers %s (the README says it cannot know)", got)
	}
}

// storeID returns the id of the store at storeURL.
func storeID(t *testing.T, storeURL string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id string
	if err := conn.QueryRow(ctx, `SELECT value FROM store_meta WHERE name = 'store_id'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
