package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
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

// TestCreateLayoutDoesNotShiftWithTheSummary: the form and the summary
// keep their place and width whatever the summary says (nothing chosen, a
// long scope list, a long status line), at both window sizes.
func TestCreateLayoutDoesNotShiftWithTheSummary(t *testing.T) {
	for _, size := range [][2]float32{{1280, 800}, {minWindowWidth, minWindowHeight}} {
		f := newKVFixture(t, theme.VariantLight, kvDemo, size[0], size[1])
		d := f.openCreate()
		type place struct{ left, side, leftSize, sideSize fyne.Position }
		where := func() place {
			relayout(f.win.Canvas().Overlays().Top())
			l, _ := absRect(d.left)
			s, _ := absRect(d.sidePanel)
			// Sideways only: the x and the widths.
			return place{fyne.NewPos(l.X, 0), fyne.NewPos(s.X, 0), fyne.NewPos(d.left.Size().Width, 0), fyne.NewPos(d.sidePanel.Size().Width, 0)}
		}
		first := where()
		steps := []struct {
			what string
			do   func()
		}{
			{"a name typed", func() { test.Type(d.name, "Nightly export of every report to the data warehouse") }},
			{"Global ticked", func() { test.Tap(d.global) }},
			{"every section, full access", func() {
				d.chooseKind(tabSections)
				for _, s := range d.sections {
					s.radio.SetSelected(accessFull)
				}
			}},
			{"one section", func() {
				for _, s := range d.sections[1:] {
					s.radio.SetSelected(accessNone)
				}
			}},
			{"operations, none picked", func() { d.chooseKind(tabOperations) }},
			{"the operation with the longest scope picked", func() {
				var longest *widgets.EscCheck
				n := 0
				for _, g := range d.groups {
					for _, o := range g.ops {
						sc, _ := d.cat.Scopes(core.Permissions{Kind: core.KindOperations, Operations: []string{o.op.ID}})
						if len(sc) == 1 && len(sc[0]) > n {
							longest, n = o.check, len(sc[0])
						}
					}
				}
				test.Tap(longest)
			}},
			{"Custom…", func() { test.Tap(d.customBtn) }},
			{"the name cleared", func() { d.name.SetText("") }},
		}
		for _, s := range steps {
			s.do()
			if got := where(); got != first {
				t.Errorf("%v: after %s the form and summary moved: %+v, were %+v", size, s.what, got, first)
			}
		}
		d.dlg.Hide()
	}
}

// relayout lays o and everything under it out again, top down, as the
// driver does each frame for what changed size (the test canvas does not).
func relayout(o fyne.CanvasObject) {
	if o == nil || !o.Visible() {
		return
	}
	switch x := o.(type) {
	case *fyne.Container:
		if x.Layout != nil {
			x.Layout.Layout(x.Objects, x.Size())
		}
		for _, c := range x.Objects {
			relayout(c)
		}
	case fyne.Widget:
		r := test.WidgetRenderer(x)
		r.Layout(x.Size())
		for _, c := range r.Objects() {
			relayout(c)
		}
	}
}
