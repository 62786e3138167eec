package pgstore

import (
	"context"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/storetest"
)

// Entries an admin writes verify; a server role's digest entry is the
// server's; an admin action inserted by the server role, a genuine entry
// replayed or edited by a database writer, and one carrying another's
// signature all read as unverified, labelled "(unsigned)".
func TestForgedAuditEntriesAreMarked(t *testing.T) {
	ss, svc, u := newSealed(t)
	ctx := context.Background()
	k, _ := keytest.Create(t, svc, keytest.SectionRequest("audited"))
	if _, err := svc.Rename(k.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	role := newRole(t, u)
	for _, g := range ServerGrants(role) {
		if _, err := ss.Pool().Exec(ctx, g); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
	}
	server, err := Open(ctx, withUser(t, u, role), Options{Host: "replica-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if err := server.AppendAudit(core.AuditEvent{Time: storetest.T0, Actor: "keydesk", Action: core.ActionDigestSent, Detail: "sent"}); err != nil {
		t.Fatalf("a server's digest entry: %v", err)
	}
	// The server role forges an admin's deletion, with and without a
	// made-up signature.
	for _, sig := range []string{"NULL", `'\x00'::bytea`} {
		if _, err := server.pool.Exec(ctx, `INSERT INTO audit (at, actor, action, key_id, key_name, detail, os_user, host, sig)
			VALUES (now(), 'admin', 'key.delete', $1, 'renamed', 'forged by the server role', 'admin', 'laptop', `+sig+`)`, k.ID); err != nil {
			t.Fatalf("the server role's INSERT INTO audit: %v", err)
		}
	}
	// A database writer replays the genuine creation under a new number,
	// and edits the genuine rename.
	if _, err := ss.Pool().Exec(ctx, `INSERT INTO audit (at, actor, action, key_id, key_name, detail, os_user, host, sig)
		SELECT at, actor, action, key_id, key_name, detail, os_user, host, sig FROM audit WHERE action = 'key.create'`); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Pool().Exec(ctx, `UPDATE audit SET actor = 'someone else' WHERE action = 'key.rename'`); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(k.ID); err != nil {
		t.Fatal(err)
	}

	entries, err := ss.AuditEntries(0)
	if err != nil {
		t.Fatal(err)
	}
	var verified, byServer, unsigned []string
	for _, e := range entries {
		switch who := e.Who(); {
		case !e.Unverified && who == e.Actor:
			verified = append(verified, string(e.Action))
		case strings.HasSuffix(who, "(server)"):
			byServer = append(byServer, string(e.Action))
		case strings.HasSuffix(who, "(unsigned)"):
			unsigned = append(unsigned, string(e.Action)+" "+e.Actor)
		default:
			t.Errorf("entry %+v labelled %q", e, who)
		}
	}
	if got := strings.Join(verified, ","); got != "key.delete,key.create" {
		t.Errorf("verified entries: %s, want the genuine delete and create", got)
	}
	if got := strings.Join(byServer, ","); got != "digest.sent" {
		t.Errorf("server entries: %s", got)
	}
	if got := strings.Join(unsigned, ","); got != "key.create "+entries[1].Actor+",key.delete admin,key.delete admin,key.rename someone else" {
		t.Errorf("unsigned entries: %s", got)
	}
	// Without admin material nothing can be vouched for.
	plain, err := Open(ctx, u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	all, err := plain.AuditEntries(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if !e.Unverified {
			t.Errorf("read without admin material, %s is verified", e.Action)
		}
	}
}
