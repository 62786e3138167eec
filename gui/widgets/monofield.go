package widgets

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// MonoField shows text in a monospace, read-only field. Its text is not
// selectable: a selectable label takes the focus and keeps Esc to itself,
// so a dialog showing one could not close on Esc; and the secret dialog's
// Copy, which takes the key off the clipboard after 60 seconds, is then
// the only way to copy it.
type MonoField struct {
	widget.BaseWidget
	label *widget.Label
}

// NewMonoField returns a field showing text.
func NewMonoField(text string) *MonoField {
	f := &MonoField{label: widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})}
	f.ExtendBaseWidget(f)
	return f
}

// Label returns the label inside the field.
func (f *MonoField) Label() *widget.Label { return f.label }

// CreateRenderer returns the field's renderer: the label over the theme's
// input background and border.
func (f *MonoField) CreateRenderer() fyne.WidgetRenderer {
	return newFramedRenderer(f, f.label, func(bg *canvas.Rectangle, th fyne.Theme, v fyne.ThemeVariant) {
		bg.FillColor = th.Color(theme.ColorNameInputBackground, v)
		bg.StrokeColor = th.Color(theme.ColorNameInputBorder, v)
		bg.StrokeWidth = th.Size(theme.SizeNameInputBorder)
		bg.CornerRadius = th.Size(theme.SizeNameInputRadius)
	})
}
