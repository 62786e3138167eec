package gui

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/workspace"
)

// noKeyring is a computer without a usable OS keyring (no Secret Service,
// or a locked one): every call fails with workspace.ErrKeyringUnavailable.
type noKeyring struct{}

func (noKeyring) Get(string) (string, error) { return "", workspace.ErrKeyringUnavailable }
func (noKeyring) Set(string, string) error   { return workspace.ErrKeyringUnavailable }
func (noKeyring) Delete(string) error        { return workspace.ErrKeyringUnavailable }

// fastKeyFile lowers the key file's scrypt cost for tests.
var fastKeyFile = workspace.KeyFileOptions{WorkFactor: 10}

const testPassphrase = "a long passphrase for the test"

// windowTest is a window started as Run starts it (startWindow), on the
// test driver.
type windowTest struct {
	t     *testing.T
	w     fyne.Window
	env   *uiEnv
	bg    *testRunner
	s     *session
	quits int
}

// startTestWindow starts the window on opts (and prefs, if given, set
// first) and runs its UI updates until the first store or dialog shows.
func startTestWindow(t *testing.T, opts workspace.Options, prefs func(fyne.Preferences)) *windowTest {
	t.Helper()
	wt := &windowTest{t: t}
	wt.w, wt.env, wt.bg = newTestWindow(t)
	if prefs != nil {
		prefs(wt.env.prefs.p)
	}
	wt.env.quit = func() { wt.quits++ }
	wt.s = startWindow(wt.w, wt.env, opts)
	t.Cleanup(func() { wt.s.finish() })
	wt.bg.wait()
	<-wt.s.shown
	return wt
}

// tap taps b and runs the UI updates of what it started.
func (wt *windowTest) tap(b *widget.Button) {
	wt.t.Helper()
	if b == nil || b.Hidden || b.Disabled() {
		wt.t.Fatalf("button %+v cannot be tapped", b)
	}
	test.Tap(b)
	wt.bg.wait()
}

// screens returns the workspace shown, failing if the screens are not.
func (wt *windowTest) screens() *workspace.Workspace {
	wt.t.Helper()
	if _, ok := mainTabs(wt.w.Content()); !ok {
		wt.t.Fatalf("the window shows %T (dialog %q), want the screens", wt.w.Content(), overlayTexts(wt.w))
	}
	return wt.s.workspace()
}

// prompt returns the passphrase dialog shown, failing if there is none.
func (wt *windowTest) prompt() *passphraseDialog {
	wt.t.Helper()
	if wt.s.prompt == nil || wt.w.Canvas().Overlays().Top() == nil {
		wt.t.Fatalf("no passphrase dialog (dialog %q)", overlayTexts(wt.w))
	}
	return wt.s.prompt
}

// answer types p (and again, for a new key file) and taps Open.
func (wt *windowTest) answer(p, again string) {
	wt.t.Helper()
	d := wt.prompt()
	test.Type(d.pass, p)
	if d.again != nil {
		test.Type(d.again, again)
	}
	wt.tap(d.ok)
}

func (wt *windowTest) overlayHas(text string) bool {
	return strings.Contains(strings.Join(overlayTexts(wt.w), " "), text)
}

