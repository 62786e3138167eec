package cli_test

// End-to-end tests of keydesk backup, restore and --keyfile: the real
// binary, the real Secret Service (scripts/with-keyring.sh), real folders.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/zalando/go-keyring"

	"github.com/keydesk/keydesk/internal/foldertest"
	"github.com/keydesk/keydesk/storage"
)

const e2ePass = "correct horse battery staple"

// storeID reads the store id of a data folder.
func storeID(t *testing.T, dir string) string {
	t.Helper()
	st, err := storage.Open(dir, storage.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return st.StoreID()
}

// keyringOpEnv makes the test binary, re-run by osKeyring, do one OS
// keyring operation and exit: the in-process tests of this package switch
// go-keyring to its in-memory mock (keyring.MockInit) for the whole
// process, so the real Secret Service is reached from a fresh process.
const keyringOpEnv = "KEYDESK_E2E_KEYRING_OP"

func init() {
	op := os.Getenv(keyringOpEnv)
	if op == "" {
		return
	}
	user := os.Getenv(keyringOpEnv + "_USER")
	var err error
	switch op {
	case "get":
		var v string
		v, err = keyring.Get(storage.KeyringService, user)
		if errors.Is(err, keyring.ErrNotFound) {
			v, err = "(none)", nil
		}
		fmt.Printf("%x", sha256.Sum256([]byte(v)))
	case "delete":
		err = keyring.Delete(storage.KeyringService, user)
		if errors.Is(err, keyring.ErrNotFound) {
			err = nil
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// osKeyring runs one operation on the real OS keyring in a fresh process
// and returns its output (a hash of the value, for "get").
func osKeyring(t *testing.T, op, user string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), keyringOpEnv+"="+op, keyringOpEnv+"_USER="+user)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("keyring %s %s: %v", op, user, err)
	}
	return string(out)
}

// keyringEntries is a store's entries in the OS keyring (hashed).
func keyringEntries(t *testing.T, id string) string {
	t.Helper()
	var out []string
	for _, u := range []string{"master:", "smtp:", "generation:"} {
		out = append(out, u+osKeyring(t, "get", u+id))
	}
	return strings.Join(out, " ")
}

// forgetKeyring deletes a store's entries from the OS keyring: a brand-new
// keyring, as on a reinstalled or new computer.
func forgetKeyring(t *testing.T, id string) {
	t.Helper()
	for _, u := range []string{"master:", "smtp:", "generation:"} {
		osKeyring(t, "delete", u+id)
	}
}

func (s *store) backup(file string) {
	s.t.Helper()
	r := s.kd(e2ePass+"\n", "backup", "--out", file, "--passphrase-stdin")
	if r.code != 0 {
		s.t.Fatalf("backup: exit %d %s", r.code, r.stderr)
	}
}

func (s *store) verifies(k createdKey) bool {
	s.t.Helper()
	return s.kd(k.Key+"\n", "keys", "verify").code == 0
}

// Backup, then a brand-new keyring and a brand-new folder: restore brings
// every key back, listed as before and verifying, and says what it did.
func TestBackupRestoreOnNewComputer(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	keys := []createdKey{
		s.create("--name", "CRM sync", "--section", "users=read"),
		s.create("--name", "Short", "--global", "--expires", "1h"),
		s.create("--name", "Billing", "--op", "users.list", "--expires", "30d"),
	}
	if r := s.kd("smtp-password-1\n", "mail", "set", "--host", "smtp.example.com", "--port", "587", "--from", "keydesk@example.com", "--to", "ops@example.com", "--username", "kd", "--password-stdin"); r.code != 0 {
		t.Fatalf("mail set: %d %s", r.code, r.stderr)
	}
	before := s.ok("keys", "list", "--json")
	file := filepath.Join(t.TempDir(), "keydesk.kdbackup")
	s.backup(file)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file %v %v; want mode 0600", fi, err)
	}
	if !strings.Contains(s.ok("audit"), "store.backup") {
		t.Error("the backup is not in the audit log")
	}
	data, _ := os.ReadFile(file)
	for _, k := range keys {
		if bytes.Contains(data, []byte(k.Key)) || bytes.Contains(data, []byte(k.Key[4:])) {
			t.Errorf("the backup holds the secret of %s", k.ID)
		}
	}
	if bytes.Contains(data, []byte("smtp-password-1")) || bytes.Contains(data, []byte(e2ePass)) {
		t.Error("the backup holds the SMTP password or the passphrase in the clear")
	}
	wrong, _ := age.NewScryptIdentity("not the passphrase")
	if _, err := age.Decrypt(bytes.NewReader(data), wrong); err == nil {
		t.Error("the age library decrypted the backup with a wrong passphrase")
	}
	right, _ := age.NewScryptIdentity(e2ePass)
	plain, err := age.Decrypt(bytes.NewReader(data), right)
	if err != nil {
		t.Fatalf("the age library cannot open the backup: %v", err)
	}
	if h, err := tar.NewReader(plain).Next(); err != nil || h.Name != "manifest.json" {
		t.Errorf("the backup's first entry: %v %v", h, err)
	}

	id := storeID(t, s.dir)
	forgetKeyring(t, id)
	if r := s.kd("", "keys", "list"); r.code != 1 || !strings.Contains(r.stderr, "keydesk restore") {
		t.Errorf("without its keyring entry: exit %d %q; want advice naming keydesk restore", r.code, r.stderr)
	}

	n := &store{t: t, dir: filepath.Join(t.TempDir(), "new computer", "data"), now: s.now.Add(2 * time.Hour)}
	r := n.kd(e2ePass+"\n", "restore", file, "--passphrase-stdin")
	if r.code != 0 {
		t.Fatalf("restore: exit %d %s", r.code, r.stderr)
	}
	if want := "Restored 3 keys (1 expired) from a backup taken 2026-03-01 10:00 UTC.\n"; !strings.HasPrefix(r.stdout, want) {
		t.Errorf("restore said %q, want it to start %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "deleted after the backup") {
		t.Errorf("restore did not warn about deleted keys coming back: %q", r.stderr)
	}
	n.now = s.now
	if after := n.ok("keys", "list", "--json"); after != before {
		t.Errorf("keys listed differently after the restore:\n%s\nwant\n%s", after, before)
	}
	for _, k := range []createdKey{keys[0], keys[1], keys[2]} {
		if !n.verifies(k) {
			t.Errorf("key %s does not verify after the restore", k.ID)
		}
	}
	if out := n.ok("mail", "show"); !strings.Contains(out, "smtp.example.com") {
		t.Errorf("mail settings not restored: %s", out)
	}
	if got, want := osKeyring(t, "get", "smtp:"+id), fmt.Sprintf("%x", sha256.Sum256([]byte("smtp-password-1"))); got != want {
		t.Error("SMTP password not restored to the keyring")
	}
	if !strings.Contains(n.ok("audit"), "store.restore") {
		t.Error("the restore is not in the audit log")
	}
}

// --force over a folder holding another store: the old file is kept aside,
// the backup's keys verify and the replaced store's do not; the keys
// deleted since the backup are listed.
func TestRestoreForceOverAnotherStore(t *testing.T) {
	needKeyring(t)
	a := newStore(t)
	ka := a.create("--name", "From A", "--global")
	gone := a.create("--name", "Deleted after", "--section", "users=read")
	file := filepath.Join(t.TempDir(), "a.kdbackup")
	a.backup(file)
	a.ok("keys", "delete", gone.ID, "--yes")
	b := newStore(t)
	kb := b.create("--name", "From B", "--global")
	before := foldertest.State(t, b.dir)
	r := b.kd(e2ePass+"\n", "restore", file, "--passphrase-stdin")
	if r.code != 2 || !strings.Contains(r.stderr, "--force") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("restore over a store without --force: exit %d %q", r.code, r.stderr)
	}
	if foldertest.State(t, b.dir) != before {
		t.Error("a refused restore changed the folder")
	}
	// Over A itself, where the audit log shows the deletion.
	r = a.kd(e2ePass+"\n", "restore", file, "--passphrase-stdin", "--force")
	if r.code != 0 || !strings.Contains(r.stdout, gone.ID) || !strings.Contains(r.stderr, gone.ID) {
		t.Errorf("restore --force over A: exit %d, stdout %q, stderr %q; want the deleted key listed", r.code, r.stdout, r.stderr)
	}
	if !a.verifies(gone) {
		t.Error("the key deleted after the backup does not verify after the restore")
	}
	// Over B, another store.
	r = b.kd(e2ePass+"\n", "restore", file, "--passphrase-stdin", "--force")
	if r.code != 0 {
		t.Fatalf("restore --force over B: exit %d %s", r.code, r.stderr)
	}
	replaced, _ := filepath.Glob(filepath.Join(b.dir, "keydesk.db.replaced-*"))
	if len(replaced) != 1 || !strings.Contains(r.stdout, filepath.Base(replaced[0])) {
		t.Errorf("replaced files %v, stdout %q", replaced, r.stdout)
	}
	if !b.verifies(ka) || b.verifies(kb) {
		t.Error("after --force, the backup's key must verify and the replaced store's must not")
	}
}

