package gui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

func TestSecretDialogCopyClearsClipboardAfter60s(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	s := f.createGlobal("Clipboard test")
	secret := s.field.Label().Text
	// Not selectable: a copy goes through Copy, which takes it off the
	// clipboard after 60 s (and a selectable label would keep Esc).
	if !s.field.Label().TextStyle.Monospace || s.field.Label().Selectable {
		t.Error("the key is not in a monospace field copied only with Copy")
	}
	test.Tap(s.copyBtn)
	if got := f.app.Clipboard().Content(); got != secret {
		t.Fatal("Copy did not put the key on the clipboard")
	}
	if !strings.Contains(s.status.Text, "60 seconds") {
		t.Errorf("copy status %q", s.status.Text)
	}
	f.bg.elapse(clipboardClearAfter - 1)
	if f.app.Clipboard().Content() != secret {
		t.Fatal("the clipboard was cleared before 60 seconds")
	}
	f.bg.elapse(clipboardClearAfter)
	if f.app.Clipboard().Content() != "" {
		t.Fatal("the clipboard still holds the key after 60 seconds")
	}

	// Something else copied meanwhile is left alone.
	test.Tap(s.copyBtn)
	f.app.Clipboard().SetContent("something else")
	f.bg.elapse(clipboardClearAfter)
	if f.app.Clipboard().Content() != "something else" {
		t.Error("clearing erased what the user copied afterwards")
	}
	test.Tap(s.done)
	if f.keys.secret != nil {
		t.Error("Done after Copy asks for confirmation")
	}
}

func TestSecretDialogCloseWithoutCopyAsks(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	s := f.createGlobal("Not copied")
	test.Tap(s.done)
	if s.confirm == nil || !f.overlayText("You have not copied the key") {
		t.Fatal("closing without copying does not ask")
	}
	test.Tap(f.overlayButton("Go back"))
	if f.keys.secret != s || !f.overlayText("this is the only time") {
		t.Fatal("Go back closed the secret dialog")
	}
	test.Tap(s.done)
	test.Tap(f.overlayButton("Close without copying"))
	if f.keys.secret != nil || f.win.Canvas().Overlays().Top() != nil {
		t.Fatal("confirmed close left the secret dialog open")
	}
	if f.app.Clipboard().Content() != "" {
		t.Error("the clipboard was touched without Copy")
	}
}

// createGlobal creates a Global key named name through the create dialog
// and returns the secret dialog that shows it.
func (f *kvFixture) createGlobal(name string) *secretDialog {
	f.t.Helper()
	d := f.openCreate()
	test.Type(d.name, name)
	test.Tap(d.global)
	test.Tap(d.create)
	if f.keys.secret == nil {
		f.t.Fatal("no secret dialog")
	}
	return f.keys.secret
}

// copyNewSecret creates a key, copies its secret and returns the secret.
func (f *kvFixture) copyNewSecret(name string) string {
	f.t.Helper()
	s := f.createGlobal(name)
	test.Tap(s.copyBtn)
	if got := f.app.Clipboard().Content(); got != s.secret {
		f.t.Fatal("Copy did not put the key on the clipboard")
	}
	return s.secret
}

// quitItem returns the File ▸ Quit menu item.
func (f *kvFixture) quitItem() *fyne.MenuItem {
	f.t.Helper()
	for _, m := range f.ui.menu.Items {
		for _, it := range m.Items {
			if it.IsQuit {
				return it
			}
		}
	}
	f.t.Fatal("the menu has no Quit item")
	return nil
}

func TestSecretClipboardClearedOnQuit(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	f.copyNewSecret("Quit within a minute")
	quit := f.quitItem()
	if quit.Action == nil {
		t.Fatal("Quit leaves the key on the clipboard: it has no action of its own")
	}
	f.closed = true // by Quit
	quit.Action()
	if f.app.Clipboard().Content() != "" {
		t.Error("the clipboard still holds the key after Quit")
	}
	if slices.Contains(f.app.Driver().AllWindows(), f.win) {
		t.Error("Quit left the window open")
	}
}

func TestSecretClipboardClearedOnWindowClose(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	f.copyNewSecret("Closed within a minute")
	f.closeWindow()
	if f.app.Clipboard().Content() != "" {
		t.Error("the clipboard still holds the key after the window closed")
	}
}

func TestSecretClipboardQuitKeepsWhatWasCopiedAfter(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	f.copyNewSecret("Copied over")
	f.app.Clipboard().SetContent("something else")
	f.closeWindow()
	if got := f.app.Clipboard().Content(); got != "something else" {
		t.Errorf("closing erased what the user copied afterwards: clipboard = %q", got)
	}
}
