package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
)

func testAudit(t *testing.T, s core.Store) {
	a := ability[Auditor](t, s, "lists no audit log")
	k := keytest.Key("aaaa", T0)
	mustInsert(t, s, k)
	r := k.Clone()
	r.Name = "renamed"
	if err := s.UpdateKey(r, Event(core.ActionRename, "aaaa")); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(core.AuditEvent{Time: T0, Actor: "mailer", Action: core.ActionDigestSent, Detail: "3 keys"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKey("aaaa", Event(core.ActionDelete, "aaaa")); err != nil {
		t.Fatal(err)
	}
	mustInsert(t, s, keytest.Key("bbbb", T0))
	// Refused changes add nothing.
	if err := s.InsertKey(keytest.Key("bbbb", T0), Event(core.ActionCreate, "bbbb")); !errors.Is(err, core.ErrDuplicate) {
		t.Fatalf("InsertKey of a duplicate = %v", err)
	}
	if err := s.DeleteKey("nope", Event(core.ActionDelete, "nope")); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("DeleteKey of an unknown id = %v", err)
	}
	evs, err := a.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, string(e.Action)+" "+e.KeyID)
	}
	want := []string{"key.create bbbb", "key.delete aaaa", "digest.sent ", "key.rename aaaa", "key.create aaaa"}
	if !slices.Equal(got, want) {
		t.Fatalf("audit (newest first) = %q, want %q", got, want)
	}
	if e := evs[2]; e.Actor != "mailer" || e.Detail != "3 keys" || !e.Time.Equal(T0) {
		t.Errorf("AppendAudit entry = %+v", e)
	}
	if e := evs[4]; e.Actor != "tester" || e.KeyName != "key aaaa" || !e.Time.Equal(Event("", "").Time) {
		t.Errorf("create entry = %+v", e)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq >= evs[i-1].Seq {
			t.Errorf("audit sequence numbers not decreasing newest first: %d then %d", evs[i-1].Seq, evs[i].Seq)
		}
	}
}
