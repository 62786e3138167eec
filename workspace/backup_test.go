package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/internal/foldertest"
	"github.com/keydesk/keydesk/storage"
)

const backupPass = "correct horse battery"

// fastKeyFile keeps the key file's scrypt cost low in tests.
var fastKeyFile = storage.KeyFileOptions{WorkFactor: 10}

// keyringState is a store's entries in a keyring backend.
func keyringState(t *testing.T, kr storage.KeyringBackend, storeID string) string {
	t.Helper()
	var out []string
	for _, u := range []string{"master:", "smtp:", "generation:"} {
		v, err := kr.Get(u + storeID)
		switch {
		case errors.Is(err, storage.ErrNoEntry):
			v = "(none)"
		case err != nil:
			t.Fatal(err)
		}
		out = append(out, u+v)
	}
	return strings.Join(out, " ")
}

type madeKey struct{ id, secret string }

// populate creates n keys (one already expired at the returned clock) and
// a delivered digest slot and an SMTP password.
func populate(t *testing.T, w *Workspace, n int) []madeKey {
	t.Helper()
	var keys []madeKey
	for i := range n {
		req := sectionsReq
		req.Name = fmt.Sprintf("key %d", i)
		k, secret, err := w.service.Create(req)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, madeKey{k.ID, secret})
	}
	if err := w.store.MarkSlotDelivered(t0.Add(-24*time.Hour), core.AuditEvent{Actor: "t", Action: core.ActionDigestSent}); err != nil {
		t.Fatal(err)
	}
	if err := w.keyring.SetMailPassword("smtp-secret-pw"); err != nil {
		t.Fatal(err)
	}
	return keys
}