// keyFileFolder returns a new data folder whose signing key is in
// keydesk.key (passphrase testPassphrase), holding one key named name.
func keyFileFolder(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	b, err := workspace.Open(workspace.Options{Dir: dir, KeyFile: true, KeyFileOptions: fastKeyFile,
		Passphrase: func(bool) (string, error) { return testPassphrase, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Service().Create(sharedReq(name)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// noSecretIn fails if a file under dir contains secret.
func noSecretIn(t *testing.T, dir, secret string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("%s holds the passphrase", p)
		}
		return nil
	})
}

// Without an OS keyring the window offers the key file (saying what it
// means for a stolen folder) and the demo; the key file asks for a new
// passphrase twice, refuses a short one or two that differ, then opens the
// folder with its signing key in keydesk.key. The passphrase is asked once
// per session: the store opens again (as after a restore) without asking.
func TestKeyFileChoiceWithoutKeyring(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	wt := startTestWindow(t, workspace.Options{Dir: dir, Keyring: noKeyring{}, KeyFileOptions: fastKeyFile}, nil)
	if wt.s.choice == nil {
		t.Fatalf("no choice without a keyring; dialog %q", overlayTexts(wt.w))
	}
	for _, want := range []string{"The OS keyring is not available", "Anyone who copies the folder and learns the passphrase can issue keys", "Open the demo"} {
		if !wt.overlayHas(want) {
			t.Errorf("the choice does not say %q: %q", want, overlayTexts(wt.w))
		}
	}
	if wt.s.choice.keyFile.Text != "Keep the signing key in a file" {
		t.Errorf("key file button %q", wt.s.choice.keyFile.Text)
	}
	wt.tap(wt.s.choice.keyFile)
	if d := wt.prompt(); d.again == nil {
		t.Fatal("a new key file's passphrase is asked once, want twice")
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the data folder was created before the passphrase was typed: %v", err)
	}

	for _, bad := range []struct{ p, again, want string }{
		{"short", "short", "at least 12 characters"},
		{"aaaaaaaaaaaa", "aaaaaaaaaaaa", "too easy to guess: it repeats"},
		{"Password1234", "Password1234", "too easy to guess: it is made of common passwords"},
		{testPassphrase, testPassphrase + "x", "The two passphrases differ"},
	} {
		d := wt.prompt()
		d.pass.SetText("")
		d.again.SetText("")
		wt.answer(bad.p, bad.again)
		if wt.s.prompt != d || !strings.Contains(d.msg.Text, bad.want) {
			t.Fatalf("passphrase %q/%q: message %q, want %q", bad.p, bad.again, d.msg.Text, bad.want)
		}
		if ok, _ := workspace.KeyFileExists(dir); ok {
			t.Fatalf("keydesk.key was written for a refused passphrase %q", bad.p)
		}
	}
	d := wt.prompt()
	d.pass.SetText("")
	d.again.SetText("")
	wt.answer(testPassphrase, testPassphrase)
	b := wt.screens()
	if ok, _ := workspace.KeyFileExists(dir); !ok {
		t.Fatal("no keydesk.key after choosing the key file")
	}
	if _, _, err := b.Service().Create(sharedReq("kept in a file")); err != nil {
		t.Fatal(err)
	}
	if d.pass.Text != "" || d.again.Text != "" {
		t.Error("the dialog's entries still hold the passphrase")
	}

	// Opened again in the same session (as a restore does): not asked.
	wt.bg.run(func() func() {
		wt.s.suspend()
		return wt.s.resume()
	})
	wt.bg.wait()
	if wt.s.prompt != nil {
		t.Fatal("the passphrase was asked twice in one session")
	}
	if n := tableNames(t, wt.w); !slices.Equal(n, []string{"kept in a file"}) {
		t.Fatalf("keys after reopening: %q", n)
	}
	if err := wt.s.finish(); err != nil {
		t.Fatal(err)
	}
	noSecretIn(t, dir, testPassphrase)
	if wt.quits != 0 {
		t.Fatal("the window quit")
	}
}

// A folder whose signing key is already in keydesk.key asks for its
// passphrase at once (not the keyring's error); a wrong one says so in one
// sentence and asks again; Cancel goes back to the choice, from which the
// passphrase opens the folder.
func TestExistingKeyFileAsksForItsPassphrase(t *testing.T) {
	dir := keyFileFolder(t, "made before")

	wt := startTestWindow(t, workspace.Options{Dir: dir, Keyring: noKeyring{}, KeyFileOptions: fastKeyFile}, nil)
	if wt.s.choice != nil || wt.overlayHas("keyring") {
		t.Fatalf("the keyring's error for a key-file folder: %q", overlayTexts(wt.w))
	}
	if d := wt.prompt(); d.again != nil {
		t.Fatal("an existing key file's passphrase is asked twice")
	}
	wt.answer("not the passphrase at all", "")
	d := wt.prompt()
	if d.msg.Text != wrongPassphrase || d.msg.Hidden {
		t.Fatalf("after a wrong passphrase the dialog says %q", d.msg.Text)
	}
	wt.tap(d.cancel)
	if wt.s.prompt != nil || wt.s.choice == nil {
		t.Fatalf("Cancel: dialog %q, want the choice", overlayTexts(wt.w))
	}
	if wt.s.choice.keyFile.Text != "Type the passphrase" {
		t.Errorf("the choice for an existing key file offers %q", wt.s.choice.keyFile.Text)
	}
	wt.tap(wt.s.choice.keyFile)
	wt.answer(testPassphrase, "")
	wt.screens()
	if n := tableNames(t, wt.w); !slices.Equal(n, []string{"made before"}) {
		t.Fatalf("keys: %q", n)
	}
}

// "Open the demo" in the choice shows the demo's screens.
func TestKeyFileChoiceOpensTheDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	wt := startTestWindow(t, workspace.Options{Dir: dir, Keyring: noKeyring{}}, nil)
	if wt.s.choice == nil {
		t.Fatalf("no choice: %q", overlayTexts(wt.w))
	}
	wt.tap(wt.s.choice.demo)
	if b := wt.screens(); b.Kind() != workspace.KindDemo {
		t.Fatal("the demo button opened something else")
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the data folder was created for the demo: %v", err)
	}
}

// keydesk --keyfile with no passphrase source opens the window on the
// passphrase dialog (twice for a new key file); a passphrase given by the
// command line that is wrong asks in the window, saying it was wrong.
func TestKeyFileFromCommandLineAsksInTheWindow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	wt := startTestWindow(t, workspace.Options{Dir: dir, KeyFile: true, KeyFileOptions: fastKeyFile}, nil)
	if d := wt.prompt(); d.again == nil || !d.msg.Hidden {
		t.Fatalf("--keyfile on a new folder: prompt %+v", d)
	}
	wt.answer(testPassphrase, testPassphrase)
	wt.screens()
	if err := wt.s.finish(); err != nil {
		t.Fatal(err)
	}

	given := 0
	wt = startTestWindow(t, workspace.Options{Dir: dir, KeyFile: true, KeyFileOptions: fastKeyFile,
		Passphrase: func(bool) (string, error) { given++; return "wrong passphrase from a file", nil }}, nil)
	if d := wt.prompt(); d.again != nil || d.msg.Text != wrongPassphrase {
		t.Fatalf("a wrong passphrase from the command line: prompt says %q", d.msg.Text)
	}
	wt.answer(testPassphrase, "")
	wt.screens()
	if given != 1 {
		t.Fatalf("the command line's passphrase was tried %d times, want once", given)
	}
}

