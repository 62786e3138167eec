package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// absRect is o's rectangle on the canvas.
func absRect(o fyne.CanvasObject) (fyne.Position, fyne.Position) {
	p := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
	return p, p.Add(o.Size())
}

// TestTabInCreateKeepsTheFocusInView: at the smallest window, Tab walks
// every control of the create dialog in reading order (the name, the
// expiry presets, the three permission types, the sections or operations,
// then Cancel and Create API Key) and the list scrolls to keep the focused
// control in view.
func TestTabInCreateKeepsTheFocusInView(t *testing.T) {
	for _, kind := range []int{tabSections, tabOperations} {
		f := newKVFixture(t, theme.VariantLight, kvDemo, minWindowWidth, minWindowHeight)
		d := f.openCreate()
		d.chooseKind(kind)
		c := f.win.Canvas()
		all := focusables(c.Overlays().Top())
		shown := map[fyne.CanvasObject]bool{}
		kvWalk(c.Overlays().Top(), func(o fyne.CanvasObject) { shown[o] = true })
		want := map[fyne.Focusable]bool{}
		for _, w := range all {
			want[w] = true
		}
		var order []fyne.Focusable
		seen := map[fyne.Focusable]bool{}
		for range 2 * len(all) {
			w := c.Focused()
			if w == nil || seen[w] {
				break
			}
			seen[w] = true
			order = append(order, w)
			// In view: inside the window, and inside the list's visible
			// part when it is in a list.
			lo, hi := absRect(w.(fyne.CanvasObject))
			if lo.X < 0 || lo.Y < 0 || hi.X > c.Size().Width+0.5 || hi.Y > c.Size().Height+0.5 {
				t.Errorf("focus on %T at %v–%v, outside the %v window", w, lo, hi, c.Size())
			}
			for _, s := range d.scrolls {
				if !shown[s] {
					continue // a list of another type
				}
				in := false
				kvWalk(s.Content, func(o fyne.CanvasObject) { in = in || o == w.(fyne.CanvasObject) })
				if !in {
					continue // not in this list
				}
				slo, shi := absRect(s)
				if lo.Y < slo.Y-0.5 || hi.Y > shi.Y+0.5 {
					t.Errorf("focus on %T at y %v–%v, out of the list's view (y %v–%v)", w, lo.Y, hi.Y, slo.Y, shi.Y)
				}
			}
			c.FocusNext()
		}
		for w := range want {
			if !seen[w] {
				t.Errorf("Tab never reaches %T %+v", w, w)
			}
		}
		if len(order) < 3 || order[0] != fyne.Focusable(d.name) {
			t.Fatalf("Tab order does not start at the name: %v", order)
		}
		// Reading order: the name, the presets, the types, the lists,
		// the buttons.
		index := func(o fyne.Focusable) int {
			for i, w := range order {
				if w == o {
					return i
				}
			}
			return -1
		}
		kinds := d.kind.Items()
		if !(index(d.presets[0]) < index(kinds[0]) && index(kinds[0]) < index(kinds[1]) && index(kinds[1]) < index(kinds[2])) {
			t.Errorf("the permission types are not reached after the expiry, in order")
		}
		var first fyne.Focusable
		if kind == tabSections {
			first = d.sections[0].radio.Items()[0]
		} else {
			first = d.opSearch
		}
		if index(first) < index(kinds[2]) || index(d.cancel) < index(first) || (!d.create.Disabled() && index(d.create) != len(order)-1) {
			t.Errorf("the list (%d), Cancel (%d) and Create API Key (%d) are not reached in reading order after the types (%d)",
				index(first), index(d.cancel), index(d.create), index(kinds[2]))
		}
		d.dlg.Hide()
	}
}