// Each bad input: one sentence, exit 2, and neither the folder nor the
// keyring changes.
func TestBackupRestoreBadInput(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	s.create("--name", "Keep", "--global")
	tmp := t.TempDir()
	file := filepath.Join(tmp, "good.kdbackup")
	s.backup(file)
	good, _ := os.ReadFile(file)
	id := storeID(t, s.dir)
	write := func(name string, b []byte) string { return foldertest.WriteFile(t, tmp, name, b) }
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x20
	// At the scrypt work factor Keydesk writes: restore refuses any other
	// before it looks inside.
	rc, _ := age.NewScryptRecipient(e2ePass)
	var text, newer bytes.Buffer
	w, _ := age.Encrypt(&text, rc)
	fmt.Fprint(w, "a shopping list, encrypted")
	w.Close()
	w, _ = age.Encrypt(&newer, rc)
	tw := tar.NewWriter(w)
	mj := []byte(`{"format":"keydesk-backup","formatVersion":2,"kind":"backup","storeId":"x","files":[]}`)
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Size: int64(len(mj)), Mode: 0o600})
	tw.Write(mj)
	tw.Close()
	w.Close()

	fresh := func() string { return filepath.Join(t.TempDir(), "new", "data") }
	tests := []struct {
		name  string
		stdin string
		dir   string
		args  []string
		says  string
	}{
		{"wrong passphrase", "not the passphrase\n", "", []string{"restore", file, "--passphrase-stdin"}, "passphrase is wrong"},
		{"truncated", e2ePass + "\n", "", []string{"restore", write("trunc", good[:len(good)/2]), "--passphrase-stdin"}, "truncated or was altered"},
		{"one byte changed", e2ePass + "\n", "", []string{"restore", write("flip", flipped), "--passphrase-stdin"}, "truncated or was altered"},
		{"random file", e2ePass + "\n", "", []string{"restore", write("random", bytes.Repeat([]byte{0x5a, 0x17}, 5000)), "--passphrase-stdin"}, "not a Keydesk backup"},
		{"age file of something else", e2ePass + "\n", "", []string{"restore", write("text.age", text.Bytes()), "--passphrase-stdin"}, "not a Keydesk backup"},
		{"newer Keydesk", e2ePass + "\n", "", []string{"restore", write("newer", newer.Bytes()), "--passphrase-stdin"}, "newer version"},
		{"missing backup file", e2ePass + "\n", "", []string{"restore", filepath.Join(tmp, "nope"), "--passphrase-stdin"}, "does not exist"},
		{"no passphrase off a terminal", "", "", []string{"restore", file}, "--passphrase-stdin"},
		{"into a folder with a store", e2ePass + "\n", s.dir, []string{"restore", file, "--passphrase-stdin"}, "--force"},
		{"backup passphrase under 12", "eleven char\n", s.dir, []string{"backup", "--out", filepath.Join(tmp, "short.kdbackup"), "--passphrase-stdin"}, "at least 12"},
		{"backup into a missing folder", e2ePass + "\n", s.dir, []string{"backup", "--out", filepath.Join(tmp, "missing", "b.kdbackup"), "--passphrase-stdin"}, "does not exist"},
		{"backup without --out", e2ePass + "\n", s.dir, []string{"backup", "--passphrase-stdin"}, "--out"},
	}
	forgetKeyring(t, id) // a new computer: restores must not put anything back
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = fresh()
			}
			watch := filepath.Dir(filepath.Dir(dir))
			beforeTree, beforeTmp, beforeKr := foldertest.State(t, watch), foldertest.State(t, tmp), keyringEntries(t, id)
			r := run(t, tc.stdin, nil, append([]string{"--data", dir}, tc.args...)...)
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "keydesk: ") || !containsFold(lines[0], tc.says) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one sentence containing %q", r.code, r.stdout, r.stderr, tc.says)
			}
			if foldertest.State(t, watch) != beforeTree || foldertest.State(t, tmp) != beforeTmp {
				t.Error("the folder changed")
			}
			if keyringEntries(t, id) != beforeKr {
				t.Error("the keyring changed")
			}
			if strings.Contains(r.stderr, e2ePass) {
				t.Error("the passphrase was printed")
			}
		})
	}
}

