package shared

import (
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startPgBouncer starts scripts/pgbouncer.sh in front of the test cluster
// with pool_mode mode and returns the URL of database db through it.
func startPgBouncer(t *testing.T, mode, db string) string {
	t.Helper()
	if _, err := exec.LookPath("pgbouncer"); err != nil {
		t.Skip("pgbouncer is not installed: run scripts/install-deps.sh")
	}
	dir, err := os.MkdirTemp("", "kdpgbouncer")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(dir) // the script makes it
	out, err := exec.Command("../../scripts/pgbouncer.sh", "start", dir, mode, clusterURL).Output()
	if err != nil {
		t.Fatalf("pgbouncer.sh start: %v", err)
	}
	t.Cleanup(func() { _ = exec.Command("../../scripts/pgbouncer.sh", "stop", dir).Run() })
	u, err := url.Parse(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

// Through PgBouncer in either pool mode, with the URL as written: admin
// commands work, and replicas follow. In transaction mode a replica polls
// (/healthz says "poll") unless given a direct --follow-url, when it
// listens; in session mode it listens. A created key verifies, and a
// deleted one stops verifying, within three heartbeats (3 s) everywhere.
func TestThroughPgBouncer(t *testing.T) {
	need(t)
	for _, mode := range []string{"transaction", "session"} {
		t.Run(mode, func(t *testing.T) {
			db := newDB(t)
			direct := dbURL(t, db, "")
			pooled := startPgBouncer(t, mode, db)
			mustKeydesk(t, nil, "--store", pooled, "store", "init")
			cred := t.TempDir() + "/verify.json"
			mustKeydesk(t, nil, "--store", pooled, "credential", "export", "--verify-only", "--out", cred)
			first, _ := createKey(t, pooled, "first")
			if out := mustKeydesk(t, nil, "--store", pooled, "keys", "list"); !strings.Contains(out, first) {
				t.Fatalf("keys list through the pooler lacks %s:\n%s", first, out)
			}
			plain := startReplica(t, pooled, cred)
			listening := startReplica(t, pooled, cred, "KEYDESK_FOLLOW_URL="+direct)
			wantPlain := "listen"
			if mode == "transaction" {
				wantPlain = "poll"
			}
			for r, want := range map[*replica]string{plain: wantPlain, listening: "listen"} {
				eventually(t, 10*time.Second, "follow mode "+want, func() bool {
					h := r.health(t)
					return h.Status == "ok" && h.Follow == want
				})
			}
			id, secret := createKey(t, pooled, "through the pooler")
			for _, r := range []*replica{plain, listening} {
				d := eventually(t, 3*time.Second, "a created key verifies", func() bool { return r.verify(t, secret) == "ok" })
				t.Logf("created key on a replica (%s): %v", r.health(t).Follow, d)
			}
			mustKeydesk(t, nil, "--store", pooled, "keys", "delete", id, "--yes")
			for _, r := range []*replica{plain, listening} {
				d := eventually(t, 3*time.Second, "a deleted key stops verifying", func() bool { return r.verify(t, secret) == "unknown" })
				t.Logf("deleted key on a replica (%s): %v", r.health(t).Follow, d)
			}
		})
	}
}
