package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
)

// KeyAuditor is a store that reads the audit entries of some keys.
type KeyAuditor interface {
	KeyAudit(ids ...string) ([]core.AuditEvent, error)
}

// testKeyAudit: KeyAudit returns exactly the entries whose key is one of
// those asked for, newest first, whatever else the log holds.
func testKeyAudit(t *testing.T, s core.Store) {
	ka := ability[KeyAuditor](t, s, "reads no per-key audit")
	a, b := keytest.Key("aaaa", T0.Add(time.Hour)), keytest.Key("aaaab", T0.Add(2*time.Hour))
	mustInsert(t, s, a, b)
	renamed := a.Clone()
	renamed.Name = "renamed"
	if err := s.UpdateKey(renamed, Event(core.ActionRename, "aaaa")); err != nil {
		t.Fatal(err)
	}
	// An entry that names aaaa only in its detail, as JSON would, is not
	// aaaa's.
	decoy := Event(core.ActionRename, "aaaab")
	decoy.Detail = `"keyId":"aaaa"`
	if err := s.UpdateKey(b, decoy); err != nil {
		t.Fatal(err)
	}
	if a, ok := s.(interface{ AppendAudit(core.AuditEvent) error }); ok {
		if err := a.AppendAudit(Event(core.ActionSettingsChanged, "")); err != nil {
			t.Fatal(err)
		}
	}
	type entry struct {
		id     string
		action core.AuditAction
	}
	read := func(ids ...string) []entry {
		t.Helper()
		evs, err := ka.KeyAudit(ids...)
		if err != nil {
			t.Fatalf("KeyAudit(%v): %v", ids, err)
		}
		var out []entry
		for _, ev := range evs {
			out = append(out, entry{ev.KeyID, ev.Action})
		}
		return out
	}
	if got, want := read("aaaa"), []entry{{"aaaa", core.ActionRename}, {"aaaa", core.ActionCreate}}; !slices.Equal(got, want) {
		t.Errorf("KeyAudit(aaaa) = %v, want %v (newest first)", got, want)
	}
	if got, want := read("aaaab", "aaaa"), []entry{{"aaaab", core.ActionRename}, {"aaaa", core.ActionRename}, {"aaaab", core.ActionCreate}, {"aaaa", core.ActionCreate}}; !slices.Equal(got, want) {
		t.Errorf("KeyAudit(aaaab, aaaa) = %v, want %v", got, want)
	}
	if got := read("aaa"); len(got) != 0 {
		t.Errorf("KeyAudit(aaa) = %v, want none (ids match whole)", got)
	}
	if got := read(); len(got) != 0 {
		t.Errorf("KeyAudit() = %v, want none", got)
	}
}