// No OS keyring needed: --keyfile keeps the signing key in keydesk.key,
// encrypted with the passphrase (from KEYDESK_PASSPHRASE_FILE here); a
// wrong passphrase is one sentence, exit 2. Backup and restore move the
// store from the key file to the keyring and back.
func TestKeyFileWithoutKeyring(t *testing.T) {
	needKeyring(t)
	dir := filepath.Join(t.TempDir(), "data")
	pf := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pf, []byte(e2ePass+"\n"), 0o600)
	noBus := "DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")
	env := []string{noBus, "KEYDESK_PASSPHRASE_FILE=" + pf}
	kd := func(stdin string, env []string, args ...string) result {
		return run(t, stdin, env, append([]string{"--data", dir, "--keyfile", "--now", "2026-03-01T10:00:00Z"}, args...)...)
	}
	r := kd("", env, "keys", "create", "--name", "No keyring", "--global", "--json")
	if r.code != 0 {
		t.Fatalf("create with --keyfile and no Secret Service: exit %d %s", r.code, r.stderr)
	}
	secret := r.stdout[strings.Index(r.stdout, "kdk_"):][:53]
	raw, err := os.ReadFile(storage.KeyFilePath(dir))
	if err != nil || !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n")) || bytes.Contains(raw, []byte(e2ePass)) {
		t.Fatalf("keydesk.key: %v; want an age file without the passphrase", err)
	}
	if r := kd(secret+"\n", env, "keys", "verify"); r.code != 0 {
		t.Errorf("verify with --keyfile: exit %d %s", r.code, r.stderr)
	}
	// The passphrase from stdin instead of the file: its first line, before
	// what the command itself reads there.
	if r := kd(e2ePass+"\n", []string{noBus}, "--passphrase-stdin", "keys", "list"); r.code != 0 || !strings.Contains(r.stdout, "No keyring") {
		t.Errorf("list with --passphrase-stdin: exit %d %s", r.code, r.stderr)
	}
	if r := kd(e2ePass+"\n"+secret+"\n", []string{noBus}, "--passphrase-stdin", "keys", "verify"); r.code != 0 {
		t.Errorf("verify with --passphrase-stdin (passphrase, then key): exit %d %s", r.code, r.stderr)
	}
	two := filepath.Join(t.TempDir(), "two.kdbackup")
	if r := kd(e2ePass+"\nanother backup passphrase\n", []string{noBus}, "--passphrase-stdin", "backup", "--out", two); r.code != 0 {
		t.Errorf("backup with --passphrase-stdin (key file's, then the backup's): exit %d %s", r.code, r.stderr)
	}
	before := foldertest.State(t, dir)
	badPf := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(badPf, []byte("not the right passphrase\n"), 0o600)
	for _, tc := range []struct {
		env  []string
		args []string
		says string
	}{
		{[]string{noBus, "KEYDESK_PASSPHRASE_FILE=" + badPf}, []string{"keys", "list"}, "passphrase is wrong"},
		{[]string{noBus}, []string{"keys", "list"}, "needs its passphrase"},
	} {
		r := kd("", tc.env, tc.args...)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tc.says) {
			t.Errorf("%v: exit %d %q; want exit 2 and one sentence containing %q", tc.env, r.code, r.stderr, tc.says)
		}
	}
	if r := run(t, "", []string{noBus}, "--data", dir, "keys", "list"); r.code != 2 || !strings.Contains(r.stderr, "--keyfile") {
		t.Errorf("a key-file folder without --keyfile: exit %d %q", r.code, r.stderr)
	}
	if foldertest.State(t, dir) != before {
		t.Error("a refused run changed the folder")
	}
	// Key file -> OS keyring (this test's Secret Service) -> key file.
	file := filepath.Join(t.TempDir(), "kf.kdbackup")
	if r := kd(e2ePass+"\n", env, "--passphrase-stdin", "backup", "--out", file); r.code != 0 {
		t.Fatalf("backup from the key file: exit %d %s", r.code, r.stderr)
	}
	k := &store{t: t, dir: filepath.Join(t.TempDir(), "k"), now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	if r := k.kd(e2ePass+"\n", "restore", file, "--passphrase-stdin"); r.code != 0 {
		t.Fatalf("restore into the keyring: exit %d %s", r.code, r.stderr)
	}
	if ok, _ := storage.KeyFileExists(k.dir); ok || k.kd(secret+"\n", "keys", "verify").code != 0 {
		t.Error("after the restore into the keyring, the key must verify without a key file")
	}
	back := filepath.Join(t.TempDir(), "back")
	if r := run(t, e2ePass+"\n", env, "--data", back, "--keyfile", "restore", file, "--passphrase-stdin"); r.code != 0 {
		t.Fatalf("restore --keyfile: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, secret+"\n", env, "--data", back, "--keyfile", "--now", "2026-03-01T10:00:00Z", "keys", "verify"); r.code != 0 {
		t.Errorf("verify after restore --keyfile: exit %d %s", r.code, r.stderr)
	}
}
