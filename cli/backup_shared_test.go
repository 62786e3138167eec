package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/envelope"
)

// Backup and restore work on data folders: on a shared store they are
// refused before anything is opened, in one sentence naming the right tool.
func TestBackupAndRestoreRefuseASharedStore(t *testing.T) {
	dir := t.TempDir()
	backupFile := filepath.Join(dir, "some.backup")
	if err := os.WriteFile(backupFile, []byte("not opened"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Port 1 on loopback: nothing listens there, so a command that tried
	// to open the store would fail differently (exit 1, "cannot be reached").
	url := "postgres://keydesk@127.0.0.1:1/keydesk"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--store", url, "--passphrase-stdin", "backup", "--out", filepath.Join(dir, "out.backup")}, "pg_dump"},
		{[]string{"--store", url, "--passphrase-stdin", "restore", backupFile}, "store init --from"},
	} {
		var out, errb bytes.Buffer
		code := Main(tc.args, &Env{Stdin: strings.NewReader("a long enough passphrase\n"), Stdout: &out, Stderr: &errb})
		msg := strings.TrimSpace(errb.String())
		if code != ExitUsage || strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one sentence naming %q", tc.args, code, msg, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "out.backup")); !os.IsNotExist(err) {
			t.Errorf("%v wrote a backup file (stat: %v)", tc.args, err)
		}
	}
}

// credential export into a folder that does not exist: bad usage, one
// sentence, before anything is opened (the store URL points nowhere).
func TestCredentialExportIntoMissingFolder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "missing", "verify.json")
	var stdout, errb bytes.Buffer
	code := Main([]string{"--store", "postgres://keydesk@127.0.0.1:1/keydesk", "credential", "export", "--verify-only", "--out", out},
		&Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &errb})
	msg := strings.TrimSpace(errb.String())
	if code != ExitUsage || strings.Contains(msg, "\n") || !strings.Contains(msg, "does not exist") {
		t.Fatalf("exit %d, stderr %q; want exit 2 and one sentence", code, msg)
	}
}

// credential import reads its passphrase from stdin with the global
// --passphrase-stdin, before or after the command. The file is an envelope
// of another kind: the passphrase opens it and the import stops, in one
// sentence, before the keyring.
func TestCredentialImportReadsTheGlobalPassphraseStdin(t *testing.T) {
	const pass = "a long enough passphrase"
	var env bytes.Buffer
	if err := envelope.Write(&env, pass, envelope.Manifest{Kind: "backup", StoreID: "s1", TakenAt: time.Now()},
		[]envelope.File{envelope.Bytes("manifest-only", []byte("{}"))}, envelope.Options{}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "other.age")
	if err := os.WriteFile(file, env.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--passphrase-stdin", "credential", "import", file},
		{"credential", "import", file, "--passphrase-stdin"},
	} {
		var stdout, errb bytes.Buffer
		code := Main(args, &Env{Stdin: strings.NewReader(pass + "\n"), Stdout: &stdout, Stderr: &errb})
		msg := strings.TrimSpace(errb.String())
		if code != ExitUsage || strings.Contains(msg, "\n") || strings.Contains(msg, "terminal") || strings.Contains(strings.ToLower(msg), "passphrase is wrong") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one sentence about the file, the passphrase read from stdin", args, code, msg)
		}
	}
}
