package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// deleteGoneKey asks to delete the key name, has it deleted behind the
// dialog's back (another admin, another window), then confirms: the
// deletion fails and its error dialog is returned.
func (f *kvFixture) deleteGoneKey(name string) *errorDialog {
	f.t.Helper()
	k := f.key(name)
	f.keys.confirmDelete(f.keys.model.find(k.ID))
	if _, err := f.svc.Delete(k.ID); err != nil {
		f.t.Fatal(err)
	}
	var got *errorDialog
	f.keys.onError = func(d *errorDialog) { got = d }
	test.Tap(f.overlayButton("Delete"))
	if got == nil {
		f.t.Fatal("deleting a key that is gone showed no error")
	}
	return got
}

// TestErrorDialogPlainWordsAndDetails: a failed operation says what failed
// in plain words; the technical error is behind a closed Details
// disclosure; Esc closes the dialog.
func TestErrorDialogPlainWordsAndDetails(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1280, 800)
	k := f.key("Billing export")
	d := f.deleteGoneKey("Billing export")
	if !strings.HasPrefix(d.plain.Text, "The key was not deleted") || strings.Contains(d.plain.Text, k.ID) {
		t.Errorf("plain words: %q", d.plain.Text)
	}
	if d.technical.Visible() {
		t.Error("the Details disclosure starts open")
	}
	closed := d.dlg.MinSize().Height
	test.Tap(d.details)
	if !d.technical.Visible() || d.dlg.MinSize().Height <= closed {
		t.Error("Details does not show the technical error")
	}
	if tech := d.technical.Text; tech == "" || tech == d.plain.Text {
		t.Errorf("technical detail %q", tech)
	}
	f.win.Canvas().Unfocus()
	f.pressEsc()
	if f.win.Canvas().Overlays().Top() != nil {
		t.Error("Esc does not close the error dialog")
	}
}

// TestGoldenErrorDialogDetails: the error dialog with its Details open.
func TestGoldenErrorDialogDetails(t *testing.T) {
	goldenAtBothSizes(t, "error_details", func(t *testing.T, f *kvFixture) {
		d := f.deleteGoneKey("Billing export")
		test.Tap(d.details)
		f.win.Canvas().Unfocus()
	})
}