func listing(t *testing.T, w *Workspace) string {
	t.Helper()
	keys, err := w.store.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, k := range keys {
		lines = append(lines, fmt.Sprintf("%s %s %s %s %x", k.ID, k.Name, k.CreatedAt, k.ExpiresAt, k.Digest))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func restore(t *testing.T, file string, opts RestoreOptions) (RestoreResult, *PendingRestore, error) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := PrepareRestore(context.Background(), f, opts)
	if err != nil {
		return RestoreResult{}, nil, err
	}
	res, err := p.Commit()
	return res, p, err
}

// A backup restored into a new folder with a new keyring gives back every
// key (each verifies), the digest state and the SMTP password.
func TestBackupRestoreRoundTrip(t *testing.T) {
	src := storage.NewMemoryKeyring()
	w := open(t, Options{Keyring: src, Dir: filepath.Join(t.TempDir(), "a"), Now: t0})
	keys := populate(t, w, 5)
	before := listing(t, w)
	file := filepath.Join(t.TempDir(), "b.kdbackup")
	info, err := w.Backup(context.Background(), file, backupPass)
	if err != nil {
		t.Fatal(err)
	}
	if info.KeyCount != 5 || info.Path != file {
		t.Errorf("info %+v", info)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if last, err := w.LastBackup(); err != nil || !last.Equal(t0) {
		t.Errorf("LastBackup = %v, %v; want %v", last, err, t0)
	}
	if ev, _ := w.store.Audit(); ev[0].Action != core.ActionBackup || strings.Contains(ev[0].Detail, backupPass) {
		t.Errorf("last audit event %+v", ev[0])
	}
	// The file holds no key secret, master key or SMTP password in clear.
	data, _ := os.ReadFile(file)
	mat, _ := w.keyring.Material()
	for _, s := range append([]string{"smtp-secret-pw", string(mat.Master), backupPass}, keys[0].secret, keys[4].secret) {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the backup holds a secret in the clear")
		}
	}
	id, _ := age.NewScryptIdentity("wrong passphrase here")
	if _, err := age.Decrypt(bytes.NewReader(data), id); err == nil {
		t.Error("age decrypted the backup with a wrong passphrase")
	}

	dst := storage.NewMemoryKeyring()
	dir := filepath.Join(t.TempDir(), "new", "data")
	res, _, err := restore(t, file, RestoreOptions{Dir: dir, Passphrase: backupPass, Keyring: dst, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if res.KeyCount != 5 || res.Expired != 0 || !res.TakenAt.Equal(t0) || res.Replaced != "" {
		t.Errorf("result %+v", res)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".restore-*")); len(leftovers) != 0 {
		t.Errorf("temporary folders left: %v", leftovers)
	}
	r := open(t, Options{Keyring: dst, Dir: dir, Now: t0})
	if got := listing(t, r); got != before {
		t.Errorf("restored keys differ:\n%s\nwant\n%s", got, before)
	}
	for _, k := range keys {
		if v := r.service.Verify(k.secret, core.Target{}); !v.Allowed {
			t.Errorf("key %s does not verify after the restore: %+v", k.id, v)
		}
	}
	if slot, _ := r.store.LastDeliveredSlot(); !slot.Equal(t0.Add(-24 * time.Hour)) {
		t.Errorf("digest state %v not restored", slot)
	}
	if pw, _ := r.keyring.MailPassword(); pw != "smtp-secret-pw" {
		t.Errorf("SMTP password %q not restored", pw)
	}
	if ev, _ := r.store.Audit(); ev[0].Action != core.ActionRestore {
		t.Errorf("no restore audit event: %+v", ev[0])
	}
}

// Restoring over a store needs Force; the old file is kept, the keys it
// deleted since the backup are listed, and they verify again.
func TestRestoreForceOverStore(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := filepath.Join(t.TempDir(), "a")
	w := open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	keys := populate(t, w, 3)
	file := filepath.Join(t.TempDir(), "b.kdbackup")
	if _, err := w.Backup(context.Background(), file, backupPass); err != nil {
		t.Fatal(err)
	}
	if _, err := w.service.Delete(keys[1].id); err != nil {
		t.Fatal(err)
	}
	w.Close()
	state := foldertest.State(t, dir)
	if _, _, err := restore(t, file, RestoreOptions{Dir: dir, Passphrase: backupPass, Keyring: kr, Now: t0}); !errors.Is(err, ErrStoreExists) {
		t.Fatalf("restore over a store without Force: %v", err)
	}
	if foldertest.State(t, dir) != state {
		t.Error("a refused restore changed the folder")
	}
	now := t0.Add(2 * time.Hour)
	res, p, err := restore(t, file, RestoreOptions{Dir: dir, Passphrase: backupPass, Keyring: kr, Force: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if want := "keydesk.db.replaced-20250601T113000Z"; res.Replaced != want {
		t.Errorf("replaced file %q, want %q", res.Replaced, want)
	}
	if _, err := os.Stat(filepath.Join(dir, res.Replaced)); err != nil {
		t.Error(err)
	}
	if len(p.DeletedSince) != 1 || p.DeletedSince[0].KeyID != keys[1].id {
		t.Errorf("deleted since: %+v", p.DeletedSince)
	}
	r := open(t, Options{Keyring: kr, Dir: dir, Now: now})
	if v := r.service.Verify(keys[1].secret, core.Target{}); !v.Allowed {
		t.Error("the key deleted after the backup does not verify after the restore")
	}
}

// A backup taken while keys are being created in the same process is one
// consistent state: keys committed while the copy is being written (from
// inside the writer, so they certainly overlap it) are not in it, and the
// copy restores (the state MAC checks the whole set of records) with
// exactly the keys its manifest counts.
func TestBackupWhileCreating(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	w := open(t, Options{Keyring: kr, Dir: filepath.Join(t.TempDir(), "a"), Now: t0})
	populate(t, w, 50)
	// Free pages made before the copy starts let the commits below reuse
	// them: bbolt cannot grow the file while a read transaction is open.
	for range 100 {
		k, _, err := w.service.Create(sectionsReq)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.service.Delete(k.ID); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	var during atomic.Int32
	inCopy := 0 // keys committed while the copy was open
	committed := make(chan struct{}, 20)
	stopped := make(chan struct{})
	cw := &hookWriter{w: &out, first: func() error {
		// Commit keys while the snapshot's read transaction is open. A
		// commit that must grow the file waits for the transaction to end
		// (bbolt cannot remap under a reader), so the writer waits for
		// each next commit only two seconds (a guard: a commit takes
		// milliseconds), then lets the copy go on.
		go func() {
			defer close(stopped)
			for range 20 {
				if _, _, err := w.service.Create(sectionsReq); err != nil {
					t.Error(err)
					return
				}
				during.Add(1)
				committed <- struct{}{}
			}
		}()
		defer func() { inCopy = int(during.Load()) }()
		for {
			select {
			case <-stopped:
				return nil
			case <-committed:
			case <-time.After(2 * time.Second):
				return nil
			}
		}
	}}
	info, err := w.WriteBackup(context.Background(), cw, backupPass)
	if err != nil {
		t.Fatal(err)
	}
	n := inCopy
	<-stopped
	t.Logf("%d keys committed while the copy was open", n)
	if n == 0 || info.KeyCount != 50 {
		t.Fatalf("%d keys created during the copy, %d in it; want some and 50", n, info.KeyCount)
	}
	file := filepath.Join(t.TempDir(), "b.kdbackup")
	if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	res, _, err := restore(t, file, RestoreOptions{Dir: filepath.Join(t.TempDir(), "r"), Passphrase: backupPass, Keyring: storage.NewMemoryKeyring(), Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if res.KeyCount != 50 {
		t.Errorf("restored %d keys, want the 50 of the snapshot", res.KeyCount)
	}
}

// hookWriter calls first before its first write.
type hookWriter struct {
	w     *bytes.Buffer
	first func() error
	done  bool
}

func (h *hookWriter) Write(p []byte) (int, error) {
	if !h.done {
		h.done = true
		if err := h.first(); err != nil {
			return 0, err
		}
	}
	return h.w.Write(p)
}

// Every bad input is refused with its error and leaves the data folder and
// the keyring exactly as they were (a missing folder stays missing).
func TestRestoreBadInputChangesNothing(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	w := open(t, Options{Keyring: kr, Dir: filepath.Join(t.TempDir(), "a"), Now: t0})
	populate(t, w, 3)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "b.kdbackup")
	if _, err := w.Backup(context.Background(), file, backupPass); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(file)
	write := func(name string, b []byte) string { return foldertest.WriteFile(t, tmp, name, b) }
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x01
	var other bytes.Buffer
	if err := envelope.Write(&other, backupPass, envelope.Manifest{Kind: "credential"}, []envelope.File{envelope.Bytes("x", []byte("y"))}, envelope.Options{}); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(tmp, "existing")
	other2 := open(t, Options{Keyring: storage.NewMemoryKeyring(), Dir: existing, Now: t0})
	other2.Close()

	tests := []struct {
		name, file, pass, dir string
		want                  error
	}{
		{"wrong passphrase", file, "not the passphrase", "", envelope.ErrWrongPassphrase},
		{"truncated", write("trunc", good[:len(good)*2/3]), backupPass, "", envelope.ErrDamaged},
		{"one byte changed", write("flip", flipped), backupPass, "", envelope.ErrDamaged},
		{"random file", write("random", bytes.Repeat([]byte("random!"), 999)), backupPass, "", envelope.ErrNotEnvelope},
		{"another kind of envelope", write("other", other.Bytes()), backupPass, "", envelope.ErrNotEnvelope},
		{"folder holds a store", file, backupPass, existing, ErrStoreExists},
	}
	// Each case runs twice: with a keyring, and on a computer whose
	// keyring cannot be reached, where the bad input is still what is
	// reported (the file is checked before the keyring is needed).
	for _, dead := range []bool{false, true} {
		for _, tc := range tests {
			name := tc.name
			if dead {
				name += " without a keyring"
			}
			t.Run(name, func(t *testing.T) {
				dir := tc.dir
				if dir == "" {
					dir = filepath.Join(t.TempDir(), "missing", "data")
				}
				var dst storage.KeyringBackend = storage.NewMemoryKeyring()
				if dead {
					dst = deadKeyring{}
				}
				state := func() string {
					if dead {
						return "(unreachable)"
					}
					return keyringState(t, dst, w.store.StoreID())
				}
				before, krBefore := foldertest.State(t, filepath.Dir(dir)), state()
				_, _, err := restore(t, tc.file, RestoreOptions{Dir: dir, Passphrase: tc.pass, Keyring: dst, Now: t0})
				if !errors.Is(err, tc.want) {
					t.Errorf("got %v, want %v", err, tc.want)
				}
				if Advice(err) == "" {
					t.Errorf("no advice for %v", err)
				}
				if after := foldertest.State(t, filepath.Dir(dir)); after != before {
					t.Errorf("the folder changed:\n%s\nwant\n%s", after, before)
				}
				if after := state(); after != krBefore {
					t.Errorf("the keyring changed: %s", after)
				}
			})
		}
	}
}

// deadKeyring is a keyring that cannot be reached (no Secret Service).
type deadKeyring struct{}

var errNoSecretService = errors.New("no secret service on the session bus")

func (deadKeyring) Get(string) (string, error) { return "", errNoSecretService }
func (deadKeyring) Set(string, string) error   { return errNoSecretService }
func (deadKeyring) Delete(string) error        { return errNoSecretService }

// TestRestoreGoodBackupNeedsTheKeyring: a good backup on a computer whose
// keyring cannot be reached fails with ErrKeyringUnavailable once the file
// is checked, leaving the folder as it was.
func TestRestoreGoodBackupNeedsTheKeyring(t *testing.T) {
	w := open(t, Options{Keyring: storage.NewMemoryKeyring(), Dir: filepath.Join(t.TempDir(), "a"), Now: t0})
	populate(t, w, 2)
	file := filepath.Join(t.TempDir(), "b.kdbackup")
	if _, err := w.Backup(context.Background(), file, backupPass); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "missing", "data")
	before := foldertest.State(t, filepath.Dir(filepath.Dir(dir)))
	_, _, err := restore(t, file, RestoreOptions{Dir: dir, Passphrase: backupPass, Keyring: deadKeyring{}, Now: t0})
	if !errors.Is(err, storage.ErrKeyringUnavailable) {
		t.Fatalf("restore = %v, want ErrKeyringUnavailable", err)
	}
	if after := foldertest.State(t, filepath.Dir(filepath.Dir(dir))); after != before {
		t.Fatalf("the folder changed:\n%s\nwant\n%s", after, before)
	}
}

// Backup refuses a short passphrase and a folder that does not exist,
// writing nothing and recording nothing.
func TestBackupBadInput(t *testing.T) {
	w := open(t, Options{Keyring: storage.NewMemoryKeyring(), Dir: filepath.Join(t.TempDir(), "a"), Now: t0})
	populate(t, w, 1)
	tmp := t.TempDir()
	if _, err := w.Backup(context.Background(), filepath.Join(tmp, "b"), "short pass"); !errors.Is(err, envelope.ErrShortPassphrase) {
		t.Errorf("short passphrase: %v", err)
	}
	if _, err := w.Backup(context.Background(), filepath.Join(tmp, "nope", "b"), backupPass); !errors.Is(err, ErrNoFolder) {
		t.Errorf("missing folder: %v", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
	if last, _ := w.LastBackup(); !last.IsZero() {
		t.Errorf("a failed backup was recorded at %v", last)
	}
}

// The key file: a store created with it keeps its master key only in the
// encrypted keydesk.key, reopens with the passphrase, refuses a wrong
// one, and moves to a keyring and back through backup and restore.
func TestKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kf")
	asked := map[bool]int{}
	pass := func(create bool) (string, error) { asked[create]++; return backupPass, nil }
	w := open(t, Options{Dir: dir, KeyFile: true, Passphrase: pass, KeyFileOptions: fastKeyFile, Now: t0})
	keys := populate(t, w, 2)
	mat, err := w.keyring.Material()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b.kdbackup")
	if _, err := w.Backup(context.Background(), file, backupPass); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if asked[true] != 1 || asked[false] != 0 {
		t.Errorf("passphrase asked %v", asked)
	}
	raw, _ := os.ReadFile(storage.KeyFilePath(dir))
	for _, s := range [][]byte{mat.Master, []byte("smtp-secret-pw"), []byte(backupPass)} {
		if bytes.Contains(raw, s) {
			t.Error("keydesk.key holds a secret in the clear")
		}
	}
	if _, err := Open(Options{Dir: dir, KeyFile: true, KeyFileOptions: fastKeyFile, Passphrase: func(bool) (string, error) { return "wrong passphrase", nil }}); !errors.Is(err, envelope.ErrWrongPassphrase) {
		t.Errorf("wrong key file passphrase: %v", err)
	}
	if _, err := Open(Options{Dir: dir, Keyring: nil}); !errors.Is(err, ErrKeyFileFolder) {
		t.Errorf("key-file folder opened without the key file: %v", err)
	}
	r := open(t, Options{Dir: dir, KeyFile: true, Passphrase: pass, KeyFileOptions: fastKeyFile, Now: t0})
	if v := r.service.Verify(keys[0].secret, core.Target{}); !v.Allowed {
		t.Error("a key does not verify after reopening with the key file")
	}
	r.Close()

	// Key file -> keyring.
	kr := storage.NewMemoryKeyring()
	k2 := filepath.Join(t.TempDir(), "keyring")
	if _, _, err := restore(t, file, RestoreOptions{Dir: k2, Passphrase: backupPass, Keyring: kr, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := storage.KeyFileExists(k2); ok {
		t.Error("a keyring restore wrote keydesk.key")
	}
	r2 := open(t, Options{Dir: k2, Keyring: kr, Now: t0})
	if v := r2.service.Verify(keys[1].secret, core.Target{}); !v.Allowed {
		t.Error("a key does not verify after moving to the keyring")
	}
	r2.Close()
	// Keyring -> key file, over the keyring store (Force).
	res, _, err := restore(t, file, RestoreOptions{Dir: k2, Passphrase: backupPass, Force: true, KeyFile: true, KeyFileOptions: fastKeyFile, Now: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.KeyFile {
		t.Error("restore did not report the key file")
	}
	r3 := open(t, Options{Dir: k2, KeyFile: true, Passphrase: pass, KeyFileOptions: fastKeyFile, Now: t0})
	if v := r3.service.Verify(keys[1].secret, core.Target{}); !v.Allowed {
		t.Error("a key does not verify after moving to the key file")
	}
}
