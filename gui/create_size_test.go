package gui

import (
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// TestCreateFitsTheSmallestWindow: at 800×500, the create dialog's minimum
// size fits the window whatever is chosen (it was 934 wide: the tabs' bar
// alone took 677 px), so opening it does not grow the window.
func TestCreateFitsTheSmallestWindow(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, minWindowWidth, minWindowHeight)
	d := f.openCreate()
	win := f.win.Canvas().Size()
	check := func(what string) {
		t.Helper()
		if m := d.dlg.MinSize(); m.Width > win.Width || m.Height > win.Height {
			t.Errorf("%s: the dialog needs %v, the window is %v", what, m, win)
		}
	}
	check("opened")
	test.Tap(d.global)
	check("Global ticked")
	d.chooseKind(tabSections)
	d.sections[0].radio.SetSelected(accessFull)
	check("a section chosen")
	d.chooseKind(tabOperations)
	test.Tap(d.groups[0].ops[0].check)
	check("an operation picked")
	test.Tap(d.customBtn)
	check("Custom… chosen")
	if s := f.win.Canvas().Size(); s != win {
		t.Errorf("the window grew from %v to %v", win, s)
	}
}
