package shared

import (
	"encoding/json"
	"strings"
	"testing"
)

// An admin's deletion forged into the audit table (as the server role
// could) is shown as unsigned by `keydesk audit`, with the sentence saying
// what that means, and flagged in --json; the admin's own entries are not.
func TestAuditShowsForgedEntries(t *testing.T) {
	need(t)
	storeURL, _ := initStore(t)
	db := strings.TrimPrefix(mustParsePath(t, storeURL), "/")
	createKey(t, storeURL, "genuine")
	sqlExec(t, db, `INSERT INTO audit (at, actor, action, key_id, key_name, detail, os_user, host)
		VALUES (now(), 'mallory-admin', 'key.delete', 'k_fake', 'payments', 'forged', 'admin', 'laptop')`)

	out := mustKeydesk(t, nil, "--store", storeURL, "audit")
	var forged, created string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "key.delete"):
			forged = line
		case strings.Contains(line, "key.create"):
			created = line
		}
	}
	if !strings.Contains(forged, "mallory-admin (unsigned)") || !strings.Contains(out, "carry no admin's signature") {
		t.Fatalf("the forged entry is not shown as unsigned:\n%s", out)
	}
	if created == "" || strings.Contains(created, "unsigned") {
		t.Fatalf("the admin's own entry: %q\n%s", created, out)
	}

	var entries []struct {
		Action     string `json:"action"`
		Unverified bool   `json:"unverified"`
	}
	if err := json.Unmarshal([]byte(mustKeydesk(t, nil, "--store", storeURL, "audit", "--json")), &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Unverified != (e.Action == "key.delete") {
			t.Errorf("audit --json: %s unverified=%v", e.Action, e.Unverified)
		}
	}
}
