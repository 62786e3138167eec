package gui

import (
	"path/filepath"
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/workspace"
)

// The demo says so in the title and in a banner, and has a way out: its
// banner opens the data folder (and File → Local Data Folder is on), after
// which the title and the banner are the data folder's.
func TestDemoIsMarkedWithAWayOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	wt := startTestWindow(t, workspace.Options{Dir: dir, Demo: true, Keyring: workspace.NewMemoryKeyring()}, nil)
	if b := wt.screens(); b.Kind() != workspace.KindDemo {
		t.Fatalf("kind %v, want the demo", b.Kind())
	}
	if got := wt.w.Title(); got != workspace.DemoTitle {
		t.Errorf("title %q, want %q", got, workspace.DemoTitle)
	}
	if got := banners(wt.w); !slices.Contains(got, workspace.DemoNotice) {
		t.Errorf("banners %q, want the demo notice", got)
	}
	if it := menuItem(wt.w, "Local Data Folder"); it == nil || it.Disabled {
		t.Errorf("File → Local Data Folder in the demo: %+v, want it on", it)
	}
	ui := wt.demoUI()
	if ui.demoShared.OnTapped == nil {
		t.Error("the banner offers no shared store")
	}
	wt.tap(ui.demoFolder)
	if b := wt.screens(); b.Kind() != workspace.KindFolder || b.Dir() != dir {
		t.Fatalf("the banner's way out opened %v at %q, want the data folder %q", b.Kind(), b.Dir(), dir)
	}
	if got := wt.w.Title(); got != windowTitle {
		t.Errorf("title after leaving the demo %q, want %q", got, windowTitle)
	}
	if got := banners(wt.w); slices.Contains(got, workspace.DemoNotice) {
		t.Errorf("the data folder still shows the demo banner: %q", got)
	}
}

// demoUI returns the demo banner's buttons shown in the window.
func (wt *windowTest) demoUI() *mainUI {
	wt.t.Helper()
	ui := &mainUI{}
	kvWalk(wt.w.Content(), func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok {
			switch b.Text {
			case "Open a Data Folder":
				ui.demoFolder = b
			case "Open a Shared Store…":
				ui.demoShared = b
			}
		}
	})
	if ui.demoFolder == nil || ui.demoShared == nil {
		wt.t.Fatal("the demo banner has no way out")
	}
	return ui
}

// A key created in the demo says in its secret dialog that nothing is
// saved.
func TestDemoSecretDialogSaysNothingIsSaved(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	f.ui.markDemo(f.env, func() {}, func() {})
	f.createGlobal("Demo key")
	if !f.overlayText(workspace.DemoNotice) {
		t.Error("the demo's secret dialog does not say nothing is saved")
	}
	test.Tap(f.keys.secret.copyBtn)
	test.Tap(f.keys.secret.done)

	g := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	g.createGlobal("Real key")
	if g.overlayText(workspace.DemoNotice) {
		t.Error("a data folder's secret dialog says it is the demo")
	}
}

// File → Restore… is off in the demo and says why in its label, before any
// file or passphrase is asked for; a data folder has it on.
func TestDemoRestoreIsOffWithTheReason(t *testing.T) {
	wt := startTestWindow(t, workspace.Options{Demo: true, Keyring: workspace.NewMemoryKeyring()}, nil)
	wt.screens()
	if it := menuItem(wt.w, "Restore…"); it != nil {
		t.Fatalf("the demo offers Restore… (%+v)", it)
	}
	if it := menuItem(wt.w, workspace.DemoNoRestore); it == nil || !it.Disabled {
		t.Fatalf("the demo's Restore item: %+v, want it off with the reason", it)
	}
	dir := filepath.Join(t.TempDir(), "data")
	wt = startTestWindow(t, workspace.Options{Dir: dir, Keyring: workspace.NewMemoryKeyring()}, nil)
	wt.screens()
	if it := menuItem(wt.w, "Restore…"); it == nil || it.Disabled {
		t.Fatalf("a data folder's Restore…: %+v, want it on", it)
	}
}
