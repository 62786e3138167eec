// Package storetest is the contract of core.Store, run against every
// implementation (the local bbolt store and the shared PostgreSQL store) so
// that both behave alike: records come back whole, duplicates and unknown
// ids fail with core.ErrDuplicate and core.ErrNotFound and write nothing,
// the expiry window is (after, until] soonest first, last-used times only
// move forward, and every change writes its audit entry in its own
// transaction. Stores that also keep settings, digest state or an audit
// listing are checked on those too.
//
// It also holds the store doubles every package's tests share: MemStore,
// an in-memory store that passes the same contract, and OpenBbolt, a real
// bbolt store checked at the end of the test (bbolt's btesting style).
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/seal"
)

// Opener returns a new, empty store; the test closes it in t.Cleanup.
type Opener func(t *testing.T) core.Store

// Auditor is a store that lists its audit log, newest first.
type Auditor interface {
	Audit() ([]core.AuditEvent, error)
}

// SettingsStore is a store that keeps settings.
type SettingsStore interface {
	Setting(name string) ([]byte, error)
	PutSetting(name string, value []byte, ev core.AuditEvent) error
}

// DigestStateStore is a store that keeps the last delivered digest slot.
type DigestStateStore interface {
	LastDeliveredSlot() (time.Time, error)
	MarkSlotDelivered(slot time.Time, ev core.AuditEvent) error
}

// T0 is the fixed time the suite's records are built around.
var T0 = time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)