// TestGoldenKeyFileDialogs: the choice without a keyring, and the new
// passphrase refused as too short (the message under the fields, the
// dialog grown to fit it).
func TestGoldenKeyFileDialogs(t *testing.T) {
	w, env, bg := newTestWindow(t)
	w.Resize(fyne.NewSize(900, 600))
	s := startWindow(w, env, workspace.Options{Dir: filepath.Join(t.TempDir(), "data"), Keyring: noKeyring{}, KeyFileOptions: fastKeyFile})
	t.Cleanup(func() { s.finish() })
	bg.wait()
	test.AssertImageMatches(t, "keyfile_choice.png", w.Canvas().Capture())

	test.Tap(s.choice.keyFile)
	bg.wait()
	test.Type(s.prompt.pass, "short")
	test.Type(s.prompt.again, "short")
	test.Tap(s.prompt.ok)
	test.AssertImageMatches(t, "keyfile_new_passphrase.png", w.Canvas().Capture())
}

// A restore into a folder that keeps its signing key in keydesk.key locks
// the file with the backup's passphrase: the window opens the restored
// store with that one, without asking again or calling it wrong.
func TestRestoreIntoKeyFileFolderOpensWithoutAsking(t *testing.T) {
	dir := keyFileFolder(t, "made before")
	wt := startTestWindow(t, workspace.Options{Dir: dir, Keyring: noKeyring{}, KeyFileOptions: fastKeyFile}, nil)
	wt.answer(testPassphrase, "")
	wt.screens()

	const backupPass = "the backup's own passphrase"
	out := filepath.Join(t.TempDir(), "keys.age")
	d := wt.s.flow.openBackup(out)
	test.Type(d.pass, backupPass)
	test.Type(d.again, backupPass)
	wt.tap(d.start)
	if d.msg.Visible() {
		t.Fatalf("backup failed: %q", d.msg.Text)
	}

	r := wt.s.flow.openRestore(out)
	test.Type(r.pass, backupPass)
	wt.tap(r.check)
	if r.pending == nil {
		t.Fatalf("the backup was not checked: %q", r.msg.Text)
	}
	if !strings.Contains(r.summary.Text, "its passphrase is the backup's") {
		t.Errorf("the summary does not say the key file's passphrase changes: %q", r.summary.Text)
	}
	wt.tap(r.restore)
	wt.screens()
	if wt.s.prompt != nil {
		t.Fatalf("the restored store asked for a passphrase again: %q", overlayTexts(wt.w))
	}
	if n := tableNames(t, wt.w); !slices.Equal(n, []string{"made before"}) {
		t.Fatalf("keys after the restore: %q", n)
	}
}

// The strength rule is for passphrases being chosen: a key file made with a
// weak one before the rule (the store takes any of 12 characters) opens
// with it in the window, asked once, without a word about its strength.
func TestWeakPassphraseOfAnExistingKeyFileOpens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const weak = "aaaaaaaaaaaa"
	w, err := workspace.Open(workspace.Options{Dir: dir, KeyFile: true, KeyFileOptions: fastKeyFile,
		Passphrase: func(bool) (string, error) { return weak, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wt := startTestWindow(t, workspace.Options{Dir: dir, KeyFile: true, KeyFileOptions: fastKeyFile}, nil)
	d := wt.prompt()
	if d.again != nil {
		t.Fatal("an existing key file's passphrase is asked twice")
	}
	wt.answer(weak, "")
	if b := wt.screens(); b.Kind() != workspace.KindFolder {
		t.Fatalf("the key file did not open: %v", b.Kind())
	}
}
