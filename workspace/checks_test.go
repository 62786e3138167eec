package workspace

import (
	"errors"
	"os"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
	bolt "go.etcd.io/bbolt"
)

// editRecord rewrites the stored record of id in the closed store of dir
// with edit applied, keeping its MAC and signature as they were (what
// someone who can write the file but holds no key can do).
func editRecord(t *testing.T, dir, id string, edit func(k *core.Key)) {
	t.Helper()
	db, err := bolt.Open(storage.Path(dir), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("keys"))
		k, sig, err := seal.DecodeSignedRecord(b.Get([]byte(id)))
		if err != nil {
			return err
		}
		edit(k)
		return b.Put([]byte(id), seal.EncodeSignedRecord(k, sig))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A record altered in the file (wider scopes; its MAC and signature, which
// the signed set covers, left alone, so that the seal passes) is refused at its first
// verification right after a CheckLater open, before any background check
// reached it; once the checks ran, the list flags it, and the key next to
// it verifies throughout.
func TestCheckLaterRefusesAlteredRecordAtFirstVerification(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := t.TempDir()
	b := open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	bad, badSecret := keytest.Create(t, b.service, sectionsReq)
	good, goodSecret := keytest.Create(t, b.service, sectionsReq)
	b.Close()
	editRecord(t, dir, bad.ID, func(k *core.Key) {
		k.Permissions.Sections = map[string]core.Access{"users": core.AccessFull}
		k.Scopes = []string{"users:*"}
	})

	b = open(t, Options{Keyring: kr, Dir: dir, Now: t0, CheckLater: true})
	if v := b.service.Verify(badSecret, core.Target{Scope: "users:write"}); v.Valid || v.Allowed || v.Reason != core.ReasonTampered {
		t.Errorf("the altered key's first verification: %+v, want refused as tampered", v)
	}
	if _, err := b.service.Rename(bad.ID, "laundered"); !errors.Is(err, core.ErrTampered) {
		t.Errorf("Rename of the altered key: %v, want ErrTampered", err)
	}
	if v := b.service.Verify(goodSecret, core.Target{Scope: "users:read"}); !v.Valid || !v.Allowed {
		t.Errorf("the intact key: %+v, want valid", v)
	}
	_, done := b.Checks()
	<-done
	c, _ := b.Checks()
	if !c.Sealed || c.Failed || !c.Done || c.Checked != c.Total || c.Total == 0 {
		t.Errorf("checks ended as %+v, want sealed, every MAC checked", c)
	}
	for _, k := range b.service.List() {
		if want := k.ID == bad.ID; k.Tampered != want {
			t.Errorf("after the checks, key %s Tampered = %v, want %v", k.ID, k.Tampered, want)
		}
	}
	if k, err := b.service.Get(good.ID); err != nil || k.Tampered {
		t.Errorf("the intact key after the checks: %+v, %v", k, err)
	}
}

// A deleted key whose record is written back into the file passes its own
// MAC, so only the seal (the set of records against the signed state)
// catches it: after a CheckLater open its first verification waits for
// that check and is refused, every change is refused, and the signature
// watch reports ErrTampered.
func TestCheckLaterRefusesRevivedKey(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := t.TempDir()
	secret := reviveDeletedKey(t, kr, dir)

	b := open(t, Options{Keyring: kr, Dir: dir, Now: t0, CheckLater: true})
	if v := b.service.Verify(secret, core.Target{Scope: "users:read"}); v.Valid || v.Reason != core.ReasonTampered {
		t.Errorf("the revived key right after open: %+v, want refused as tampered", v)
	}
	if c, _ := b.Checks(); !c.Failed || c.Sealed {
		t.Errorf("checks %+v, want failed", c)
	}
	if _, _, err := b.service.Create(sectionsReq); !errors.Is(err, storage.ErrTampered) {
		t.Errorf("Create on the refused folder: %v, want ErrTampered", err)
	}
	if err := b.store.(*storage.Store).WaitSignatureCheck(); !errors.Is(err, storage.ErrTampered) {
		t.Errorf("WaitSignatureCheck: %v, want ErrTampered", err)
	}
}

// An older copy of the file (taken before a key was deleted) opens with
// CheckLater, but the deleted key never verifies: the seal finds the file
// older than the keyring.
func TestCheckLaterRefusesOlderFile(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := t.TempDir()
	b := open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	k, secret := keytest.Create(t, b.service, sectionsReq)
	b.Close()
	older, err := os.ReadFile(storage.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	b = open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	if _, err := b.service.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := os.WriteFile(storage.Path(dir), older, 0o600); err != nil {
		t.Fatal(err)
	}
	b = open(t, Options{Keyring: kr, Dir: dir, Now: t0, CheckLater: true})
	if v := b.service.Verify(secret, core.Target{Scope: "users:read"}); v.Valid || v.Reason != core.ReasonTampered {
		t.Errorf("the deleted key in the older file: %+v, want refused", v)
	}
	if err := b.store.(*storage.Store).WaitSeal(); !errors.Is(err, storage.ErrRolledBack) {
		t.Errorf("WaitSeal: %v, want ErrRolledBack", err)
	}
	if _, err := b.store.ListKeys(); !errors.Is(err, storage.ErrRolledBack) {
		t.Errorf("ListKeys after the failed seal: %v, want ErrRolledBack", err)
	}
}
