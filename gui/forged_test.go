package gui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/workspace"
)

// fakeSignatures stands for the data folder's background check of its
// record signatures. It answers only once the session has shown its
// screens: a window whose first paint waited for the check would never
// show them, and the test would hang instead of passing.
type fakeSignatures struct {
	s      *session
	result error
	asked  bool // set once the window waited for the check
	shown  bool // the screens were shown when it asked
}

func (f *fakeSignatures) WaitSignatureCheck() error {
	f.asked = true
	<-f.s.shown
	f.shown = true
	return f.result
}

// openWithCheck opens the demo data folder in a session whose signature
// check answers result, and returns the window once every background
// job, the check included, is done.
func openWithCheck(t *testing.T, result error) (fyne.Window, *keysView, *fakeSignatures) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(theme.DefaultTheme())
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(1280, 800))
	env := newAppEnv(a, w)
	bg := &testRunner{}
	env.bg = bg
	fake := &fakeSignatures{result: result}
	s := newSession(w, env, func() (*workspace.Workspace, error) { return workspace.Open(workspace.Options{Demo: true}) })
	s.signatures = fake
	fake.s = s
	s.start()
	bg.wait()
	<-s.shown
	t.Cleanup(func() {
		if err := s.finish(); err != nil {
			t.Errorf("finish: %v", err)
		}
	})
	var keys *keysView
	kvWalk(w.Content(), func(o fyne.CanvasObject) {
		if k, ok := o.(*keysView); ok {
			keys = k
		}
	})
	if keys == nil {
		t.Fatal("the keys screen is not shown")
	}
	if !fake.asked || !fake.shown {
		t.Fatalf("signature check asked %v, answered after the screens were shown %v; want both", fake.asked, fake.shown)
	}
	return w, keys, fake
}

// banners returns the texts of the banners the window shows.
func banners(w fyne.Window) []string {
	var out []string
	kvWalk(w.Content(), func(o fyne.CanvasObject) {
		if b, ok := o.(*widgets.Banner); ok {
			out = append(out, b.Text())
		}
	})
	return out
}

// actionButtons returns the row-action buttons of the table's laid-out
// rows and the details panel's buttons.
func actionButtons(v *keysView) []fyne.Disableable {
	var out []fyne.Disableable
	kvWalk(v.table, func(o fyne.CanvasObject) {
		if c, ok := o.(*keyCell); ok && c.row != nil && c.actions.Visible() {
			out = append(out, c.edit, c.dup, c.roll, c.del)
		}
	})
	if d := v.details; d != nil {
		out = append(out, d.edit, d.dup, d.roll, d.del)
	}
	return out
}

