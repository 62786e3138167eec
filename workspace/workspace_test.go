package workspace

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
	"github.com/zalando/go-keyring"
	bolt "go.etcd.io/bbolt"
)

// freshEnv names the test a re-executed test binary is running on its own.
const freshEnv = "KEYDESK_BACKEND_FRESH_TEST"

// inFreshProcess reports whether the calling test is running in its own
// process. If not, it re-runs just that test in a new process (with env
// added) and fails t if that run fails; the caller then returns. Tests that
// need a dead D-Bus or the real keyring use it, so that nothing else in the
// process has touched the Secret Service client first.
func inFreshProcess(t *testing.T, env ...string) bool {
	t.Helper()
	if os.Getenv(freshEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), freshEnv+"="+t.Name()), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("%s in a fresh process: %v\n%s", t.Name(), err, out)
	}
	return false
}

func open(t *testing.T, opts Options) *Workspace {
	t.Helper()
	b, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

var t0 = time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)

var sectionsReq = core.CreateRequest{
	Name:        "Billing sync (prod)",
	Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"users": core.AccessRead}},
}

func TestOpenCreatesFolderAndReopens(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	parent := filepath.Join(t.TempDir(), "missing-parent")
	dir := filepath.Join(parent, "keydesk")
	b := open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	for p, want := range map[string]os.FileMode{parent: 0o700, dir: 0o700, storage.Path(dir): 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %o, want %o", p, fi.Mode().Perm(), want)
		}
	}
	if b.dir != dir || b.service.Actor == "" || b.service.Actor != Actor() {
		t.Fatalf("Dir %q Actor %q", b.dir, b.service.Actor)
	}
	k, secret, err := b.service.Create(sectionsReq)
	if err != nil {
		t.Fatal(err)
	}
	if !k.CreatedAt.Equal(t0) {
		t.Fatalf("created %v with --now %v", k.CreatedAt, t0)
	}
	if v := b.service.VerifyUse(secret, core.Target{Scope: "users:read"}); v.Reason != core.ReasonOK {
		t.Fatalf("Verify = %s", v.Reason)
	}
	id := b.store.StoreID()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	b2 := open(t, Options{Keyring: kr, Dir: dir, Now: t0.Add(time.Hour)})
	if b2.store.StoreID() != id {
		t.Fatalf("store id changed on reopen")
	}
	v := b2.service.VerifyUse(secret, core.Target{Scope: "users:read"})
	if v.Reason != core.ReasonOK {
		t.Fatalf("Verify after reopen = %s: the signing material was not reused", v.Reason)
	}
	// The last use recorded before closing was flushed by Close.
	if !v.LastUsedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("LastUsedAt = %v", v.LastUsedAt)
	}
	got, _ := b2.store.GetKey(k.ID)
	if !got.LastUsedAt.Equal(t0) {
		t.Fatalf("stored LastUsedAt = %v, want %v (flushed by Close)", got.LastUsedAt, t0)
	}
	evs, _ := b2.store.Audit()
	if len(evs) != 1 || evs[0].Action != core.ActionCreate || evs[0].Actor != Actor() {
		t.Fatalf("audit = %+v", evs)
	}
}

func TestOpenSecondInstance(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := t.TempDir()
	b := open(t, Options{Keyring: kr, Dir: dir})
	if _, _, err := b.service.Create(sectionsReq); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(storage.Path(dir))
	_, err := Open(Options{Keyring: kr, Dir: dir, Timeout: 100 * time.Millisecond})
	if !errors.Is(err, storage.ErrAlreadyOpen) || err.Error() != storage.ErrAlreadyOpen.Error() {
		t.Fatalf("second Open = %v", err)
	}
	after, _ := os.ReadFile(storage.Path(dir))
	if !bytes.Equal(before, after) {
		t.Fatal("the refused Open changed the database")
	}
}

func TestOpenMissingMasterKey(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := t.TempDir()
	b := open(t, Options{Keyring: kr, Dir: dir})
	id := b.store.StoreID()
	b.Close()
	if err := kr.Delete("master:" + id); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(storage.Path(dir))
	_, err := Open(Options{Keyring: kr, Dir: dir})
	if !errors.Is(err, storage.ErrMasterKeyMissing) {
		t.Fatalf("Open = %v, want ErrMasterKeyMissing", err)
	}
	after, _ := os.ReadFile(storage.Path(dir))
	if !bytes.Equal(before, after) {
		t.Fatal("the refused Open changed the database")
	}
	// The folder is released: a retry is not "already open".
	if _, err := Open(Options{Keyring: kr, Dir: dir, Timeout: 100 * time.Millisecond}); !errors.Is(err, storage.ErrMasterKeyMissing) {
		t.Fatalf("retry = %v", err)
	}
}

