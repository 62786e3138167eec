package gui

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/internal/guitest"
	"github.com/keydesk/keydesk/workspace"
)

// backupSession opens the window over a real data folder in a temporary
// folder with a memory keyring.
func backupSession(t *testing.T) (*session, *testRunner) {
	t.Helper()
	a := test.NewTempApp(t)
	guitest.SyncCacheClock()
	a.Settings().SetTheme(theme.DefaultTheme())
	w := test.NewTempWindow(t, nil)
	env := newAppEnv(a, w)
	bg := &testRunner{}
	env.bg = bg
	dir := t.TempDir()
	mem := workspace.NewMemoryKeyring()
	s := startSession(w, env, func() (*workspace.Workspace, error) {
		return workspace.Open(workspace.Options{Dir: dir, Keyring: mem})
	})
	s.opts.Keyring = mem
	bg.wait()
	<-s.shown
	if s.workspace() == nil || s.flow == nil {
		t.Fatalf("the data folder did not open: %v", s.err)
	}
	t.Cleanup(func() {
		if err := s.finish(); err != nil {
			t.Error(err)
		}
	})
	return s, bg
}

func keyNames(ws *workspace.Workspace) []string {
	var out []string
	for _, k := range ws.Service().List() {
		out = append(out, k.Name)
	}
	slices.Sort(out)
	return out
}

func TestBackupAndRestoreFromTheWindow(t *testing.T) {
	s, bg := backupSession(t)
	svc := s.workspace().Service()
	mk := func(name string) *core.Key {
		k, _, err := svc.Create(core.CreateRequest{Name: name, Lifetime: core.Lifetime{Months: 1},
			Permissions: core.Permissions{Kind: core.KindOperations, Operations: []string{"users.list"}}})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	mk("Kept")
	gone := mk("Deleted after the backup")
	if !strings.Contains(s.flow.settings.LastBackup(), "never") {
		t.Fatalf("settings before any backup: %q", s.flow.settings.LastBackup())
	}

	out := filepath.Join(t.TempDir(), "keys.age")
	d := s.flow.openBackup(out)
	test.Type(d.pass, "short")
	test.Type(d.again, "short")
	test.Tap(d.start)
	if d.msg.Text != "The passphrase must be at least 12 characters long." {
		t.Fatalf("short passphrase: %q", d.msg.Text)
	}
	// Twelve characters, but easy to guess: refused, saying why.
	d.pass.SetText("abcabcabcabc")
	d.again.SetText("abcabcabcabc")
	test.Tap(d.start)
	if !strings.HasPrefix(d.msg.Text, "This passphrase is too easy to guess: it repeats") {
		t.Fatalf("weak passphrase: %q", d.msg.Text)
	}
	const pass = "correct horse battery"
	d.pass.SetText(pass)
	d.again.SetText(pass + "!")
	test.Tap(d.start)
	if d.msg.Text != "The two passphrases differ." {
		t.Fatalf("differing passphrases: %q", d.msg.Text)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a refused backup wrote a file")
	}
	d.again.SetText(pass)
	test.Tap(d.start)
	bg.wait()
	if d.msg.Visible() {
		t.Fatalf("backup failed: %q", d.msg.Text)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if strings.Contains(s.flow.settings.LastBackup(), "never") {
		t.Fatalf("settings after a backup: %q", s.flow.settings.LastBackup())
	}

	// After the backup: one key deleted, one created.
	if _, err := svc.Delete(gone.ID); err != nil {
		t.Fatal(err)
	}
	mk("Created after the backup")

	// A wrong passphrase: one sentence, and the store is open again.
	r := s.flow.openRestore(out)
	test.Type(r.pass, "not the passphrase")
	test.Tap(r.check)
	bg.wait()
	if r.msg.Text != "The passphrase is wrong." {
		t.Fatalf("wrong passphrase: %q", r.msg.Text)
	}
	ws := s.workspace()
	if ws == nil {
		t.Fatal("the store did not open again after a refused restore")
	}
	if _, ok := mainTabs(s.w.Content()); !ok {
		t.Fatalf("window content %T after a refused restore, want the screens", s.w.Content())
	}
	if got := keyNames(ws); !slices.Equal(got, []string{"Created after the backup", "Kept"}) {
		t.Fatalf("keys after a refused restore: %v", got)
	}

	r.pass.SetText(pass)
	test.Tap(r.check)
	bg.wait()
	if r.pending == nil {
		t.Fatalf("the backup was not checked: %q", r.msg.Text)
	}
	if !strings.Contains(r.summary.Text, "holds 2 keys") || !strings.Contains(r.summary.Text, "Deleted after the backup") {
		t.Fatalf("summary: %q", r.summary.Text)
	}
	test.Tap(r.restore)
	bg.wait()
	ws = s.workspace()
	if ws == nil {
		t.Fatal("the store did not open again after the restore")
	}
	if got := keyNames(ws); !slices.Equal(got, []string{"Deleted after the backup", "Kept"}) {
		t.Fatalf("keys after the restore: %v", got)
	}
	if s.flow == nil || s.flow.restore != nil && s.flow.restore == r {
		t.Fatal("the screens were not rebuilt over the restored store")
	}
}

func TestKeyringUnavailableOffersKeyFileAndDemo(t *testing.T) {
	w, env, bg := newTestWindow(t)
	quit := false
	env.quit = func() { quit = true }
	s := startSession(w, env, func() (*workspace.Workspace, error) {
		return nil, fmt.Errorf("open keyring: %w", workspace.ErrKeyringUnavailable)
	})
	bg.wait()
	<-s.shown
	texts := strings.Join(overlayTexts(w), "\n")
	if !strings.Contains(texts, "The OS keyring is not available") || !strings.Contains(texts, "Keep the signing key in a file") ||
		!strings.Contains(texts, "Anyone who copies the folder") {
		t.Fatalf("dialog texts: %q", texts)
	}
	var demo *widget.Button
	kvWalk(w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
		if b := asButton(o); b != nil && b.Text == "Open the demo" {
			demo = b
		}
	})
	if demo == nil {
		t.Fatal("no Open the demo button")
	}
	test.Tap(demo)
	bg.wait()
	if quit {
		t.Fatal("opening the demo quit the app")
	}
	ws := s.workspace()
	if ws == nil || ws.Kind() != workspace.KindDemo {
		t.Fatalf("the demo did not open: %v", s.err)
	}
	if _, ok := mainTabs(w.Content()); !ok {
		t.Fatalf("window content %T, want the screens", w.Content())
	}
	if err := s.finish(); err != nil {
		t.Fatalf("finish: %v", err)
	}
}

// TestBackupFileNameEndsKdbackup: the suggested backup file name has the
// .kdbackup ending the README and `keydesk backup` use (not .age), and the
// day in the window's time zone.
func TestBackupFileNameEndsKdbackup(t *testing.T) {
	now := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	loc := time.FixedZone("UTC+2", 2*3600)
	if got, want := backupFileName(now, loc), "keydesk-backup-2026-12-01.kdbackup"; got != want {
		t.Fatalf("suggested name %q, want %q", got, want)
	}
}
