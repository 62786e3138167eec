package storage

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/seal"
	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)

func TestInsertGetListUpdateDelete(t *testing.T) {
	s, _ := openStore(t)
	a, b := keytest.Key("aaaa", t0.Add(time.Hour)), keytest.Key("bbbb", t0.Add(2*time.Hour))
	for _, k := range []*core.Key{a, b} {
		if err := s.InsertKey(k, event(core.ActionCreate, k.ID)); err != nil {
			t.Fatalf("InsertKey %s: %v", k.ID, err)
		}
	}
	got, err := s.GetKey("aaaa")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != a.Name || !bytes.Equal(got.Digest, a.Digest) || !got.ExpiresAt.Equal(a.ExpiresAt) || !slices.Equal(got.Scopes, a.Scopes) {
		t.Fatalf("GetKey = %+v, want %+v", got, a)
	}
	list, err := s.ListKeys()
	if err != nil || len(list) != 2 {
		t.Fatalf("ListKeys = %d keys, %v; want 2", len(list), err)
	}

	renamed := a.Clone()
	renamed.Name = "renamed"
	if err := s.UpdateKey(renamed, event(core.ActionRename, "aaaa")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetKey("aaaa"); got.Name != "renamed" {
		t.Fatalf("after UpdateKey name = %q", got.Name)
	}

	if err := s.DeleteKey("bbbb", event(core.ActionDelete, "bbbb")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetKey("bbbb"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetKey deleted = %v, want ErrNotFound", err)
	}
	if ks, _ := s.KeysExpiring(t0, t0.Add(24*time.Hour)); len(ks) != 1 || ks[0].ID != "aaaa" {
		t.Fatalf("expiry index after delete = %v", ids(ks))
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.Audit()
	var actions []core.AuditAction
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	want := []core.AuditAction{core.ActionDelete, core.ActionRename, core.ActionCreate, core.ActionCreate}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit actions = %v, want %v (newest first)", actions, want)
	}
}

func TestUpdateMovesIndexes(t *testing.T) {
	s, _ := openStore(t)
	k := keytest.Key("aaaa", t0)
	if err := s.InsertKey(k, event(core.ActionCreate, k.ID)); err != nil {
		t.Fatal(err)
	}
	moved := k.Clone()
	moved.ExpiresAt = t0.Add(48 * time.Hour)
	moved.Digest = []byte("new digest")
	if err := s.UpdateKey(moved, event(core.ActionRename, k.ID)); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if ks, _ := s.KeysExpiring(t0.Add(-time.Hour), t0.Add(time.Hour)); len(ks) != 0 {
		t.Fatalf("old expiry still indexed: %v", ids(ks))
	}
	if ks, _ := s.KeysExpiring(t0.Add(47*time.Hour), t0.Add(49*time.Hour)); len(ks) != 1 {
		t.Fatalf("new expiry not indexed: %v", ids(ks))
	}
}

func TestUnknownIDs(t *testing.T) {
	s, _ := openStore(t)
	if err := s.UpdateKey(keytest.Key("nope", t0), event(core.ActionRename, "nope")); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("UpdateKey unknown = %v, want ErrNotFound", err)
	}
	if err := s.DeleteKey("nope", event(core.ActionDelete, "nope")); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("DeleteKey unknown = %v, want ErrNotFound", err)
	}
	if _, err := s.GetKey("nope"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("GetKey unknown = %v, want ErrNotFound", err)
	}
	if n := auditLen(t, s); n != 0 {
		t.Errorf("failed writes left %d audit events", n)
	}
}

