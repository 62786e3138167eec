package storetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
)

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