// Run runs the contract against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s core.Store)
	}{
		{"InsertGetListUpdateDelete", testCRUD},
		{"RecordsComeBackWhole", testWhole},
		{"DuplicateIDOrDigest", testDuplicate},
		{"NotFound", testNotFound},
		{"UpdateToTakenDigest", testUpdateTakenDigest},
		{"ExpiryWindow", testExpiry},
		{"SetLastUsedLatestWins", testLastUsed},
		{"AuditInSameTransaction", testAudit},
		{"KeyAudit", testKeyAudit},
		{"Settings", testSettings},
		{"DigestState", testDigestState},
		{"ServiceRoundTrip", testService},
		{"RollKey", testRoll},
		{"Usage", testUsage},
		{"UsageRecorder", testUsageRecorder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Event is an audit event at a whole second (every store keeps those
// exactly).
func Event(action core.AuditAction, id string) core.AuditEvent {
	return core.AuditEvent{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Actor: "tester", Action: action, KeyID: id, KeyName: "key " + id}
}

// Equal reports how got differs from want, or "" when they are the same
// record (times compared as instants).
func Equal(got, want *core.Key) string {
	switch {
	case got == nil:
		return "nil record"
	case got.ID != want.ID:
		return fmt.Sprintf("id %q, want %q", got.ID, want.ID)
	case got.Name != want.Name:
		return fmt.Sprintf("name %q, want %q", got.Name, want.Name)
	case !bytes.Equal(got.Digest, want.Digest):
		return "digest differs"
	case got.Hint != want.Hint:
		return fmt.Sprintf("hint %q, want %q", got.Hint, want.Hint)
	case got.Permissions.Kind != want.Permissions.Kind:
		return fmt.Sprintf("kind %q, want %q", got.Permissions.Kind, want.Permissions.Kind)
	case !maps.Equal(got.Permissions.Sections, want.Permissions.Sections):
		return fmt.Sprintf("sections %v, want %v", got.Permissions.Sections, want.Permissions.Sections)
	case !slices.Equal(got.Permissions.Operations, want.Permissions.Operations):
		return fmt.Sprintf("operations %v, want %v", got.Permissions.Operations, want.Permissions.Operations)
	case !slices.Equal(got.Scopes, want.Scopes):
		return fmt.Sprintf("scopes %v, want %v", got.Scopes, want.Scopes)
	case !got.CreatedAt.Equal(want.CreatedAt):
		return fmt.Sprintf("created %v, want %v", got.CreatedAt, want.CreatedAt)
	case !got.ExpiresAt.Equal(want.ExpiresAt):
		return fmt.Sprintf("expires %v, want %v", got.ExpiresAt, want.ExpiresAt)
	case !got.LastUsedAt.Equal(want.LastUsedAt):
		return fmt.Sprintf("last used %v, want %v", got.LastUsedAt, want.LastUsedAt)
	case got.RolledFrom != want.RolledFrom || got.RolledTo != want.RolledTo:
		return fmt.Sprintf("rolled from %q to %q, want from %q to %q", got.RolledFrom, got.RolledTo, want.RolledFrom, want.RolledTo)
	case !bytes.Equal(got.MAC, want.MAC):
		return "MAC differs"
	}
	return ""
}

// testRoll checks core.KeyRoller: the old record replaced (expiry index
// entry moved), the new one inserted, one audit event, all or nothing.
func testRoll(t *testing.T, s core.Store) {
	r, ok := s.(core.KeyRoller)
	if !ok {
		t.Fatalf("%T does not implement core.KeyRoller", s)
	}
	old := keytest.Key("aaaa", T0.Add(48*time.Hour))
	other := keytest.Key("bbbb", T0.Add(time.Hour))
	mustInsert(t, s, old, other)
	before := auditLen(t, s)
	rolled := old.Clone()
	rolled.ExpiresAt = T0.Add(time.Hour)
	rolled.RolledTo = "cccc"
	rolled.MAC = []byte("mac-of-rolled-aaaa")
	nk := keytest.Key("cccc", T0.Add(49*time.Hour))
	nk.RolledFrom = "aaaa"
	if err := r.RollKey(rolled, nk, Event(core.ActionRoll, "aaaa")); err != nil {
		t.Fatalf("RollKey: %v", err)
	}
	for _, want := range []*core.Key{rolled, nk, other} {
		got, err := s.GetKey(want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := Equal(got, want); d != "" {
			t.Errorf("%s after the roll: %s", want.ID, d)
		}
	}
	if got, err := s.KeysExpiring(T0, T0.Add(time.Hour)); err != nil || !slices.Equal(ids(got), []string{"aaaa", "bbbb"}) {
		t.Errorf("KeysExpiring up to the grace end = %v, %v", ids(got), err)
	}
	if got, _ := s.KeysExpiring(T0.Add(47*time.Hour), T0.Add(48*time.Hour)); len(got) != 0 {
		t.Errorf("the old expiry still lists %v", ids(got))
	}
	if n := auditLen(t, s); before >= 0 && n != before+1 {
		t.Errorf("a roll wrote %d audit events", n-before)
	}
	// Refusals write nothing.
	before = auditLen(t, s)
	again := rolled.Clone()
	again.ExpiresAt = T0
	if err := r.RollKey(again, keytest.Key("dddd", T0.Add(time.Hour)), Event(core.ActionRoll, "aaaa")); !errors.Is(err, core.ErrAlreadyRolled) {
		t.Errorf("second roll = %v, want ErrAlreadyRolled", err)
	}
	if err := r.RollKey(keytest.Key("zzzz", T0), keytest.Key("dddd", T0.Add(time.Hour)), Event(core.ActionRoll, "zzzz")); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("roll of a missing key = %v, want ErrNotFound", err)
	}
	short := other.Clone()
	short.RolledTo = "cccc"
	if err := r.RollKey(short, nk, Event(core.ActionRoll, "bbbb")); !errors.Is(err, core.ErrDuplicate) {
		t.Errorf("roll onto an existing key = %v, want ErrDuplicate", err)
	}
	if got, _ := s.GetKey("bbbb"); Equal(got, other) != "" {
		t.Errorf("a refused roll changed the old record: %s", Equal(got, other))
	}
	if got, _ := s.GetKey("aaaa"); Equal(got, rolled) != "" {
		t.Errorf("a refused roll changed the rolled record: %s", Equal(got, rolled))
	}
	if _, err := s.GetKey("dddd"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a refused roll inserted its new key: %v", err)
	}
	if n := auditLen(t, s); n != before {
		t.Errorf("refused rolls wrote %d audit events", n-before)
	}
}

func ids(keys []*core.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}

func mustInsert(t *testing.T, s core.Store, keys ...*core.Key) {
	t.Helper()
	for _, k := range keys {
		if err := s.InsertKey(k, Event(core.ActionCreate, k.ID)); err != nil {
			t.Fatalf("InsertKey %s: %v", k.ID, err)
		}
	}
}

// auditLen returns the length of the audit log, or -1 when s has none.
func auditLen(t *testing.T, s core.Store) int {
	t.Helper()
	a, ok := s.(Auditor)
	if !ok {
		return -1
	}
	evs, err := a.Audit()
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	return len(evs)
}

func testCRUD(t *testing.T, s core.Store) {
	a, b := keytest.Key("aaaa", T0.Add(time.Hour)), keytest.Key("bbbb", T0.Add(2*time.Hour))
	mustInsert(t, s, b, a)
	got, err := s.GetKey("aaaa")
	if err != nil {
		t.Fatal(err)
	}
	if d := Equal(got, a); d != "" {
		t.Fatalf("GetKey: %s", d)
	}
	list, err := s.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(list), []string{"aaaa", "bbbb"}) {
		t.Fatalf("ListKeys = %v, want [aaaa bbbb] (id order)", ids(list))
	}
	renamed := a.Clone()
	renamed.Name = "renamed"
	if err := s.UpdateKey(renamed, Event(core.ActionRename, "aaaa")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetKey("aaaa"); err != nil || got.Name != "renamed" {
		t.Fatalf("after UpdateKey: %v, %v", got, err)
	}
	if err := s.DeleteKey("bbbb", Event(core.ActionDelete, "bbbb")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetKey("bbbb"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetKey of a deleted key = %v, want ErrNotFound", err)
	}
	if list, _ := s.ListKeys(); !slices.Equal(ids(list), []string{"aaaa"}) {
		t.Fatalf("ListKeys after delete = %v", ids(list))
	}
}

func testWhole(t *testing.T, s core.Store) {
	k := &core.Key{
		ID:     "0123456789abcdef",
		Name:   "Zoë's gateway — ünïcode ✓",
		Digest: bytes.Repeat([]byte{0x00, 0xff, 0x7f}, 11),
		Hint:   "kdk_ab…wxyz",
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{
			"messaging": core.AccessFull, "users": core.AccessRead,
		}},
		Scopes:     []string{"messaging:*", "users:read"},
		CreatedAt:  time.Unix(0, 1748775600123456789).UTC(), // nanoseconds kept
		ExpiresAt:  time.Unix(0, 1751367600987654321).UTC(),
		LastUsedAt: time.Unix(0, 1748779200000000001).UTC(),
		MAC:        bytes.Repeat([]byte{0xa5}, 32),
	}
	ops := &core.Key{
		ID: "fedcba9876543210", Name: "ops", Digest: []byte("d2"), Hint: "kdk_x",
		Permissions: core.Permissions{Kind: core.KindOperations, Operations: []string{"users.list", "messaging.send"}},
		Scopes:      []string{"messaging:send", "users:list"},
		CreatedAt:   T0, ExpiresAt: T0.Add(time.Hour), MAC: []byte{1},
	}
	mustInsert(t, s, k, ops)
	for _, want := range []*core.Key{k, ops} {
		got, err := s.GetKey(want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := Equal(got, want); d != "" {
			t.Errorf("GetKey %s: %s", want.ID, d)
		}
		if !slices.Equal(got.MACPayload(), want.MACPayload()) {
			t.Errorf("GetKey %s: the MAC payload changed", want.ID)
		}
	}
	list, err := s.ListKeys()
	if err != nil || len(list) != 2 {
		t.Fatalf("ListKeys = %d, %v", len(list), err)
	}
	if d := Equal(list[0], k); d != "" {
		t.Errorf("ListKeys: %s", d)
	}
}

func testDuplicate(t *testing.T, s core.Store) {
	a := keytest.Key("aaaa", T0)
	mustInsert(t, s, a)
	before := auditLen(t, s)
	sameID := keytest.Key("aaaa", T0.Add(time.Hour))
	sameID.Digest = []byte("another digest")
	if err := s.InsertKey(sameID, Event(core.ActionCreate, "aaaa")); !errors.Is(err, core.ErrDuplicate) {
		t.Fatalf("InsertKey with a taken id = %v, want ErrDuplicate", err)
	}
	sameDigest := keytest.Key("bbbb", T0)
	sameDigest.Digest = a.Digest
	if err := s.InsertKey(sameDigest, Event(core.ActionCreate, "bbbb")); !errors.Is(err, core.ErrDuplicate) {
		t.Fatalf("InsertKey with a taken digest = %v, want ErrDuplicate", err)
	}
	if list, _ := s.ListKeys(); !slices.Equal(ids(list), []string{"aaaa"}) {
		t.Fatalf("after refused inserts ListKeys = %v", ids(list))
	}
	if got, _ := s.GetKey("aaaa"); Equal(got, a) != "" {
		t.Fatalf("a refused insert changed the existing record: %s", Equal(got, a))
	}
	if ks, _ := s.KeysExpiring(T0.Add(-time.Minute), T0.Add(2*time.Hour)); !slices.Equal(ids(ks), []string{"aaaa"}) {
		t.Fatalf("a refused insert left an expiry index entry: %v", ids(ks))
	}
	if after := auditLen(t, s); after != before {
		t.Fatalf("refused inserts wrote %d audit entries", after-before)
	}
}

func testNotFound(t *testing.T, s core.Store) {
	mustInsert(t, s, keytest.Key("aaaa", T0))
	before := auditLen(t, s)
	if _, err := s.GetKey("nope"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("GetKey = %v, want ErrNotFound", err)
	}
	if err := s.UpdateKey(keytest.Key("nope", T0), Event(core.ActionRename, "nope")); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("UpdateKey = %v, want ErrNotFound", err)
	}
	if err := s.DeleteKey("nope", Event(core.ActionDelete, "nope")); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("DeleteKey = %v, want ErrNotFound", err)
	}
	if list, _ := s.ListKeys(); len(list) != 1 {
		t.Errorf("ListKeys = %v", ids(list))
	}
	if after := auditLen(t, s); after != before {
		t.Errorf("failed changes wrote %d audit entries", after-before)
	}
}

func testUpdateTakenDigest(t *testing.T, s core.Store) {
	a, b := keytest.Key("aaaa", T0), keytest.Key("bbbb", T0)
	mustInsert(t, s, a, b)
	steal := b.Clone()
	steal.Digest = a.Digest
	steal.Name = "stolen"
	if err := s.UpdateKey(steal, Event(core.ActionRename, "bbbb")); !errors.Is(err, core.ErrDuplicate) {
		t.Fatalf("UpdateKey to a taken digest = %v, want ErrDuplicate", err)
	}
	if got, _ := s.GetKey("bbbb"); Equal(got, b) != "" {
		t.Fatalf("a refused update changed the record: %s", Equal(got, b))
	}
}

func testExpiry(t *testing.T, s core.Store) {
	h := time.Hour
	keys := []*core.Key{keytest.Key("k3", T0.Add(3*h)), keytest.Key("k1", T0.Add(h)), keytest.Key("k2b", T0.Add(2*h)), keytest.Key("k2a", T0.Add(2*h)), keytest.Key("k0", T0), keytest.Key("k4", T0.Add(4*h))}
	mustInsert(t, s, keys...)
	check := func(after, until time.Time, want ...string) {
		t.Helper()
		got, err := s.KeysExpiring(after, until)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("KeysExpiring(%v, %v) = %v, want %v", after.Sub(T0), until.Sub(T0), ids(got), want)
		}
		if idx, ok := s.(core.ExpiryIndex); ok {
			gotIDs, err := idx.KeyIDsExpiring(after, until)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gotIDs, want) && !(len(gotIDs) == 0 && len(want) == 0) {
				t.Errorf("KeyIDsExpiring(%v, %v) = %v, want %v", after.Sub(T0), until.Sub(T0), gotIDs, want)
			}
		}
	}
	// (after, until]: a key expiring exactly at after is out, at until in;
	// soonest first, ties in id order.
	check(T0.Add(h), T0.Add(3*h), "k2a", "k2b", "k3")
	check(T0.Add(h-time.Nanosecond), T0.Add(h), "k1")
	check(T0.Add(-time.Hour), T0.Add(10*h), "k0", "k1", "k2a", "k2b", "k3", "k4")
	check(T0.Add(2*h), T0.Add(2*h))
	check(T0.Add(3*h), T0.Add(h))
	// Updates move the index entry; deletes remove it.
	moved := keys[0].Clone() // k3 -> 30 minutes
	moved.ExpiresAt = T0.Add(30 * time.Minute)
	if err := s.UpdateKey(moved, Event(core.ActionRename, "k3")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKey("k2b", Event(core.ActionDelete, "k2b")); err != nil {
		t.Fatal(err)
	}
	check(T0, T0.Add(3*h), "k3", "k1", "k2a")
}

func testLastUsed(t *testing.T, s core.Store) {
	a, b := keytest.Key("aaaa", T0.Add(time.Hour)), keytest.Key("bbbb", T0.Add(time.Hour))
	mustInsert(t, s, a, b)
	t1, t2 := T0.Add(time.Minute+123), T0.Add(2*time.Minute+456)
	if err := s.SetLastUsed(nil); err != nil {
		t.Fatalf("SetLastUsed(nil) = %v", err)
	}
	if err := s.SetLastUsed(map[string]time.Time{"aaaa": t2, "bbbb": t1, "gone": t2}); err != nil {
		t.Fatalf("SetLastUsed with an unknown id = %v, want it skipped", err)
	}
	// An older time (another replica's) does not move it back.
	if err := s.SetLastUsed(map[string]time.Time{"aaaa": t1, "bbbb": t2}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]time.Time{"aaaa": t2, "bbbb": t2} {
		got, err := s.GetKey(id)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastUsedAt.Equal(want) {
			t.Errorf("%s last used %v, want %v (latest wins)", id, got.LastUsedAt, want)
		}
		wantRec := keytest.Key(id, T0.Add(time.Hour))
		wantRec.LastUsedAt = want
		if d := Equal(got, wantRec); d != "" {
			t.Errorf("SetLastUsed changed another field of %s: %s", id, d)
		}
	}
	if _, err := s.GetKey("gone"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("SetLastUsed created a record for an unknown id: %v", err)
	}
	// A deleted key is skipped.
	if err := s.DeleteKey("bbbb", Event(core.ActionDelete, "bbbb")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastUsed(map[string]time.Time{"bbbb": T0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetKey("bbbb"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("SetLastUsed brought back a deleted key: %v", err)
	}
}

func testAudit(t *testing.T, s core.Store) {
	a, ok := s.(Auditor)
	if !ok {
		t.Skip("the store lists no audit log")
	}
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

func testSettings(t *testing.T, s core.Store) {
	st, ok := s.(SettingsStore)
	if !ok {
		t.Skip("the store keeps no settings")
	}
	if v, err := st.Setting("mail"); err != nil || v != nil {
		t.Fatalf("unset Setting = %q, %v; want nil, nil", v, err)
	}
	ev := core.AuditEvent{Time: T0, Actor: "tester", Action: core.ActionSettingsChanged}
	before := auditLen(t, s)
	if err := st.PutSetting("mail", []byte(`{"host":"smtp"}`), ev); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSetting("other", []byte{0, 1, 2}, ev); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Setting("mail"); err != nil || string(v) != `{"host":"smtp"}` {
		t.Fatalf("Setting = %q, %v", v, err)
	}
	if err := st.PutSetting("mail", []byte("v2"), ev); err != nil {
		t.Fatal(err)
	}
	if v, _ := st.Setting("mail"); string(v) != "v2" {
		t.Fatalf("Setting after overwrite = %q", v)
	}
	if err := st.PutSetting("mail", nil, ev); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Setting("mail"); err != nil || v != nil {
		t.Fatalf("Setting after delete = %q, %v", v, err)
	}
	if v, _ := st.Setting("other"); !bytes.Equal(v, []byte{0, 1, 2}) {
		t.Fatalf("another setting = %v", v)
	}
	if n := auditLen(t, s); before >= 0 && n-before != 4 {
		t.Fatalf("4 setting changes wrote %d audit entries", n-before)
	}
}

func testDigestState(t *testing.T, s core.Store) {
	st, ok := s.(DigestStateStore)
	if !ok {
		t.Skip("the store keeps no digest state")
	}
	if got, err := st.LastDeliveredSlot(); err != nil || !got.IsZero() {
		t.Fatalf("LastDeliveredSlot of a new store = %v, %v", got, err)
	}
	ev := core.AuditEvent{Time: T0, Actor: "tester", Action: core.ActionDigestSent}
	before := auditLen(t, s)
	slot := T0.Add(24 * time.Hour)
	if err := st.MarkSlotDelivered(slot, ev); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkSlotDelivered(slot.Add(-12*time.Hour), ev); err != nil {
		t.Fatal(err)
	}
	got, err := st.LastDeliveredSlot()
	if err != nil || !got.Equal(slot) {
		t.Fatalf("LastDeliveredSlot = %v, %v; want %v (an older slot does not move it back)", got, err, slot)
	}
	if n := auditLen(t, s); before >= 0 && n-before != 2 {
		t.Fatalf("2 deliveries wrote %d audit entries", n-before)
	}
}

// testMaster is a fixed master key: the suite is not about the keyring.
var testMaster = bytes.Repeat([]byte{0x5a}, seal.MasterKeySize)

func testService(t *testing.T, s core.Store) {
	signer, err := seal.NewSigner(testMaster)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	svc, err := core.NewService(s, signer, core.FixedClock(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.Actor = "tester"
	req := core.CreateRequest{
		Name:        "service key",
		Lifetime:    core.Lifetime{Duration: 30 * 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessFull}},
	}
	k, secret, err := svc.Create(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rename(k.ID, "renamed key"); err != nil {
		t.Fatal(err)
	}
	// A second service loads the record from the store and checks its MAC.
	svc2, err := core.NewService(s, signer, core.FixedClock(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := svc2.Verify(secret, core.Target{})
	if !v.Valid || v.Reason != core.ReasonOK || v.Key.Name != "renamed key" || v.Key.Tampered {
		t.Fatalf("Verify after reload = %+v", v)
	}
	if _, err := svc2.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	svc3, err := core.NewService(s, signer, core.FixedClock(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := svc3.Verify(secret, core.Target{}); v.Valid || v.Reason != core.ReasonUnknown {
		t.Fatalf("Verify of a deleted key after reload = %+v", v)
	}
}
