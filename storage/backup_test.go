package storage

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/internal/keytest"
)

const kfPass = "key file passphrase"

var fastKF = KeyFileOptions{WorkFactor: 10}

// Snapshot writes a bbolt file that opens as the same store, with the
// generation and key count it reported.
func TestSnapshotOpensAsTheStore(t *testing.T) {
	s, kr, _ := openSealedIn(t, NewMemoryKeyring())
	for _, id := range []string{"a1", "b2", "c3"} {
		k := keytest.Key(id, t0.Add(time.Hour))
		k.MAC = kr.signer.SignRecord(k.MACPayload())
		if err := s.InsertKey(k, event(core.ActionCreate, id)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	var info SnapshotInfo
	if err := s.Snapshot(func(i SnapshotInfo, c io.WriterTo) error {
		info = i
		_, err := c.WriteTo(&buf)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	gen, _ := s.Generation()
	if info.KeyCount != 3 || info.Generation != gen || info.StoreID != s.StoreID() || info.Size != int64(buf.Len()) {
		t.Errorf("info %+v (generation %d, %d bytes)", info, gen, buf.Len())
	}
	dir := t.TempDir()
	if err := os.WriteFile(Path(dir), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := NewMemoryKeyring()
	mat, err := kr.Material()
	if err != nil {
		t.Fatal(err)
	}
	ckr, err := InstallKeyring(m, mat, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Seal(ckr); err != nil {
		t.Fatalf("the copy does not seal with the store's material: %v", err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

// The key file keeps secrets only encrypted, reopens with its passphrase,
// refuses a wrong one, and undoes itself when its last secret goes.
func TestKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := NewKeyFile(dir, "too short", fastKF); !errors.Is(err, envelope.ErrShortPassphrase) {
		t.Errorf("short passphrase: %v", err)
	}
	kf, err := NewKeyFile(dir, kfPass, fastKF)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := CreateKeyringIn(kf, "store1")
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.SetMailPassword("smtp-pw-secret"); err != nil {
		t.Fatal(err)
	}
	if err := kr.SetGeneration(42); err != nil {
		t.Fatal(err)
	}
	mat, _ := kr.Material()
	raw, err := os.ReadFile(KeyFilePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(KeyFilePath(dir)); fi.Mode().Perm() != 0o600 {
		t.Errorf("keydesk.key mode %v", fi.Mode())
	}
	for _, s := range [][]byte{mat.Master, []byte("smtp-pw-secret"), []byte(kfPass), []byte("master:store1")} {
		if bytes.Contains(raw, s) {
			t.Errorf("keydesk.key holds %q in the clear", s)
		}
	}
	if _, err := NewKeyFile(dir, kfPass, fastKF); err == nil {
		t.Error("NewKeyFile replaced an existing key file")
	}
	if _, err := OpenKeyFile(dir, "wrong passphrase!", fastKF); !errors.Is(err, envelope.ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := OpenKeyFile(t.TempDir(), kfPass, fastKF); !errors.Is(err, ErrNoKeyFile) {
		t.Errorf("no key file: %v", err)
	}
	re, err := OpenKeyFile(dir, kfPass, fastKF)
	if err != nil {
		t.Fatal(err)
	}
	kr2, err := OpenKeyringIn(re, "store1")
	if err != nil {
		t.Fatal(err)
	}
	if m2, _ := kr2.Material(); !bytes.Equal(m2.Master, mat.Master) || m2.MailPassword != "smtp-pw-secret" {
		t.Error("reopened key file lost its entries")
	}
	if g, ok, _ := kr2.Generation(); !ok || g != 42 {
		t.Errorf("generation %d %v", g, ok)
	}
	if err := kr2.Forget(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := KeyFileExists(dir); ok {
		t.Error("a key file with no secret left was kept")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// On the real OS keyring: Material reads back what CreateKeyring wrote,
// and InstallKeyring puts it (and a generation, even an older one) into a
// keyring where the store's entries were gone.
func TestKeyringInstallMaterial(t *testing.T) {
	keytest.RequireKeyring(t)
	id := newStoreID(t)
	t.Cleanup(func() { keyring.Delete(KeyringService, generationUser(id)) })
	kr, err := CreateKeyring(id)
	if err != nil {
		t.Fatal(err)
	}
	kr.SetMailPassword("pw")
	kr.SetGeneration(10)
	mat, err := kr.Material()
	if err != nil || mat.MailPassword != "pw" || len(mat.Master) != MasterKeySize {
		t.Fatalf("Material: %+v %v", mat, err)
	}
	if err := kr.Forget(); err != nil {
		t.Fatal(err)
	}
	if err := ProbeKeyring(OSKeyring(0), id); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if _, err := InstallKeyring(OSKeyring(0), mat, 7); err != nil {
		t.Fatal(err)
	}
	back, err := OpenKeyring(id)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := back.Material(); !bytes.Equal(m.Master, mat.Master) || m.MailPassword != "pw" {
		t.Error("installed material differs")
	}
	if g, ok, _ := back.Generation(); !ok || g != 7 {
		t.Errorf("generation %d, want 7 (moved back by the install)", g)
	}
}
