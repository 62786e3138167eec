package widgets

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
)

// themed is a widget whose theme its renderer reads (widget.BaseWidget's
// Theme).
type themed interface{ Theme() fyne.Theme }

// framedRenderer draws a widget's content over a rectangle that paint
// colours from the widget's theme on every refresh, so the frame follows a
// theme change: the renderer of MonoField, Banner and the tooltip bubble.
type framedRenderer struct {
	w     themed
	bg    *canvas.Rectangle
	box   *fyne.Container
	paint func(bg *canvas.Rectangle, th fyne.Theme, v fyne.ThemeVariant)
}

// newFramedRenderer returns the renderer of w showing content over a frame
// that paint colours, painted once already.
func newFramedRenderer(w themed, content fyne.CanvasObject, paint func(bg *canvas.Rectangle, th fyne.Theme, v fyne.ThemeVariant)) *framedRenderer {
	bg := canvas.NewRectangle(color.Transparent)
	r := &framedRenderer{w: w, bg: bg, box: container.NewStack(bg, content), paint: paint}
	r.Refresh()
	return r
}

func (r *framedRenderer) Layout(s fyne.Size)           { r.box.Resize(s) }
func (r *framedRenderer) MinSize() fyne.Size           { return r.box.MinSize() }
func (r *framedRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.box} }
func (r *framedRenderer) Destroy()                     {}

func (r *framedRenderer) Refresh() {
	r.paint(r.bg, r.w.Theme(), fyne.CurrentApp().Settings().ThemeVariant())
	r.box.Refresh()
}
