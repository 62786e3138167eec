package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/gui/internal/guitest"
	"github.com/keydesk/keydesk/gui/widgets"
)

// walkObjects calls fn on o and everything under it.
func walkObjects(t *testing.T, o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	fn(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walkObjects(t, c, fn)
		}
	case fyne.Widget:
		for _, c := range test.TempWidgetRenderer(t, x).Objects() {
			walkObjects(t, c, fn)
		}
	}
}

// TestOpenSharedStorePasswordFits: at the smallest window, the Open Shared
// Store password field's placeholder and the hint under it fit the field's
// width (the placeholder overflowed it).
func TestOpenSharedStorePasswordFits(t *testing.T) {
	guitest.App(t, theme.VariantLight)
	win := guitest.Window(t, widget.NewLabel(""), minWindowWidth, minWindowHeight)
	sw := &storeSwitcher{}
	sw.showOpenDialog(&uiEnv{win: win})
	var pw *widget.Entry
	var hint *canvas.Text
	for _, o := range win.Canvas().Overlays().List() {
		walkObjects(t, o, func(o fyne.CanvasObject) {
			switch x := o.(type) {
			case *widgets.EscEntry:
				if x.Password {
					pw = &x.Entry
				}
			case *canvas.Text:
				if x.Text == sharedPasswordHint {
					hint = x
				}
			}
		})
	}
	if pw == nil || hint == nil {
		t.Fatalf("no password field (%v) or hint (%v) in the dialog", pw, hint)
	}
	th := pw.Theme()
	room := pw.Size().Width - 2*th.Size(theme.SizeNameInnerPadding)
	if w := fyne.MeasureText(pw.PlaceHolder, th.Size(theme.SizeNameText), fyne.TextStyle{}).Width; w > room {
		t.Errorf("placeholder %q needs %v, the field has %v", pw.PlaceHolder, w, room)
	}
	if w := hint.MinSize().Width; w > pw.Size().Width {
		t.Errorf("hint %q needs %v, the field has %v", hint.Text, w, pw.Size().Width)
	}
}