// TestOpenFinishesInterruptedFirstRun opens a folder whose database file
// exists but is empty, as a first run interrupted before its first write
// leaves it.
func TestOpenFinishesInterruptedFirstRun(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := t.TempDir()
	if err := os.WriteFile(storage.Path(dir), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b := open(t, Options{Keyring: kr, Dir: dir})
	if _, secret, err := b.service.Create(sectionsReq); err != nil {
		t.Fatal(err)
	} else if v := b.service.Verify(secret, core.Target{}); v.Reason != core.ReasonOK {
		t.Fatalf("Verify = %s", v.Reason)
	}
}

func TestOpenBadCatalogWritesNothing(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	cat := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(cat, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Open(Options{Keyring: kr, Dir: dir, CatalogFile: cat}); err == nil {
		t.Fatal("Open accepted a catalog that is not JSON")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the data folder was created: %v", err)
	}
}

func TestDemo(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	b := open(t, Options{Keyring: kr, Demo: true, Now: now})
	if b.kind != KindDemo || !strings.Contains(filepath.Base(b.dir), "keydesk-demo") {
		t.Fatalf("demo dir %q", b.dir)
	}
	keys := b.service.List()
	st := core.CountStats(keys, now)
	if st.Total < 28 || st.Expired < 4 || st.ExpiringSoon < 4 || st.Total-st.Expired-st.ExpiringSoon < 12 {
		t.Fatalf("demo stats %s", st)
	}
	kinds := map[core.PermissionKind]int{}
	names := map[string]bool{}
	used := 0
	for _, k := range keys {
		kinds[k.Permissions.Kind]++
		names[k.Name] = true
		if k.Tampered {
			t.Fatalf("demo key %q is not signed", k.Name)
		}
		if k.Permissions.Kind == core.KindGlobal && k.ExpiresAt.Sub(k.CreatedAt) > 7*24*time.Hour {
			t.Fatalf("global demo key %q lives longer than 7 days", k.Name)
		}
		if !k.LastUsedAt.IsZero() {
			used++
			if k.LastUsedAt.Before(k.CreatedAt) || k.LastUsedAt.After(now) {
				t.Fatalf("demo key %q used at %v", k.Name, k.LastUsedAt)
			}
		}
	}
	for _, kind := range []core.PermissionKind{core.KindGlobal, core.KindSections, core.KindOperations} {
		if kinds[kind] < 3 {
			t.Errorf("only %d demo keys of kind %s", kinds[kind], kind)
		}
	}
	for _, n := range []string{"Billing sync (prod)", "Zapier integration", "CI pipeline — staging", "Nightly CDR export"} {
		if !names[n] {
			t.Errorf("demo key %q missing", n)
		}
	}
	if used < 10 {
		t.Errorf("only %d demo keys have a last use", used)
	}
	// The digest's expiry index sees the demo keys too.
	exp, err := b.store.KeysExpiring(now, now.Add(7*24*time.Hour))
	if err != nil || len(exp) != st.ExpiringSoon {
		t.Fatalf("KeysExpiring = %d, %v; want %d", len(exp), err, st.ExpiringSoon)
	}
	if evs, _ := b.store.Audit(); len(evs) != st.Total {
		t.Fatalf("%d audit events for %d demo keys", len(evs), st.Total)
	}
	dir := b.dir
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("demo folder left behind: %v", err)
	}
}

func TestDefaultDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("checks the Linux (XDG) convention")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	tests := []struct{ xdg, want string }{
		{"", filepath.Join(home, ".local", "share", "keydesk")},
		{"/srv/data", "/srv/data/keydesk"},
		{"relative/ignored", filepath.Join(home, ".local", "share", "keydesk")},
	}
	for _, tt := range tests {
		t.Setenv("XDG_DATA_HOME", tt.xdg)
		got, err := DefaultDir()
		if err != nil || got != tt.want {
			t.Errorf("XDG_DATA_HOME=%q: DefaultDir = %q, %v; want %q", tt.xdg, got, err, tt.want)
		}
	}
}

func TestClock(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	b := open(t, Options{Keyring: kr, Dir: t.TempDir(), Now: t0})
	if _, ok := b.clock.(core.FixedClock); !ok || !b.service.Now().Equal(t0) {
		t.Fatalf("clock %T %v, want fixed at %v", b.clock, b.service.Now(), t0)
	}
	b2 := open(t, Options{Keyring: kr, Dir: t.TempDir()})
	if _, ok := b2.clock.(core.SystemClock); !ok {
		t.Fatalf("clock %T, want the system clock", b2.clock)
	}
}

