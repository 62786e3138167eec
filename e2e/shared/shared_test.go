package shared

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/smtptest"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/storage"
)

// One admin (the command line) and two replicas: a created key verifies on
// both within 1 s, a deleted one is refused by both within 1 s.
func TestAdminAndTwoReplicas(t *testing.T) {
	need(t)
	storeURL, cred := initStore(t)
	a := startReplica(t, storeURL, cred)
	b := startReplica(t, storeURL, cred)
	id, secret := createKey(t, storeURL, "shared one")
	for _, r := range []*replica{a, b} {
		eventually(t, time.Second, "a created key verifies on a replica", func() bool { return r.verify(t, secret) == "ok" })
	}
	mustKeydesk(t, nil, "--store", storeURL, "keys", "delete", id, "--yes")
	for _, r := range []*replica{a, b} {
		eventually(t, time.Second, "a deleted key is refused by a replica", func() bool { return r.verify(t, secret) == "unknown" })
	}
	if h := a.health(t); h.code != 200 || h.Status != "ok" {
		t.Fatalf("healthz = %+v", h)
	}
}

// PostgreSQL stopped under running replicas: they go on answering from
// memory, /healthz says degraded (still 200) with the data's age, and once
// it is back they catch up with changes made after the restart.
func TestReplicasSurvivePostgresRestart(t *testing.T) {
	need(t)
	storeURL, cred := initStore(t)
	_, before := createKey(t, storeURL, "before the outage")
	a := startReplica(t, storeURL, cred)
	b := startReplica(t, storeURL, cred)
	for _, r := range []*replica{a, b} {
		if got := r.verify(t, before); got != "ok" {
			t.Fatalf("before the outage: %s", got)
		}
	}
	stop := exec.Command("../../scripts/pg-cluster.sh", "server-stop", clusterDir)
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("stop PostgreSQL: %v\n%s", err, out)
	}
	stopped := true
	t.Cleanup(func() {
		if stopped {
			exec.Command("../../scripts/pg-cluster.sh", "server-start", clusterDir).Run()
		}
	})
	for _, r := range []*replica{a, b} {
		var h health
		eventually(t, 10*time.Second, "a replica reports degraded", func() bool { h = r.health(t); return h.Status == "degraded" })
		if h.code != 200 || h.DataAgeSeconds < 1 {
			t.Fatalf("healthz while PostgreSQL is down = %+v (want 200, degraded, data age >= 1 s)", h)
		}
		if got := r.verify(t, before); got != "ok" {
			t.Fatalf("a replica with PostgreSQL down answered %s", got)
		}
	}
	start := exec.Command("../../scripts/pg-cluster.sh", "server-start", clusterDir)
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("start PostgreSQL: %v\n%s", err, out)
	}
	stopped = false
	_, after := createKey(t, storeURL, "after the outage")
	for _, r := range []*replica{a, b} {
		eventually(t, 10*time.Second, "a replica catches up after the restart", func() bool { return r.verify(t, after) == "ok" })
		eventually(t, 5*time.Second, "a replica is healthy again", func() bool { return r.health(t).Status == "ok" })
	}
}

