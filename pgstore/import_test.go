package pgstore

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/storage"
)

var _ Source = (*storage.Store)(nil)

// TestInitFromLocalStore moves a local (bbolt) store into PostgreSQL: every
// key issued from the local store verifies on the shared one with the same
// signing material, and the records, audit log, settings and digest state
// come along.
func TestInitFromLocalStore(t *testing.T) {
	ctx := context.Background()
	local := storetest.OpenBbolt(t, filepath.Join(t.TempDir(), "data"))
	now := time.Now()
	svc, err := core.NewService(local, newSigner(), core.FixedClock(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.Actor = "alice"
	var secrets []string
	var created []*core.Key
	for _, name := range []string{"one", "two", "three"} {
		k, secret, err := svc.Create(keytest.SectionRequest(name))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, secret)
		created = append(created, k)
	}
	if _, err := svc.Rename(created[0].ID, "one renamed"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(created[2].ID); err != nil {
		t.Fatal(err)
	}
	if err := local.SetLastUsed(map[string]time.Time{created[1].ID: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	ev := core.AuditEvent{Time: now, Actor: "alice", Action: core.ActionSettingsChanged}
	if err := local.PutSetting(mail.SettingName, []byte(`{"host":"smtp.example.com"}`), ev); err != nil {
		t.Fatal(err)
	}
	slot := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	if err := local.MarkSlotDelivered(slot, core.AuditEvent{Time: now, Actor: "alice", Action: core.ActionDigestSent}); err != nil {
		t.Fatal(err)
	}

	u := newDatabase(t)
	moved := core.AuditEvent{Time: now, Actor: "alice", Action: "store.moved", Detail: "from a local data folder"}
	s, err := InitFrom(ctx, u, local, []string{mail.SettingName, "absent"}, moved, Options{Host: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	if s.StoreID() != local.StoreID() || !s.Created().Equal(local.Created()) {
		t.Fatalf("identity %s %v, want %s %v", s.StoreID(), s.Created(), local.StoreID(), local.Created())
	}
	want, _ := local.ListKeys()
	got, err := s.ListKeys()
	if err != nil || len(got) != len(want) || len(got) != 2 {
		t.Fatalf("ListKeys = %d, %v; want %d", len(got), err, len(want))
	}
	for i := range want {
		if d := storetest.Equal(got[i], want[i]); d != "" {
			t.Errorf("key %s: %s", want[i].ID, d)
		}
	}
	shared, err := core.NewService(s, newSigner(), core.FixedClock(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, secret := range secrets {
		v := shared.Verify(secret, core.Target{})
		if wantValid := i != 2; v.Valid != wantValid {
			t.Errorf("key %d verifies = %v (%s), want %v", i, v.Valid, v.Reason, wantValid)
		}
	}
	localAudit, _ := local.Audit()
	sharedAudit, err := s.AuditEntries(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(sharedAudit) != len(localAudit)+1 || sharedAudit[0].Action != "store.moved" || sharedAudit[0].Host != "laptop" {
		t.Fatalf("audit: %d entries (newest %+v), want %d plus the move", len(sharedAudit), sharedAudit[0], len(localAudit))
	}
	var gotActions, wantActions []string
	for i, e := range localAudit {
		wantActions = append(wantActions, string(e.Action)+" "+e.KeyID+" "+e.Time.UTC().Truncate(time.Microsecond).String())
		g := sharedAudit[i+1]
		gotActions = append(gotActions, string(g.Action)+" "+g.KeyID+" "+g.Time.String())
		if g.OSUser != "alice" {
			t.Errorf("imported entry's OS user = %q", g.OSUser)
		}
	}
	if !slices.Equal(gotActions, wantActions) {
		t.Fatalf("audit = %q, want %q", gotActions, wantActions)
	}
	if v, _ := s.Setting(mail.SettingName); string(v) != `{"host":"smtp.example.com"}` {
		t.Fatalf("mail setting = %q", v)
	}
	if v, _ := s.Setting("absent"); v != nil {
		t.Fatalf("an absent setting came as %q", v)
	}
	if got, _ := s.LastDeliveredSlot(); !got.Equal(slot) {
		t.Fatalf("last delivered slot = %v", got)
	}
	if _, seq, _ := s.Snapshot(ctx); seq != 2 {
		t.Fatalf("change sequence after the move = %d, want 2 (one per key)", seq)
	}

	// A database that holds a store is refused and left as it is.
	if _, err := InitFrom(ctx, u, local, nil, moved, Options{}); !errors.Is(err, ErrAlreadyInitialised) {
		t.Fatalf("InitFrom into a store = %v, want ErrAlreadyInitialised", err)
	}
	if n, _ := s.AuditEntries(0); len(n) != len(sharedAudit) {
		t.Fatal("a refused move wrote to the store")
	}
}
