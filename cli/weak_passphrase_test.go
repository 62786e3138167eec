package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/internal/foldertest"
	"github.com/keydesk/keydesk/storage"
	"github.com/keydesk/keydesk/workspace"
)

// A new passphrase that is easy to guess (issue #18: aaaaaaaaaaaa was
// taken for a key file) is refused wherever one is chosen, in one sentence
// saying why, with nothing written: a new key file, a backup, an admin
// credential.
func TestWeakNewPassphrasesAreRefused(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	// A store whose key file has a strong passphrase, to back up.
	const strong = "walnut kestrel orbit 7"
	w, err := workspace.Open(workspace.Options{Dir: dir, KeyFile: true, KeyFileOptions: workspace.KeyFileOptions{WorkFactor: 10},
		Passphrase: func(bool) (string, error) { return strong, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(parent, "new")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		says  string
	}{
		{"new key file", "aaaaaaaaaaaa\n", []string{"--data", fresh, "--keyfile", "--passphrase-stdin", "keys", "list"}, "too easy to guess: it repeats"},
		{"new key file of a common password", "Password1234\n", []string{"--data", fresh, "--keyfile", "--passphrase-stdin", "keys", "list"}, "common passwords"},
		{"backup", strong + "\nabcdefghijklmn\n", []string{"--data", dir, "--keyfile", "--passphrase-stdin", "backup", "--out", filepath.Join(parent, "b.kdbackup")}, "in order"},
		{"admin credential", "aaaaaaaaaaaa\n", []string{"--store", "postgres://keydesk@127.0.0.1:1/keydesk", "--passphrase-stdin", "credential", "export", "--out", filepath.Join(parent, "admin.credential")}, "too easy to guess"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := foldertest.State(t, parent)
			var out, errb bytes.Buffer
			code := Main(tc.args, &Env{Stdin: strings.NewReader(tc.stdin), Stdout: &out, Stderr: &errb})
			msg := strings.TrimSpace(errb.String())
			if code != ExitUsage || strings.Contains(msg, "\n") || !strings.Contains(msg, tc.says) || strings.Count(msg, ". ") > 0 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one sentence containing %q", code, msg, tc.says)
			}
			if foldertest.State(t, parent) != before {
				t.Error("a refused passphrase wrote something")
			}
		})
	}
}

// A passphrase typed to open what exists is never judged: a key file made
// with a weak passphrase before the rule opens with it. (At the scrypt
// work factor Keydesk writes, which the command line expects.)
func TestWeakPassphraseOfAnExistingKeyFileOpens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const weak = "aaaaaaaaaaaa"
	w, err := workspace.Open(workspace.Options{Dir: dir, KeyFile: true,
		Passphrase: func(bool) (string, error) { return weak, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"--data", dir, "--keyfile", "--passphrase-stdin", "keys", "list"},
		&Env{Stdin: strings.NewReader(weak + "\n"), Stdout: &out, Stderr: &errb}); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, storage.KeyFileName)); err != nil {
		t.Fatal(err)
	}
}