// TestOpenKeyringUnavailableWritesNothing opens a new data folder with the
// Secret Service client pointed at a dead D-Bus socket.
func TestOpenKeyringUnavailableWritesNothing(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses the D-Bus Secret Service")
	}
	dead := "unix:path=" + filepath.Join(t.TempDir(), "no-such-bus")
	if !inFreshProcess(t, "DBUS_SESSION_BUS_ADDRESS="+dead) {
		return
	}
	dir := filepath.Join(t.TempDir(), "parent", "data")
	_, err := Open(Options{Dir: dir})
	if !errors.Is(err, storage.ErrKeyringUnavailable) {
		t.Fatalf("Open = %v, want ErrKeyringUnavailable", err)
	}
	if err.Error() != storage.ErrKeyringUnavailable.Error() {
		t.Fatalf("message %q is not the one sentence", err)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("something was written: %v", err)
	}
}

// requireKeyringInFreshProcess skips without the real OS keyring, and
// otherwise runs the test again in a fresh process: it returns true in that
// process (which runs the test body), false in this one.
func requireKeyringInFreshProcess(t *testing.T) bool {
	t.Helper()
	keytest.RequireKeyring(t)
	return inFreshProcess(t)
}

// openOnOSKeyring opens a new data folder in dir with the real OS keyring
// and returns it with its store id; the master key is removed from the
// keyring at the end of the test.
func openOnOSKeyring(t *testing.T, dir string) (*Workspace, string) {
	t.Helper()
	b, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	id := b.store.StoreID()
	t.Cleanup(func() { keyring.Delete(storage.KeyringService, "master:"+id) })
	return b, id
}

// TestKeyringReopenSameFolder opens one data folder twice with the real OS
// keyring: the master key is created once and reused.
func TestKeyringReopenSameFolder(t *testing.T) {
	if !requireKeyringInFreshProcess(t) {
		return
	}
	dir := t.TempDir()
	b, id := openOnOSKeyring(t, dir)
	master, err := keyring.Get(storage.KeyringService, "master:"+id)
	if err != nil {
		t.Fatalf("master key not in the keyring after first Open: %v", err)
	}
	_, secret, err := b.service.Create(sectionsReq)
	if err != nil {
		t.Fatal(err)
	}
	d1 := b.keyring.Signer().DigestSecret(secret)
	b.Close()

	b2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if d2 := b2.keyring.Signer().DigestSecret(secret); !bytes.Equal(d1, d2) {
		t.Fatal("two Opens of one folder digest differently")
	}
	if v := b2.service.Verify(secret, core.Target{}); v.Reason != core.ReasonOK {
		t.Fatalf("Verify after reopen = %s", v.Reason)
	}
	if again, _ := keyring.Get(storage.KeyringService, "master:"+id); again != master {
		t.Fatal("the master key was replaced by the second Open")
	}
}

// TestKeyringMasterKeyGone deletes a store's master key from the real
// keyring: Open must say the store cannot verify keys, and write nothing.
func TestKeyringMasterKeyGone(t *testing.T) {
	if !requireKeyringInFreshProcess(t) {
		return
	}
	dir := t.TempDir()
	b, id := openOnOSKeyring(t, dir)
	b.Close()
	if err := keyring.Delete(storage.KeyringService, "master:"+id); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(storage.Path(dir))
	if _, err := Open(Options{Dir: dir}); !errors.Is(err, storage.ErrMasterKeyMissing) {
		t.Fatalf("Open = %v, want ErrMasterKeyMissing", err)
	}
	after, _ := os.ReadFile(storage.Path(dir))
	if !bytes.Equal(before, after) {
		t.Fatal("the refused Open changed the database")
	}
}

// tickClock advances one second on every reading.
type tickClock struct{ n atomic.Int64 }

func (c *tickClock) Now() time.Time { return t0.Add(time.Duration(c.n.Add(1)) * time.Second) }

