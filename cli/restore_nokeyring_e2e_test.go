package cli_test

import (
	"bytes"
	"github.com/keydesk/keydesk/internal/foldertest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestoreWithoutKeyringChecksTheFileFirst runs restore on a computer
// without a Secret Service: a file that is not a backup, or a wrong
// passphrase, is bad input (one sentence, exit 2, nothing written) as
// anywhere else; only a good backup with its passphrase gets as far as
// needing the keyring (exit 1, nothing written).
func TestRestoreWithoutKeyringChecksTheFileFirst(t *testing.T) {
	noBus := "DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")
	pf := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pf, []byte(e2ePass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A real backup, made without a keyring (the key file keeps the key).
	src := filepath.Join(t.TempDir(), "src")
	env := []string{noBus, "KEYDESK_PASSPHRASE_FILE=" + pf}
	if r := run(t, "", env, "--data", src, "--keyfile", "keys", "create", "--name", "Backed up", "--global"); r.code != 0 {
		t.Fatalf("create: exit %d %s", r.code, r.stderr)
	}
	good := filepath.Join(t.TempDir(), "good.kdbackup")
	if r := run(t, e2ePass+"\n", env, "--data", src, "--keyfile", "backup", "--out", good, "--passphrase-stdin"); r.code != 0 {
		t.Fatalf("backup: exit %d %s", r.code, r.stderr)
	}
	random := filepath.Join(t.TempDir(), "random.kdbackup")
	if err := os.WriteFile(random, bytes.Repeat([]byte("not a backup "), 500), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file, pass string
		code             int
	}{
		{"not a backup", random, e2ePass, 2},
		{"wrong passphrase", good, "not the right passphrase", 2},
		{"good backup", good, e2ePass, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "data")
			before := foldertest.State(t, parent)
			r := run(t, tc.pass+"\n", []string{noBus}, "--data", dir, "restore", tc.file, "--passphrase-stdin")
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if r.code != tc.code || len(lines) != 1 || !strings.HasPrefix(lines[0], "keydesk: ") || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and one sentence", r.code, r.stdout, r.stderr, tc.code)
			}
			if keyringSays := containsFold(r.stderr, "keyring"); keyringSays != (tc.code == 1) {
				t.Errorf("stderr %q: the keyring is named %v, want %v", r.stderr, keyringSays, tc.code == 1)
			}
			if foldertest.State(t, parent) != before {
				t.Error("the folder changed")
			}
		})
	}
}
