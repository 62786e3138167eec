package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// TestEscInSearchClearsThenClosesDetails types Esc into the keys search box
// as a user does with the cursor there: the first Esc clears the search
// (the panel stays open, every key shows again), the next closes the
// details panel, and one more with neither does nothing harmful.
func TestEscInSearchClearsThenClosesDetails(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1280, 800)
	all := len(f.keys.model.shown)
	f.clickRow("Billing export", colName)
	if !f.keys.panelSlot.Visible() {
		t.Fatal("a click on the row did not open the details panel")
	}
	f.win.Canvas().Focus(f.keys.search)
	test.Type(f.keys.search, "billing")
	if n := len(f.keys.model.shown); n != 1 {
		t.Fatalf("search shows %d rows, want 1", n)
	}

	esc := &fyne.KeyEvent{Name: fyne.KeyEscape}
	f.win.Canvas().Focused().TypedKey(esc)
	if f.keys.search.Text != "" {
		t.Fatalf("after Esc the search box holds %q, want it cleared", f.keys.search.Text)
	}
	if n := len(f.keys.model.shown); n != all {
		t.Fatalf("after Esc %d rows shown, want all %d", n, all)
	}
	if !f.keys.panelSlot.Visible() || f.keys.details == nil {
		t.Fatal("the first Esc closed the details panel; it should only clear the search")
	}

	f.win.Canvas().Focused().TypedKey(esc)
	if f.keys.panelSlot.Visible() || f.keys.details != nil {
		t.Fatal("Esc in the empty search box left the details panel open")
	}
	if f.win.Canvas().Focused() != f.keys.search {
		t.Fatal("the search box lost the focus")
	}

	// Nothing left to clear or close: Esc changes nothing.
	f.win.Canvas().Focused().TypedKey(esc)
	if f.keys.search.Text != "" || f.keys.panelSlot.Visible() || len(f.keys.model.shown) != all {
		t.Fatal("a third Esc changed the screen")
	}
}