func TestDuplicateRefused(t *testing.T) {
	s, _ := openStore(t)
	orig := keytest.Key("aaaa", t0)
	if err := s.InsertKey(orig, event(core.ActionCreate, "aaaa")); err != nil {
		t.Fatal(err)
	}
	sameID := keytest.Key("aaaa", t0.Add(time.Hour))
	sameID.Digest = []byte("other digest")
	sameDigest := keytest.Key("bbbb", t0.Add(time.Hour))
	sameDigest.Digest = orig.Digest
	for name, k := range map[string]*core.Key{"same id": sameID, "same digest": sameDigest} {
		t.Run(name, func(t *testing.T) {
			if err := s.InsertKey(k, event(core.ActionCreate, k.ID)); !errors.Is(err, core.ErrDuplicate) {
				t.Fatalf("InsertKey = %v, want ErrDuplicate", err)
			}
			if err := s.InsertKeys([]*core.Key{keytest.Key("cccc", t0), k}, event(core.ActionCreate, "")); !errors.Is(err, core.ErrDuplicate) {
				t.Fatalf("InsertKeys = %v, want ErrDuplicate", err)
			}
			// Nothing of the refused writes remains.
			if list, _ := s.ListKeys(); len(list) != 1 {
				t.Fatalf("%d keys after refused inserts, want 1", len(list))
			}
			if n := auditLen(t, s); n != 1 {
				t.Fatalf("%d audit events after refused inserts, want 1", n)
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKeysExpiringBoundaries(t *testing.T) {
	s, _ := openStore(t)
	var batch []*core.Key
	for i, off := range []time.Duration{-time.Nanosecond, 0, time.Nanosecond, time.Hour, 24*time.Hour - time.Nanosecond, 24 * time.Hour, 24*time.Hour + time.Nanosecond} {
		k := keytest.Key(string(rune('a'+i)), t0.Add(off))
		batch = append(batch, k)
	}
	// Two keys sharing one expiry both appear.
	batch = append(batch, keytest.Key("z", t0.Add(time.Hour)))
	if err := s.InsertKeys(batch, event(core.ActionCreate, "")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		after, until time.Time
		want         []string
	}{
		{"day window: after exclusive, until inclusive", t0, t0.Add(24 * time.Hour), []string{"c", "d", "z", "e", "f"}},
		{"single instant is empty", t0, t0, nil},
		{"reversed is empty", t0.Add(time.Hour), t0, nil},
		{"one nanosecond", t0.Add(-time.Nanosecond), t0, []string{"b"}},
		{"everything", t0.Add(-time.Hour), t0.Add(48 * time.Hour), []string{"a", "b", "c", "d", "z", "e", "f", "g"}},
		{"nothing before", t0.Add(-48 * time.Hour), t0.Add(-time.Hour), nil},
		{"pre-1970 bound", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), t0.Add(-time.Nanosecond), []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.KeysExpiring(tt.after, tt.until)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Fatalf("KeysExpiring = %v, want %v", ids(got), tt.want)
			}
			gotIDs, err := s.KeyIDsExpiring(tt.after, tt.until)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gotIDs, ids(got)) && (len(gotIDs) > 0 || len(tt.want) > 0) {
				t.Fatalf("KeyIDsExpiring = %v, want %v", gotIDs, tt.want)
			}
		})
	}
}

func TestSettingsDigestStateAudit(t *testing.T) {
	s, dir := openStore(t)
	if v, err := s.Setting("mail"); v != nil || err != nil {
		t.Fatalf("unset setting = %q, %v; want nil, nil", v, err)
	}
	if err := s.PutSetting("mail", []byte(`{"host":"smtp.example.com"}`), core.AuditEvent{Action: core.ActionSettingsChanged, Actor: "tester", Detail: "mail"}); err != nil {
		t.Fatal(err)
	}
	if slot, err := s.LastDeliveredSlot(); !slot.IsZero() || err != nil {
		t.Fatalf("LastDeliveredSlot = %v, %v; want zero", slot, err)
	}
	slot := time.Date(2025, 6, 2, 11, 0, 0, 0, time.UTC)
	if err := s.MarkSlotDelivered(slot, core.AuditEvent{Action: core.ActionDigestSent, Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	// An older slot does not move the mark back.
	if err := s.MarkSlotDelivered(slot.AddDate(0, 0, -3), core.AuditEvent{Action: core.ActionDigestSent, Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	id := s.StoreID()
	s.Close()

	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.StoreID() != id || len(id) != 32 {
		t.Fatalf("store id %q after reopen, was %q", s2.StoreID(), id)
	}
	if v, _ := s2.Setting("mail"); string(v) != `{"host":"smtp.example.com"}` {
		t.Fatalf("setting after reopen = %q", v)
	}
	if got, _ := s2.LastDeliveredSlot(); !got.Equal(slot) {
		t.Fatalf("LastDeliveredSlot = %v, want %v", got, slot)
	}
	evs, _ := s2.Audit()
	if len(evs) != 3 || evs[0].Seq != 3 || evs[2].Action != core.ActionSettingsChanged || evs[2].Detail != "mail" || evs[2].Time.IsZero() {
		t.Fatalf("audit = %+v", evs)
	}
	if err := s2.PutSetting("mail", nil, core.AuditEvent{Action: core.ActionSettingsChanged}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s2.Setting("mail"); v != nil {
		t.Fatalf("deleted setting = %q", v)
	}
	if v, _ := s2.Schema(); v != SchemaVersion {
		t.Fatalf("schema = %d, want %d", v, SchemaVersion)
	}
}

func TestSetLastUsedBatch(t *testing.T) {
	s, _ := openStore(t)
	if err := s.InsertKeys([]*core.Key{keytest.Key("a", t0), keytest.Key("b", t0)}, event(core.ActionCreate, "")); err != nil {
		t.Fatal(err)
	}
	used := t0.Add(-time.Minute)
	if err := s.SetLastUsed(map[string]time.Time{"a": used, "gone": used}); err != nil {
		t.Fatal(err)
	}
	// An older time does not overwrite a newer one.
	if err := s.SetLastUsed(map[string]time.Time{"a": used.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.GetKey("a")
	b, _ := s.GetKey("b")
	if !a.LastUsedAt.Equal(used) || !b.LastUsedAt.IsZero() {
		t.Fatalf("last used a=%v b=%v", a.LastUsedAt, b.LastUsedAt)
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "parent", "child", "data")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checks := map[string]os.FileMode{
		Path(dir):                       0o600,
		dir:                             0o700,
		filepath.Dir(dir):               0o700,
		filepath.Dir(filepath.Dir(dir)): 0o700,
	}
	for p, want := range checks {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %o, want %o", p, got, want)
		}
	}
}

func TestMustExist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Open(dir, Options{MustExist: true}); !errors.Is(err, ErrNoStore) {
		t.Fatalf("Open MustExist = %v, want ErrNoStore", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open MustExist created %s", dir)
	}
}

func TestNewStoreIDIsUsed(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NewStoreID: "feedface"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir, Options{NewStoreID: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.StoreID() != "feedface" {
		t.Fatalf("StoreID = %q, want the id given at creation", s.StoreID())
	}
}

func TestSchemaTooNew(t *testing.T) {
	s, dir := openStore(t)
	s.Close()
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchema, []byte{0, 0, 0, 0, 0, 0, 0, 99})
	})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
}

func TestAlreadyOpenSameProcess(t *testing.T) {
	s, dir := openStore(t)
	if err := s.InsertKey(keytest.Key("a", t0), event(core.ActionCreate, "a")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(Path(dir))
	_, err := Open(dir, Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrAlreadyOpen) || err.Error() != "data folder already open in another keydesk process" {
		t.Fatalf("second Open = %v, want ErrAlreadyOpen", err)
	}
	after, _ := os.ReadFile(Path(dir))
	if !bytes.Equal(before, after) {
		t.Fatal("the refused Open changed the database file")
	}
}

func TestAlreadyOpenOtherProcess(t *testing.T) {
	s, dir := openStore(t)
	if err := s.InsertKey(keytest.Key("a", t0), event(core.ActionCreate, "a")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(Path(dir))
	out, err := child(t, "open", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != ErrAlreadyOpen.Error() {
		t.Fatalf("child said %q, want %q", got, ErrAlreadyOpen)
	}
	after, _ := os.ReadFile(Path(dir))
	if !bytes.Equal(before, after) {
		t.Fatal("the refused Open changed the database file")
	}
	// Once released, the other process opens it.
	s.Close()
	cmd := child(t, "open", dir)
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != childUnwanted {
		t.Fatalf("child after release: %v, want it to open the store", err)
	}
}

func TestSecretNeverInFile(t *testing.T) {
	s, dir := openStore(t)
	svc := newService(t, s, t0)
	var secrets []string
	for i := range 20 {
		k, secret := keytest.Create(t, svc, keytest.SectionRequest("key "+string(rune('A'+i))))
		secrets = append(secrets, secret)
		if i%2 == 0 {
			if _, err := svc.Rename(k.ID, "renamed "+secret[:7]); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Verification updates last-used; flush so those writes are in the file too.
	for _, sec := range secrets {
		if v := svc.Verify(sec, core.Target{}); v.Reason != core.ReasonOK {
			t.Fatalf("Verify = %s", v.Reason)
		}
	}
	if err := svc.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	data, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range secrets {
		body := sec[len(core.KeyPrefix) : len(core.KeyPrefix)+core.BodyLength]
		for _, needle := range []string{sec, body, body[core.HintLength:]} {
			if bytes.Contains(data, []byte(needle)) {
				t.Fatalf("the database file contains a secret (or its random part)")
			}
		}
		// Hints are stored by design: check the file is the one we think.
		if !bytes.Contains(data, []byte(core.KeyHint(sec))) {
			t.Fatalf("hint %s not found: is this the right file?", core.KeyHint(sec))
		}
	}
	for _, m := range [][]byte{testMaster, []byte(hex.EncodeToString(testMaster))} {
		if bytes.Contains(data, m) {
			t.Fatal("the database file contains the master key")
		}
	}
}

// rawUpdate edits the database file directly, as an attacker with the file
// would.
func rawUpdate(t testing.TB, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(Path(dir), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestEditedRecordIsTampered(t *testing.T) {
	tests := []struct {
		name string
		edit func(k *core.Key)
	}{
		{"name", func(k *core.Key) { k.Name = "Innocent looking name" }},
		{"expiry extended", func(k *core.Key) { k.ExpiresAt = t0.AddDate(5, 0, 0) }},
		{"scopes widened", func(k *core.Key) { k.Scopes = []string{core.GlobalScope} }},
		{"permission kind", func(k *core.Key) { k.Permissions = core.Permissions{Kind: core.KindGlobal} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := openStore(t)
			svc := newService(t, s, t0)
			k, secret := keytest.Create(t, svc, keytest.SectionRequest("Billing sync (prod)"))
			_, other := keytest.Create(t, svc, keytest.SectionRequest("Untouched"))
			s.Close()
			rawUpdate(t, dir, func(tx *bolt.Tx) error {
				b := tx.Bucket(bucketKeys)
				rec, err := seal.DecodeRecord(b.Get([]byte(k.ID)))
				if err != nil {
					return err
				}
				tt.edit(rec)
				return b.Put([]byte(k.ID), encodeKey(rec))
			})
			s2, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			svc2 := newService(t, s2, t0.Add(time.Hour))
			if v := svc2.Verify(secret, core.Target{Scope: "messaging:read"}); v.Reason != core.ReasonTampered || v.Valid || v.Allowed {
				t.Fatalf("Verify edited = %+v, want tampered", v)
			}
			if v := svc2.Verify(other, core.Target{Scope: "messaging:read"}); v.Reason != core.ReasonOK {
				t.Fatalf("Verify untouched = %s, want ok", v.Reason)
			}
			got, _ := svc2.Get(k.ID)
			if !got.Tampered {
				t.Fatal("edited key not flagged in the list")
			}
		})
	}
}

// TestKilledDuringCreate kills (SIGKILL) a process creating keys in a loop
// and checks that the database opens with every key whole.
func TestKilledDuringCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := filepath.Join(t.TempDir(), "data")
	cmd := child(t, "create", dir, "KEYDESK_TEST_MASTER="+hex.EncodeToString(testMaster))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const n = 25
	printed := map[string]string{} // id -> secret, each committed
	sc := bufio.NewScanner(stdout)
	for len(printed) < n && sc.Scan() {
		id, secret, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("child printed %q", sc.Text())
		}
		printed[id] = secret
	}
	// Kill it while it is inside the next Create.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(printed) < n {
		t.Fatalf("child stopped after %d keys: %s", len(printed), stderr.String())
	}

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after kill: %v", err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("indexes after kill: %v", err)
	}
	keys, err := s.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < n {
		t.Fatalf("%d keys after kill, want at least the %d committed", len(keys), n)
	}
	signer := testSigner(t)
	for _, k := range keys {
		if !signer.VerifyRecord(k.MACPayload(), k.MAC) || k.Name == "" || len(k.Scopes) == 0 || k.ExpiresAt.IsZero() {
			t.Fatalf("key %s is not whole: %+v", k.ID, k)
		}
	}
	svc := newService(t, s, time.Now())
	for id, secret := range printed {
		v := svc.Verify(secret, core.Target{Scope: "messaging:read"})
		if v.Reason != core.ReasonOK || v.Key.ID != id {
			t.Fatalf("committed key %s verifies as %s", id, v.Reason)
		}
	}
	if evs, _ := s.Audit(); len(evs) != len(keys) {
		t.Fatalf("%d audit events for %d keys: each key and its event are one write", len(evs), len(keys))
	}
}

func ids(keys []*core.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}
