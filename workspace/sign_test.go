package workspace

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
	bolt "go.etcd.io/bbolt"
)

// downgradeToV4 rewrites the closed store at path as Keydesk before record
// signatures wrote it: unsigned records, schema 4 and the state MAC of
// that schema (computed here from the master key, as that Keydesk did).
func downgradeToV4(t *testing.T, path string, master []byte) {
	t.Helper()
	stateKey, err := hkdf.Key(sha256.New, master, nil, "keydesk v1 store state mac", sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	mac := func(parts ...[]byte) []byte {
		h := hmac.New(sha256.New, stateKey)
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		keys, meta := tx.Bucket([]byte("keys")), tx.Bucket([]byte("meta"))
		var acc [sha256.Size]byte
		var count uint64
		recs := map[string][]byte{}
		if err := keys.ForEach(func(id, v []byte) error {
			k, _, err := seal.DecodeSignedRecord(v)
			if err != nil {
				return err
			}
			recs[string(id)] = seal.EncodeRecord(k)
			e := mac([]byte("keydesk record v1"), binary.BigEndian.AppendUint32(nil, uint32(len(id))), id, k.MAC)
			for i := range acc {
				acc[i] ^= e[i]
			}
			count++
			return nil
		}); err != nil {
			return err
		}
		for id, v := range recs {
			if err := keys.Put([]byte(id), v); err != nil {
				return err
			}
		}
		storeID := meta.Get([]byte("store_id"))
		b := binary.BigEndian.AppendUint32(nil, uint32(len(storeID)))
		b = append(b, storeID...)
		b = append(b, meta.Get([]byte("generation"))...)
		b = binary.BigEndian.AppendUint64(b, count)
		if err := meta.Put([]byte("state_mac"), mac([]byte("keydesk store state v1"), b, acc[:])); err != nil {
			return err
		}
		return meta.Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, 4))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkSigned checks that the workspace's store is at the current schema
// (signed records, since schema 5) and that
// every record carries the store's Ed25519 signature of it.
func checkSigned(t *testing.T, w *Workspace) {
	t.Helper()
	st := w.store.(*storage.Store)
	if v, err := st.Schema(); err != nil || v != storage.SchemaVersion {
		t.Fatalf("schema %d, %v; want %d", v, err, storage.SchemaVersion)
	}
	if err := w.SignatureCheck(); err != nil {
		t.Fatalf("SignatureCheck: %v", err)
	}
	ed, err := w.keyring.EdSigner()
	if err != nil {
		t.Fatal(err)
	}
	keys, sigs, err := st.ListSignedKeys()
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if !ed.Verifier().VerifyRecord(k.MACPayload(), sigs[i]) {
			t.Fatalf("key %s is not signed", k.ID)
		}
	}
}

// checkSignedKeys checks that w's store is signed (checkSigned) and holds
// the keys listed before, each of which still verifies; when says at
// which step.
func checkSignedKeys(t *testing.T, w *Workspace, before string, keys []madeKey, when string) {
	t.Helper()
	checkSigned(t, w)
	if got := listing(t, w); got != before {
		t.Errorf("keys %s:\n%s\nwant\n%s", when, got, before)
	}
	for _, k := range keys {
		if v := w.service.Verify(k.secret, core.Target{}); !v.Allowed {
			t.Errorf("key %s %s: %+v", k.id, when, v)
		}
	}
}

// A data folder written before record signatures (schema 4) is migrated
// when it is opened: the same keys, each signed, each verifying.
func TestOpenSignsAnOlderDataFolder(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := filepath.Join(t.TempDir(), "data")
	w := open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	keys := populate(t, w, 3)
	before := listing(t, w)
	master, err := w.keyring.Master()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	downgradeToV4(t, storage.Path(dir), master)
	w2 := open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	checkSignedKeys(t, w2, before, keys, "after the migration")
}

// A backup taken before record signatures restores: the copy is checked
// against the generation it was taken at, then signed.
func TestRestoreBackupFromBeforeSignatures(t *testing.T) {
	w := open(t, Options{Keyring: storage.NewMemoryKeyring(), Dir: filepath.Join(t.TempDir(), "a"), Now: t0})
	keys := populate(t, w, 3)
	before := listing(t, w)
	master, err := w.keyring.Master()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b.kdbackup")
	if _, err := w.Backup(context.Background(), file, backupPass); err != nil {
		t.Fatal(err)
	}
	// Take the backup apart, downgrade its store copy, put it together.
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := envelope.Open(f, backupPass, envelope.OpenOptions{Files: backupFiles})
	if err != nil {
		t.Fatal(err)
	}
	var files []envelope.File
	tmp := t.TempDir()
	for {
		fi, body, err := rd.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Name == backupDB {
			p := filepath.Join(tmp, "db")
			os.WriteFile(p, b, 0o600)
			downgradeToV4(t, p, master)
			if b, err = os.ReadFile(p); err != nil {
				t.Fatal(err)
			}
		}
		files = append(files, envelope.Bytes(fi.Name, b))
	}
	f.Close()
	var old bytes.Buffer
	if err := envelope.Write(&old, backupPass, rd.Manifest, files, envelope.Options{WorkFactor: 10}); err != nil {
		t.Fatal(err)
	}
	oldFile := filepath.Join(t.TempDir(), "old.kdbackup")
	if err := os.WriteFile(oldFile, old.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	dst := storage.NewMemoryKeyring()
	dir := filepath.Join(t.TempDir(), "new")
	if _, _, err := restore(t, oldFile, RestoreOptions{Dir: dir, Passphrase: backupPass, Keyring: dst, Now: t0, WorkFactor: 10}); err != nil {
		t.Fatalf("restore of a backup from before record signatures: %v", err)
	}
	r := open(t, Options{Keyring: dst, Dir: dir, Now: t0})
	checkSignedKeys(t, r, before, keys, "after the restore")
}
