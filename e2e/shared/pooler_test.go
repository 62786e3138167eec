package shared

import (
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/internal/storetest"
)

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
			pooled := storetest.PgBouncer(t, mode, direct)
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
