package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/workspace"
)

// failingTerminal is a terminal that fails the test if a secret is read
// from it: the window asks for the key file's passphrase itself.
type failingTerminal struct{ t *testing.T }

func (failingTerminal) IsTerminal() bool { return true }

func (f failingTerminal) ReadSecret() (string, error) {
	f.t.Error("the window's passphrase was asked on the terminal")
	return "", errors.New("no terminal")
}

// openWindow runs keydesk with args and no command, and returns the
// options the window opener received (ok false when it was not called).
func openWindow(t *testing.T, stdin string, env map[string]string, term Terminal, args ...string) (opts workspace.Options, ok bool, code int, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Terminal: term,
		Getenv: func(k string) string { return env[k] },
		OpenWindow: func(o workspace.Options) error {
			opts, ok = o, true
			return nil
		},
	}
	code = Main(args, e)
	return opts, ok, code, errb.String()
}

// With no command the window opener gets the store the flags and the
// environment name: nothing chosen leaves every choice empty (the window
// may reopen the store it showed last).
func TestWindowOpenerReceivesTheOptions(t *testing.T) {
	dir := t.TempDir()
	catalog := filepath.Join(t.TempDir(), "catalog.json")
	var cat bytes.Buffer
	if code := Main([]string{"catalog", "--json"}, &Env{Stdout: &cat, Stderr: &cat}); code != 0 {
		t.Fatalf("catalog --json: exit %d %s", code, cat.String())
	}
	if err := os.WriteFile(catalog, cat.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	const url = "postgres://admin@db.example/keydesk"
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want workspace.Options
	}{
		{"nothing chosen", nil, nil, workspace.Options{}},
		{"--data", nil, []string{"--data", dir}, workspace.Options{Dir: dir}},
		{"KEYDESK_DATA", map[string]string{"KEYDESK_DATA": dir}, nil, workspace.Options{Dir: dir}},
		{"--store", nil, []string{"--store", url}, workspace.Options{StoreURL: url}},
		{"KEYDESK_STORE", map[string]string{"KEYDESK_STORE": url}, nil, workspace.Options{StoreURL: url}},
		{"KEYDESK_STORE under --data", map[string]string{"KEYDESK_STORE": url}, []string{"--data", dir}, workspace.Options{Dir: dir}},
		{"--demo", map[string]string{"KEYDESK_STORE": url}, []string{"--demo"}, workspace.Options{Demo: true}},
		{"--catalog", nil, []string{"--catalog", catalog}, workspace.Options{CatalogFile: catalog}},
		{"--keyfile", nil, []string{"--data", dir, "--keyfile"}, workspace.Options{Dir: dir, KeyFile: true}},
	} {
		got, ok, code, stderr := openWindow(t, "", c.env, nil, c.args...)
		if !ok || code != ExitOK {
			t.Errorf("%s: opener called %v, exit %d %s", c.name, ok, code, stderr)
			continue
		}
		if got.Passphrase != nil {
			t.Errorf("%s: a passphrase source for the window with no file and no stdin", c.name)
		}
		got.Passphrase = nil
		if got.Dir != c.want.Dir || got.StoreURL != c.want.StoreURL || got.Demo != c.want.Demo ||
			got.KeyFile != c.want.KeyFile || got.CatalogFile != c.want.CatalogFile || got.Keyring != nil {
			t.Errorf("%s: the window got %+v, want %+v", c.name, got, c.want)
		}
	}
}

// --keyfile leaves the passphrase to the window even on a terminal; a
// passphrase file or --passphrase-stdin comes through without asking.
func TestWindowKeyFilePassphraseSources(t *testing.T) {
	dir := t.TempDir()
	opts, ok, code, stderr := openWindow(t, "", nil, failingTerminal{t}, "--data", dir, "--keyfile")
	if !ok || code != ExitOK || !opts.KeyFile || opts.Passphrase != nil {
		t.Fatalf("--keyfile on a terminal: called %v, exit %d %s, key file %v, passphrase source %v",
			ok, code, stderr, opts.KeyFile, opts.Passphrase != nil)
	}

	const pass = "correct horse battery staple"
	opts, ok, code, stderr = openWindow(t, pass+"\n", nil, failingTerminal{t}, "--data", dir, "--keyfile", "--passphrase-stdin")
	if !ok || code != ExitOK || opts.Passphrase == nil {
		t.Fatalf("--keyfile --passphrase-stdin: called %v, exit %d %s", ok, code, stderr)
	}
	if p, err := opts.Passphrase(true); err != nil || p != pass {
		t.Fatalf("passphrase from stdin = %q, %v", p, err)
	}

	file := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(file, []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, ok, code, stderr = openWindow(t, "", map[string]string{PassphraseFileEnv: file}, nil, "--data", dir, "--keyfile")
	if !ok || code != ExitOK || opts.Passphrase == nil {
		t.Fatalf("--keyfile with %s: called %v, exit %d %s", PassphraseFileEnv, ok, code, stderr)
	}
	if p, err := opts.Passphrase(false); err != nil || p != pass {
		t.Fatalf("passphrase from the file = %q, %v", p, err)
	}
}

// The window's error is the program's: one sentence on stderr, exit 1; a
// build without a window says so.
func TestWindowOpenerError(t *testing.T) {
	var out, errb bytes.Buffer
	e := &Env{Stdout: &out, Stderr: &errb, OpenWindow: func(workspace.Options) error { return errors.New("the window failed") }}
	if code := Main(nil, e); code != ExitFailed || errb.String() != "keydesk: The window failed.\n" {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := Main(nil, &Env{Stdout: &out, Stderr: &errb}); code != ExitFailed || !strings.Contains(errb.String(), "no window") {
		t.Fatalf("without a window: exit %d, stderr %q", code, errb.String())
	}
}
