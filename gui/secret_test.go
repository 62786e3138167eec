package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

func TestSecretDialogCopyClearsClipboardAfter60s(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	d := f.openCreate()
	test.Type(d.name, "Clipboard test")
	test.Tap(d.global)
	test.Tap(d.create)
	s := f.keys.secret
	secret := s.field.label.Text
	if !s.field.label.TextStyle.Monospace || !s.field.label.Selectable {
		t.Error("the key is not in a selectable monospace field")
	}
	test.Tap(s.copyBtn)
	if got := f.app.Clipboard().Content(); got != secret {
		t.Fatal("Copy did not put the key on the clipboard")
	}
	if !strings.Contains(s.status.Text, "60 seconds") {
		t.Errorf("copy status %q", s.status.Text)
	}
	f.timer.elapse(clipboardClearAfter - 1)
	if f.app.Clipboard().Content() != secret {
		t.Fatal("the clipboard was cleared before 60 seconds")
	}
	f.timer.elapse(clipboardClearAfter)
	if f.app.Clipboard().Content() != "" {
		t.Fatal("the clipboard still holds the key after 60 seconds")
	}

	// Something else copied meanwhile is left alone.
	test.Tap(s.copyBtn)
	f.app.Clipboard().SetContent("something else")
	f.timer.elapse(clipboardClearAfter)
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
	d := f.openCreate()
	test.Type(d.name, "Not copied")
	test.Tap(d.global)
	test.Tap(d.create)
	s := f.keys.secret
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
