package widgets

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// MonoField shows text in a monospace, selectable, read-only field.
type MonoField struct {
	widget.BaseWidget
	label *widget.Label
}

// NewMonoField returns a field showing text.
func NewMonoField(text string) *MonoField {
	f := &MonoField{label: widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})}
	f.label.Selectable = true
	f.ExtendBaseWidget(f)
	return f
}

// Label returns the label inside the field.
func (f *MonoField) Label() *widget.Label { return f.label }

// CreateRenderer returns the field's renderer.
func (f *MonoField) CreateRenderer() fyne.WidgetRenderer {
	bg := canvas.NewRectangle(color.Transparent)
	r := &monoFieldRenderer{f: f, bg: bg, box: container.NewStack(bg, f.label)}
	r.Refresh()
	return r
}

type monoFieldRenderer struct {
	f   *MonoField
	bg  *canvas.Rectangle
	box *fyne.Container
}

func (r *monoFieldRenderer) Layout(s fyne.Size)           { r.box.Resize(s) }
func (r *monoFieldRenderer) MinSize() fyne.Size           { return r.box.MinSize() }
func (r *monoFieldRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.box} }
func (r *monoFieldRenderer) Destroy()                     {}
func (r *monoFieldRenderer) Refresh() {
	th := r.f.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.bg.FillColor = th.Color(theme.ColorNameInputBackground, v)
	r.bg.StrokeColor = th.Color(theme.ColorNameInputBorder, v)
	r.bg.StrokeWidth = th.Size(theme.SizeNameInputBorder)
	r.bg.CornerRadius = th.Size(theme.SizeNameInputRadius)
	r.bg.Refresh()
	r.f.label.Refresh()
}