// TestForgedDataFolderShowsBannerAndRefusesChanges: the data folder's
// background signature check finds a forged record after the window has
// shown its keys. The window says so in one sentence in a banner above the
// tabs, and creating, editing, duplicating, rolling and deleting are off:
// the buttons (toolbar, rows, details panel, File menu) are disabled, and
// the dialogs do not open by shortcut either.
func TestForgedDataFolderShowsBannerAndRefusesChanges(t *testing.T) {
	forged := fmt.Errorf("check record signatures: %w (the signature of key %q does not match it)", workspace.ErrTampered, "k1")
	w, v, _ := openWithCheck(t, forged)

	if got := banners(w); len(got) != 1 || got[0] != forgedBanner {
		t.Fatalf("banners = %q, want the forged-folder sentence", got)
	}
	// Above the tabs: the banner's bottom edge is at or above the tabs' top.
	tabs, ok := mainTabs(w.Content())
	if !ok {
		t.Fatal("the screens' tabs are gone")
	}
	var banner *widgets.Banner
	kvWalk(w.Content(), func(o fyne.CanvasObject) {
		if b, ok := o.(*widgets.Banner); ok {
			banner = b
		}
	})
	drv := fyne.CurrentApp().Driver()
	if by, ty := drv.AbsolutePositionForObject(banner).Y+banner.Size().Height, drv.AbsolutePositionForObject(tabs).Y; by > ty || banner.Size().Height == 0 {
		t.Fatalf("banner ends at y=%.0f (height %.0f), tabs start at y=%.0f: want the banner above the tabs", by, banner.Size().Height, ty)
	}

	if !v.create.Disabled() {
		t.Error("Create API Key is still enabled")
	}
	if len(v.model.shown) == 0 {
		t.Fatal("the demo keys are not listed")
	}
	v.showDetails(v.model.shown[0])
	buttons := actionButtons(v)
	if len(buttons) < 8 {
		t.Fatalf("found %d action buttons, want the rows' and the details panel's", len(buttons))
	}
	for i, b := range buttons {
		if !b.Disabled() {
			t.Errorf("action button %d is still enabled", i)
		}
	}
	var newItem *fyne.MenuItem
	for _, it := range w.MainMenu().Items[0].Items {
		if strings.HasPrefix(it.Label, "New API Key") {
			newItem = it
		}
	}
	if newItem == nil || !newItem.Disabled {
		t.Error("File → New API Key… is still enabled")
	}
	// Restore stays as it was: the banner sends the user there. (The
	// window here shows the demo standing in for a data folder, where
	// Restore… is off with its reason from the start.)
	restore := false
	for _, it := range w.MainMenu().Items[0].Items {
		if strings.HasPrefix(it.Label, "Restore") {
			restore = !it.Disabled || it.Label == workspace.DemoNoRestore
		}
	}
	if !restore {
		t.Error("File > Restore…, where the banner sends the user, is missing or disabled")
	}

	r := v.model.shown[0]
	if d := v.openCreate(nil); d != nil {
		t.Error("Ctrl+N opened the create dialog")
	}
	if v.editKey(r) != nil || v.duplicateKey(r) != nil || v.openRoll(r) != nil || v.confirmDelete(r) != nil {
		t.Error("a change dialog opened")
	}
	v.selected = r.key.ID
	v.deleteSelected()
	if top := w.Canvas().Overlays().Top(); top != nil {
		t.Errorf("a dialog is open (%T) after Delete", top)
	}
}

// TestOlderDataFileShowsBanner: the window opens the data folder before
// checking it against its signed state; when that check finds the file
// older than the last change (or records put back by hand), the window
// shows the banner and refuses changes as for a forged record.
func TestOlderDataFileShowsBanner(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("check the data folder: seal store: %w (generation 1, keyring 2)", workspace.ErrRolledBack),
		fmt.Errorf("check the data folder: seal store: %w: the expiry index does not match the key records", workspace.ErrCorrupt),
	} {
		w, v, _ := openWithCheck(t, err)
		if got := banners(w); len(got) != 1 || got[0] != forgedBanner {
			t.Errorf("%v: banners = %q, want the forged-folder sentence", err, got)
		}
		if !v.create.Disabled() {
			t.Errorf("%v: Create API Key is still enabled", err)
		}
	}
}

// TestSignaturesMatchShowNoBanner: when the check passes, the window shows
// no banner and every change stays possible.
func TestSignaturesMatchShowNoBanner(t *testing.T) {
	w, v, _ := openWithCheck(t, nil)
	if got := banners(w); len(got) != 0 {
		t.Fatalf("banners = %q, want none", got)
	}
	if v.create.Disabled() {
		t.Error("Create API Key is disabled")
	}
	for i, b := range actionButtons(v) {
		if c, ok := b.(*widgets.TipButton); ok && c.Tip == "Delete this key" && b.Disabled() {
			t.Errorf("delete button %d is disabled", i)
		}
	}
	if d := v.openCreate(nil); d == nil {
		t.Error("the create dialog did not open")
	} else {
		d.dlg.Hide()
	}
}

// TestGoldenForgedBanner: the banner above the tabs at the smallest
// window, its sentence wrapped, the row actions and Create disabled.
func TestGoldenForgedBanner(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newKVFixture(t, v.variant, kvDemo, minWindowWidth, minWindowHeight)
			f.ui.refuseChanges()
			test.AssertImageMatches(t, "forged_banner_"+v.name+".png", f.win.Canvas().Capture())
		})
	}
}
