package gui

import (
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/workspace"
)

// overlayButton returns the button labelled label in the top dialog, or
// nil.
func overlayButton(w fyne.Window, label string) *widget.Button {
	var found *widget.Button
	kvWalk(w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == label {
			found = b
		}
	})
	return found
}

// lastShown sets the preferences of a window that showed the shared store
// at u last.
func lastShown(u string) func(fyne.Preferences) {
	return func(p fyne.Preferences) {
		p.SetString(prefSharedStoreURL, u)
		p.SetString(prefLastStore, lastShared)
	}
}

// deadStore is a shared store whose server cannot be reached.
const deadStore = "postgres://admin@127.0.0.1:1/keydesk?sslmode=disable&connect_timeout=2"

// A window started without naming a store tries the shared store it showed
// last; when that fails it says why in one sentence and offers the local
// data folder, which then opens (and becomes the store shown last).
func TestLastSharedStoreFailingOffersTheLocalFolder(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	kr := workspace.NewMemoryKeyring()
	wt := startTestWindow(t, workspace.Options{Keyring: kr}, lastShown(deadStore))
	if !wt.overlayHas("cannot be reached") {
		t.Fatalf("dialog %q, want the unreachable server's sentence", overlayTexts(wt.w))
	}
	local := overlayButton(wt.w, "Open the local data folder")
	if local == nil || overlayButton(wt.w, "Quit") == nil {
		t.Fatalf("the dialog offers no local data folder: %q", overlayTexts(wt.w))
	}
	wt.tap(local)
	b := wt.screens()
	if b.Kind() != workspace.KindFolder {
		t.Fatalf("opened %+v, want the local data folder", b)
	}
	want, _ := workspace.DefaultDir()
	if b.Dir() != want {
		t.Fatalf("opened %s, want the default data folder %s", b.Dir(), want)
	}
	if wt.quits != 0 {
		t.Fatal("the window quit")
	}
	if got := wt.env.prefs.lastSharedURL(); got != "" {
		t.Fatalf("after showing the data folder the window would reopen %q", got)
	}
	if err := wt.s.finish(); err != nil {
		t.Fatalf("finish: %v", err)
	}
}

// A store named on the command line (here --data) wins over the shared
// store shown last.
func TestChosenStoreWinsOverTheLastShared(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	wt := startTestWindow(t, workspace.Options{Dir: dir, Keyring: workspace.NewMemoryKeyring()}, lastShown(deadStore))
	if b := wt.screens(); b.Dir() != dir {
		t.Fatalf("opened %q, want %q", b.Dir(), dir)
	}
	for _, o := range []workspace.Options{{Dir: "d"}, {StoreURL: "u"}, {Demo: true}, {KeyFile: true}} {
		if !chosen(o) {
			t.Errorf("%+v names no store", o)
		}
	}
	if chosen(workspace.Options{CatalogFile: "c", Keyring: workspace.NewMemoryKeyring()}) {
		t.Error("a catalog alone names a store")
	}
}

// A store URL without a password gets the one kept in the keyring for it;
// a URL with its own password, or one with nothing kept (PGPASSWORD and
// ~/.pgpass then apply), stays as it is, as without a keyring.
func TestWithSavedPassword(t *testing.T) {
	kr := workspace.NewMemoryKeyring()
	sw := &storeSwitcher{keyring: kr}
	const withUser = "postgres://admin@db.example:5432/keydesk?sslmode=verify-full"
	const noUser = "postgres://db.example/keydesk"
	for _, u := range []string{withUser, noUser} {
		if err := kr.Set(storePasswordEntry(u), "kept-secret"); err != nil {
			t.Fatal(err)
		}
		got := sw.withSavedPassword(u)
		clean, pw, err := splitPassword(got)
		if err != nil || pw != "kept-secret" || clean != u {
			t.Errorf("withSavedPassword(%q) = %q: clean %q, password %q, %v", u, got, clean, pw, err)
		}
	}
	if got := sw.withSavedPassword(noUser); strings.Contains(got, "admin") || strings.Contains(got, "postgres@") {
		t.Errorf("a URL without a user got one: %q", got)
	}
	own := "postgres://admin:own@db.example:5432/keydesk?sslmode=verify-full"
	if got := sw.withSavedPassword(own); got != own {
		t.Errorf("a URL with its own password became %q", got)
	}
	other := "postgres://admin@other.example/keydesk"
	if got := sw.withSavedPassword(other); got != other {
		t.Errorf("a URL with nothing kept became %q", got)
	}
	if got := (&storeSwitcher{keyring: noKeyring{}}).withSavedPassword(withUser); got != withUser {
		t.Errorf("without a keyring the URL became %q", got)
	}
}

// A store named on the command line that does not open is one sentence
// whose dismissal quits: no local folder is offered in its place.
func TestChosenSharedStoreFailingQuits(t *testing.T) {
	wt := startTestWindow(t, workspace.Options{StoreURL: deadStore, Keyring: workspace.NewMemoryKeyring()}, lastShown(deadStore))
	if !wt.overlayHas("cannot be reached") || overlayButton(wt.w, "Open the local data folder") != nil || wt.s.choice != nil {
		t.Fatalf("dialog %q", overlayTexts(wt.w))
	}
	wt.tap(overlayButton(wt.w, "OK"))
	if wt.quits != 1 {
		t.Fatalf("dismissing the error quit %d times, want once", wt.quits)
	}
}