// TestConcurrentVerifyFlushRename verifies keys from several goroutines
// while last-used times are flushed and keys renamed (run with -race): no
// use is lost, and the stored last use is the latest verification.
func TestConcurrentVerifyFlushRename(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := t.TempDir()
	b := open(t, Options{Keyring: kr, Dir: dir})
	clock := &tickClock{}
	svc, err := core.NewService(b.store, b.keyring.Signer(), clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids, secrets []string
	for i := range 8 {
		k, secret, err := svc.Create(core.CreateRequest{Name: fmt.Sprintf("key %d", i), Permissions: sectionsReq.Permissions})
		if err != nil {
			t.Fatal(err)
		}
		ids, secrets = append(ids, k.ID), append(secrets, secret)
	}
	latest := make([]time.Time, len(secrets)) // per goroutine = per key
	var wg sync.WaitGroup
	for g := range secrets {
		wg.Go(func() {
			for range 200 {
				v := svc.VerifyUse(secrets[g], core.Target{Scope: "users:read"})
				if v.Reason != core.ReasonOK {
					t.Errorf("Verify = %s", v.Reason)
					return
				}
				latest[g] = v.LastUsedAt
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			if err := svc.FlushLastUsed(); err != nil {
				t.Error(err)
			}
			if _, err := svc.Rename(ids[i%len(ids)], fmt.Sprintf("renamed %d", i)); err != nil {
				t.Error(err)
			}
			svc.List()
		}
	})
	wg.Wait()
	for _, k := range svc.List() {
		if k.LastUsedAt.IsZero() {
			t.Fatalf("key %s lost its last use", k.ID)
		}
	}
	if err := svc.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	for g, id := range ids {
		k, err := b.store.GetKey(id)
		if err != nil {
			t.Fatal(err)
		}
		if !k.LastUsedAt.Equal(latest[g]) {
			t.Errorf("key %d stored last use %v, want the latest verification %v", g, k.LastUsedAt, latest[g])
		}
	}
}

// TestOpenRefusesRevivedKey deletes a key, then writes its record and index
// entries back into keydesk.db (bbolt leaves a deleted record's bytes in the
// file): Open must refuse the folder, so the key never verifies again.
func TestOpenRefusesRevivedKey(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := t.TempDir()
	secret := reviveDeletedKey(t, kr, dir)
	openRefused(t, Options{Keyring: kr, Dir: dir, Now: t0}, secret, "the revived key", storage.ErrTampered, "Keys were added, removed or replaced")
}

// openRefused checks that Open refuses opts with want, and the advice
// starting with advice, so that the key with secret (what) never verifies
// again.
func openRefused(t *testing.T, opts Options, secret, what string, want error, advice string) {
	t.Helper()
	b, err := Open(opts)
	if err == nil {
		v := b.service.Verify(secret, core.Target{Scope: "users:read"})
		b.Close()
		t.Fatalf("Open accepted %s (it verifies %q)", what, v.Reason)
	}
	if !errors.Is(err, want) || !strings.HasPrefix(Advice(err), advice) {
		t.Fatalf("Open = %v (%q), want %v", err, Advice(err), want)
	}
}

// TestOpenRefusesOlderFile puts back a copy of keydesk.db taken before a key
// was deleted: Open must refuse it (ErrRolledBack).
func TestOpenRefusesOlderFile(t *testing.T) {
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
	openRefused(t, Options{Keyring: kr, Dir: dir, Now: t0}, secret, "the older file with the deleted key", storage.ErrRolledBack, "This data file is older than the last change")
}

// TestAdviceOneSentencePerError checks that every error a front end may get
// from Open has its sentence, wrapped or not, and that others get none.
func TestAdviceOneSentencePerError(t *testing.T) {
	for _, a := range advice {
		wrapped := fmt.Errorf("open /data: seal store: %w", a.err)
		got := Advice(wrapped)
		if got != a.text || !strings.HasSuffix(got, ".") || strings.Contains(got, "\n") || strings.ToUpper(got[:1]) != got[:1] {
			t.Errorf("Advice(%v) = %q", wrapped, got)
		}
	}
	if got := Advice(errors.New("disk full")); got != "" {
		t.Errorf("Advice(other) = %q, want empty", got)
	}
}

// reviveDeletedKey creates a key in a new data folder dir, deletes it, and
// writes its record and index entries back into keydesk.db, as someone who
// can edit the file would (bbolt leaves a deleted record's bytes in it). It
// returns the revived key's secret.
func reviveDeletedKey(t *testing.T, kr *storage.MemoryKeyring, dir string) string {
	t.Helper()
	b := open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	k, secret := keytest.Create(t, b.service, sectionsReq)
	rec, _ := b.store.GetKey(k.ID)
	if _, err := b.service.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	b.Close()
	db, err := bolt.Open(storage.Path(dir), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("keys")).Put([]byte(k.ID), seal.EncodeRecord(rec)); err != nil {
			return err
		}
		if err := tx.Bucket([]byte("idx_digest")).Put(k.Digest, []byte(k.ID)); err != nil {
			return err
		}
		ek := binary.BigEndian.AppendUint64(nil, uint64(k.ExpiresAt.UnixNano())^(1<<63))
		return tx.Bucket([]byte("idx_expiry")).Put(append(ek, k.ID...), nil)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	return secret
}
