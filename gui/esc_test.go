package gui

import (
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// Esc closes the Roll dialog and the Delete confirmation, and in the
// secret dialog asks "Close without copying?" as Done does: Esc on the
// question goes back to the key, and once copied Esc closes.
func TestEscInRollDeleteAndSecret(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)

	f.keys.openRoll(f.cell("CRM sync (production)", colName).row)
	f.pressEsc()
	if top := f.win.Canvas().Overlays().Top(); top != nil {
		t.Fatal("Esc did not close the Roll dialog")
	}

	f.keys.confirmDelete(f.cell("CRM sync (production)", colName).row)
	f.pressEsc()
	if top := f.win.Canvas().Overlays().Top(); top != nil {
		t.Fatal("Esc did not close the Delete confirmation")
	}
	if f.key("CRM sync (production)") == nil {
		t.Fatal("Esc on the Delete confirmation deleted the key")
	}

	s := f.createGlobal("Escaped")
	f.pressEsc()
	if !f.overlayText("You have not copied the key") {
		t.Fatal("Esc in the secret dialog did not ask before closing without copying")
	}
	f.pressEsc()
	if f.overlayText("You have not copied the key") || !f.overlayText("Copy the key now") {
		t.Fatal("Esc on the question did not go back to the key")
	}
	test.Tap(s.copyBtn)
	f.pressEsc()
	if top := f.win.Canvas().Overlays().Top(); top != nil {
		t.Fatal("Esc did not close the secret dialog once the key was copied")
	}
	if len(f.env.escapes) != 0 {
		t.Fatalf("%d Esc actions left after every dialog closed", len(f.env.escapes))
	}
}
