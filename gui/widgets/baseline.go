package widgets

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// BaselineShift is how far below the top of its label a text in style
// must start so that its baseline lines up with the regular text of a
// label beside it. Labels draw their text from the top, and the monospace
// font's ascent is smaller than the regular one's, so a monospace label's
// text sits higher than its neighbours' without the shift.
func BaselineShift(style fyne.TextStyle, size float32) float32 {
	if style == (fyne.TextStyle{}) {
		return 0
	}
	d := fyne.CurrentApp().Driver()
	_, regular := d.RenderedTextSize("Ag", size, fyne.TextStyle{}, nil)
	_, own := d.RenderedTextSize("Ag", size, style, nil)
	return max(0, regular-own)
}

// BaselineLayout places a label (its only object) lower by BaselineShift
// of its text style, so that it shares the baseline of regular labels laid
// out beside it.
type BaselineLayout struct{}

func (BaselineLayout) shift(objs []fyne.CanvasObject) float32 {
	if len(objs) == 0 {
		return 0
	}
	var l *widget.Label
	switch x := objs[0].(type) {
	case *widget.Label:
		l = x
	case *TipLabel:
		l = &x.Label
	default:
		return 0
	}
	size := l.Theme().Size(theme.SizeNameText)
	if l.SizeName != "" {
		size = l.Theme().Size(l.SizeName)
	}
	return BaselineShift(l.TextStyle, size)
}

// Layout moves the label down by its shift.
func (b BaselineLayout) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	dy := b.shift(objs)
	for _, o := range objs {
		o.Move(fyne.NewPos(0, dy))
		o.Resize(fyne.NewSize(s.Width, max(0, s.Height-dy)))
	}
}

// MinSize is the label's, with room for the shift.
func (b BaselineLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var m fyne.Size
	for _, o := range objs {
		m = m.Max(o.MinSize())
	}
	return m.AddWidthHeight(0, b.shift(objs))
}

// NewBaselineBox returns l in a container that lines its text up with
// regular labels beside it (see BaselineLayout).
func NewBaselineBox(l fyne.CanvasObject) *fyne.Container {
	return container.New(BaselineLayout{}, l)
}