// A replica runs under a server role that can read keys and write only
// last-used times and digest state (the README's GRANTs).
func TestReplicaUnderServerRole(t *testing.T) {
	need(t)
	storeURL, cred := initStore(t)
	db := strings.TrimPrefix(mustParsePath(t, storeURL), "/")
	role := "kd_server_" + db
	sqlExec(t, "", "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		sqlExec(t, db, "DROP OWNED BY "+role+" CASCADE")
		sqlExec(t, "", "DROP ROLE IF EXISTS "+role)
	})
	grants := serverGrants(role)
	sqlExec(t, db, grants...)
	serverURL := dbURL(t, db, role)

	// The role cannot write a key record.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE keys SET name = 'x'`); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("the server role updated key names: %v", err)
	}
	if _, err := conn.Exec(ctx, `UPDATE store_meta SET value = 'x' WHERE name = 'signed_state'`); err == nil {
		t.Fatal("the server role changed the signed state")
	}

	r := startReplica(t, serverURL, cred)
	_, secret := createKey(t, storeURL, "seen by the server role")
	eventually(t, time.Second, "a key verifies on a replica under the server role", func() bool { return r.verify(t, secret) == "ok" })
	// It writes its last-used times (at most every 10 s; SIGTERM flushes).
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("the replica did not stop cleanly: %v\n%s", err, r.stderr)
	}
	var used *int64
	if err := conn.QueryRow(ctx, `SELECT last_used_ns FROM keys`).Scan(&used); err != nil || used == nil {
		t.Fatalf("last used time after the replica stopped: %v, %v\n%s", used, err, r.stderr)
	}
	// And its usage counts (key_usage, the one table it may write).
	var allowed int64
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(allowed), 0) FROM key_usage`).Scan(&allowed); err != nil || allowed < 1 {
		t.Fatalf("usage counts after the replica stopped: %d, %v\n%s", allowed, err, r.stderr)
	}
}

// A database writer saves a key's signed row, the admin deletes the key,
// and the writer puts the row back with a change notification: the key
// never verifies again, and the replica reports why.
func TestRevivedRowNeverVerifies(t *testing.T) {
	need(t)
	storeURL, cred := initStore(t)
	db := strings.TrimPrefix(mustParsePath(t, storeURL), "/")
	r := startReplica(t, storeURL, cred)
	id, secret := createKey(t, storeURL, "deleted, then revived")
	eventually(t, time.Second, "the key verifies", func() bool { return r.verify(t, secret) == "ok" })
	sqlExec(t, db, `CREATE TABLE saved AS SELECT * FROM keys`)
	mustKeydesk(t, nil, "--store", storeURL, "keys", "delete", id, "--yes")
	eventually(t, time.Second, "the deleted key is refused", func() bool { return r.verify(t, secret) == "unknown" })

	sqlExec(t, db, `INSERT INTO keys SELECT * FROM saved`,
		`INSERT INTO changes (kind, op, name) VALUES ('key', 'insert', '`+id+`')`,
		`SELECT pg_notify('keydesk_changes', (SELECT max(seq) FROM changes)::text)`)
	eventually(t, 5*time.Second, "the replica reports the mismatch", func() bool { return r.health(t).Problem != "" })
	if got := r.verify(t, secret); got != "unknown" {
		t.Fatalf("a revived row verifies: %s", got)
	}
	// A replica started now refuses to start on the tampered set.
	out, errs, code := keydesk(t, "", nil, "--store", storeURL, "serve", "--listen", "127.0.0.1:0", "--credential", cred)
	if code == 0 || !strings.Contains(errs, "do not match their signed state") {
		t.Fatalf("a new replica on a tampered store: exit %d\n%s%s", code, out, errs)
	}
}

// A verify-only credential cannot be imported as admin material, and a
// computer that has only it cannot create keys.
func TestVerifyOnlyCredentialCannotCreate(t *testing.T) {
	need(t)
	storeURL, cred := initStore(t)
	if info, err := os.Stat(cred); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("verify-only credential file: %v, %v (want mode 0600)", info.Mode(), err)
	}
	_, errs, code := keydesk(t, "", nil, "--store", storeURL, "credential", "import", cred)
	if code != 2 || !strings.Contains(errs, "verify-only credential") {
		t.Fatalf("importing a verify-only credential: exit %d, %s", code, errs)
	}
	// Another computer: a fresh keyring (HOME elsewhere would need its own
	// Secret Service), so drop this store's entry the way a server lacks it.
	admin := filepath.Join(t.TempDir(), "admin.age")
	_, errs, code = keydesk(t, "correct horse battery\n", nil, "--store", storeURL, "credential", "export", "--out", admin, "--passphrase-stdin")
	if code != 0 {
		t.Fatalf("export admin credential: %s", errs)
	}
	if data, _ := os.ReadFile(admin); !strings.HasPrefix(string(data), "age-encryption.org/v1\n") {
		t.Fatal("the admin credential is not age-encrypted")
	}
	_, errs, code = keydesk(t, "wrong passphrase!!\n", nil, "--store", storeURL, "credential", "import", admin, "--passphrase-stdin")
	if code != 2 || !strings.Contains(errs, "passphrase does not open") {
		t.Fatalf("import with a wrong passphrase: exit %d, %s", code, errs)
	}
	_, errs, code = keydesk(t, "correct horse battery\n", nil, "--store", storeURL, "credential", "import", admin, "--passphrase-stdin")
	if code != 0 {
		t.Fatalf("import with the right passphrase: exit %d, %s", code, errs)
	}
}

func mustParsePath(t testing.TB, raw string) string {
	t.Helper()
	i := strings.Index(raw, "://")
	rest := raw[i+3:]
	path := rest[strings.Index(rest, "/"):]
	if q := strings.Index(path, "?"); q >= 0 {
		path = path[:q]
	}
	return path
}

// store init --from moves a data folder: a key issued there verifies on a
// replica of the shared store; a second init is refused, changing nothing.
func TestStoreInitFromDataFolder(t *testing.T) {
	need(t)
	dir := t.TempDir()
	out := mustKeydesk(t, nil, "--data", dir, "keys", "create", "--name", "issued locally", "--section", "messaging=read", "--expires", "30d", "--json")
	secret := jsonField(t, out, "key")
	storeURL := dbURL(t, newDB(t), "")
	out = mustKeydesk(t, nil, "--store", storeURL, "store", "init", "--from", dir)
	if !strings.Contains(out, "Moved 1 keys") {
		t.Fatalf("store init --from: %s", out)
	}
	_, errs, code := keydesk(t, "", nil, "--store", storeURL, "store", "init")
	if code == 0 || !strings.Contains(errs, "already holds a Keydesk store") {
		t.Fatalf("a second store init: exit %d, %s", code, errs)
	}
	cred := filepath.Join(t.TempDir(), "verify.json")
	mustKeydesk(t, nil, "--store", storeURL, "credential", "export", "--verify-only", "--out", cred)
	r := startReplica(t, storeURL, cred)
	if got := r.verify(t, secret); got != "ok" {
		t.Fatalf("a key issued by the data folder, on the shared store: %s", got)
	}
	// The admin command line verifies it too, from the shared store.
	if _, errs, code := keydesk(t, secret+"\n", nil, "--store", storeURL, "keys", "verify"); code != 0 {
		t.Fatalf("keys verify on the shared store: exit %d, %s", code, errs)
	}
}

func jsonField(t testing.TB, out, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	s, _ := m[name].(string)
	if s == "" {
		t.Fatalf("no %s in %s", name, out)
	}
	return s
}

// The digest with two replicas running: exactly one message for the slot,
// whichever replica claims it; an admin's digest send afterwards finds it
// delivered.
func TestDigestSentOnceByTwoReplicas(t *testing.T) {
	need(t)
	sink := smtptest.Start(t, smtptest.Options{User: "keydesk", Pass: "smtp-secret"})
	storeURL, cred := initStore(t)
	_, errs, code := keydesk(t, "smtp-secret\n", nil, "--store", storeURL, "mail", "set", "--host", "127.0.0.1", "--port", strconv.Itoa(sink.Port()),
		"--security", "none", "--from", "k@example.com", "--to", "ops@example.com", "--username", "keydesk", "--password-stdin")
	if code != 0 {
		t.Fatalf("mail set on the shared store: exit %d, %s", code, errs)
	}
	createKey3d(t, storeURL, "expires soon")
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(pwFile, []byte("smtp-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startReplica(t, storeURL, cred, "KEYDESK_SMTP_PASSWORD_FILE="+pwFile)
	b := startReplica(t, storeURL, cred, "KEYDESK_SMTP_PASSWORD_FILE="+pwFile)
	eventually(t, 10*time.Second, "the digest arrives", func() bool { return len(sink.Messages()) > 0 })
	for _, r := range []*replica{a, b} {
		_ = r.cmd.Process.Signal(os.Interrupt)
		if err := r.cmd.Wait(); err != nil {
			t.Fatalf("a replica did not stop cleanly: %v\n%s", err, r.stderr)
		}
	}
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("%d digest messages for one slot, want 1", n)
	}
	out := mustKeydesk(t, nil, "--store", storeURL, "digest", "send")
	if !strings.Contains(out, "already delivered") {
		t.Fatalf("digest send after the replicas: %s", out)
	}
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("%d digest messages after digest send, want 1", n)
	}
}

// `digest send` (run by cron beside windows and replicas) claims the slot
// in the shared store like they do: while another process holds the claim
// it sends nothing and says the slot is up to date; once the claim is given
// up undelivered, it sends the digest, once.
func TestDigestSendClaimsTheSlot(t *testing.T) {
	need(t)
	sink := smtptest.Start(t, smtptest.Options{User: "keydesk", Pass: "smtp-secret"})
	storeURL, _ := initStore(t)
	_, errs, code := keydesk(t, "smtp-secret\n", nil, "--store", storeURL, "mail", "set", "--host", "127.0.0.1", "--port", strconv.Itoa(sink.Port()),
		"--security", "none", "--from", "k@example.com", "--to", "ops@example.com", "--username", "keydesk", "--password-stdin")
	if code != 0 {
		t.Fatalf("mail set on the shared store: exit %d, %s", code, errs)
	}
	createKey3d(t, storeURL, "expires soon")

	now := time.Now().UTC()
	env := []string{"KEYDESK_ALLOW_NOW=1"}
	other, err := pgstore.Open(context.Background(), storeURL, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	claimed, release, err := other.ClaimSlot(context.Background(), core.SlotAtOrBefore(now))
	if err != nil || !claimed {
		t.Fatalf("another process claims the slot: %v, %v", claimed, err)
	}
	held := true
	defer func() {
		if held { // give the claim up before the pool closes (Close waits for it)
			_ = release(false)
		}
	}()
	out, errs, code := keydesk(t, "", env, "--store", storeURL, "--now", now.Format(time.RFC3339), "digest", "send")
	if n := len(sink.Messages()); code != 0 || n != 0 || !strings.Contains(out, "already delivered") {
		t.Fatalf("digest send while another process holds the slot: exit %d, %d messages, %q %q", code, n, out, errs)
	}
	held = false
	if err := release(false); err != nil {
		t.Fatal(err)
	}
	mustKeydesk(t, env, "--store", storeURL, "--now", now.Format(time.RFC3339), "digest", "send")
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("%d digest messages once the claim was given up, want 1", n)
	}
}

func createKey3d(t testing.TB, storeURL, name string) {
	t.Helper()
	mustKeydesk(t, nil, "--store", storeURL, "keys", "create", "--name", name, "--section", "messaging=read", "--expires", "3d", "--json")
}

// Four admin processes create 25 keys each at once: all 100 are whole, the
// signed state matches them (a replica started afterwards accepts the set)
// and every one verifies.
func TestFourAdminsCreateAtOnce(t *testing.T) {
	need(t)
	storeURL, cred := initStore(t)
	type result struct {
		secrets []string
		err     error
	}
	results := make(chan result, 4)
	for a := range 4 {
		go func() {
			var res result
			for i := range 25 {
				cmd := exec.Command(binary, "--store", storeURL, "keys", "create", "--name", fmt.Sprintf("admin %d key %d", a, i),
					"--section", "messaging=read", "--expires", "30d", "--json")
				cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "KEYDESK_STORE=")
				out, err := cmd.Output()
				if err != nil {
					res.err = fmt.Errorf("admin %d key %d: %v", a, i, err)
					break
				}
				var k struct {
					Key string `json:"key"`
				}
				if err := json.Unmarshal(out, &k); err != nil || k.Key == "" {
					res.err = fmt.Errorf("admin %d key %d: %s", a, i, out)
					break
				}
				res.secrets = append(res.secrets, k.Key)
			}
			results <- res
		}()
	}
	var secrets []string
	for range 4 {
		res := <-results
		if res.err != nil {
			t.Fatal(res.err)
		}
		secrets = append(secrets, res.secrets...)
	}
	if len(secrets) != 100 {
		t.Fatalf("%d keys created, want 100", len(secrets))
	}
	r := startReplica(t, storeURL, cred)
	for _, s := range secrets {
		if got := r.verify(t, s); got != "ok" {
			t.Fatalf("a key created concurrently: %s", got)
		}
	}
}

// A computer without the store's signing material (another admin's before
// credential import) is told how to get it, in one sentence; importing the
// admin credential makes it an admin computer.
func TestComputerWithoutMaterialIsTold(t *testing.T) {
	need(t)
	storeURL, _ := initStore(t)
	admin := filepath.Join(t.TempDir(), "admin.age")
	if _, errs, code := keydesk(t, "correct horse battery\n", nil, "--store", storeURL, "credential", "export", "--out", admin, "--passphrase-stdin"); code != 0 {
		t.Fatalf("export: %s", errs)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	err = conn.QueryRow(ctx, `SELECT value FROM store_meta WHERE name = 'store_id'`).Scan(&id)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The other computer: its keyring has no entry for the store.
	if err := storage.OSKeyring(0).Delete("master:" + id); err != nil {
		t.Fatal(err)
	}
	_, errs, code := keydesk(t, "", nil, "--store", storeURL, "keys", "list")
	if code == 0 || !strings.Contains(errs, "credential import") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("keys list without the material: exit %d, %q", code, errs)
	}
	if _, errs, code := keydesk(t, "correct horse battery\n", nil, "--store", storeURL, "credential", "import", admin, "--passphrase-stdin"); code != 0 {
		t.Fatalf("import: exit %d, %s", code, errs)
	}
	createKey(t, storeURL, "after import")
}

// Bad input about the store: one sentence each, nothing written.
func TestStoreErrorsAreOneSentence(t *testing.T) {
	need(t)
	empty := dbURL(t, newDB(t), "")
	newer, _ := initStore(t)
	sqlExec(t, strings.TrimPrefix(mustParsePath(t, newer), "/"), `INSERT INTO schema_version (version) VALUES (999)`)
	for _, c := range []struct {
		name, url, want string
	}{
		{"a URL that does not parse", "postgres://[::1", "not a valid PostgreSQL URL"},
		{"a server that is down", "postgres://keydesk@127.0.0.1:1/keydesk?connect_timeout=2", "cannot be reached"},
		{"a login refused", dbURL(t, "postgres", "no_such_role"), "refused the login"},
		{"a database without a store", empty, "run `keydesk --store URL store init`"},
		{"a schema newer than this Keydesk", newer, "newer version of Keydesk"},
	} {
		out, errs, code := keydesk(t, "", nil, "--store", c.url, "keys", "list")
		if code == 0 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q (want one sentence with %q)", c.name, code, out, errs, c.want)
		}
	}
	// Nothing was written to the empty database.
	var n int
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, empty)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("tables in the database that holds no store: %d (%v)", n, err)
	}
}

// mail show and digest preview read the shared store's mail settings, as
// mail set writes them (they once read the absent data-folder store and
// crashed): the set-up time is the shared store's, and the first digest
// reaches back to it.
func TestMailShowAndPreviewReadTheSharedStore(t *testing.T) {
	need(t)
	storeURL, _ := initStore(t)
	_, errs, code := keydesk(t, "smtp-secret\n", nil, "--store", storeURL, "mail", "set", "--host", "127.0.0.1", "--port", "2525",
		"--security", "none", "--from", "k@example.com", "--to", "ops@example.com", "--username", "keydesk", "--password-stdin")
	if code != 0 {
		t.Fatalf("mail set on the shared store: exit %d, %s", code, errs)
	}
	var show struct {
		Configured  bool       `json:"configured"`
		PasswordSet bool       `json:"passwordSet"`
		SetUpAt     *time.Time `json:"setUpAt"`
	}
	if err := json.Unmarshal([]byte(mustKeydesk(t, nil, "--store", storeURL, "mail", "show", "--json")), &show); err != nil {
		t.Fatal(err)
	}
	if !show.Configured || !show.PasswordSet || show.SetUpAt == nil {
		t.Fatalf("mail show on the shared store: %+v, want configured, a password and a set-up time", show)
	}
	var preview struct {
		Since time.Time `json:"since"`
	}
	// Three days on, with nothing delivered: the digest reaches back to
	// the set-up time.
	slot := show.SetUpAt.Add(72 * time.Hour).Format(time.RFC3339)
	if err := json.Unmarshal([]byte(mustKeydesk(t, nil, "--store", storeURL, "digest", "preview", "--slot", slot, "--json")), &preview); err != nil {
		t.Fatal(err)
	}
	if !preview.Since.Equal(*show.SetUpAt) {
		t.Fatalf("digest preview since %v, want the set-up time %v", preview.Since, *show.SetUpAt)
	}
}
