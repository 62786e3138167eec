package widgets

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// HeaderCell is a table column header: tapping it calls OnTap (a header
// without OnTap is not sortable); the column the table is sorted by shows an
// arrow. Embed it in a widget (and call ExtendBaseWidget) or use
// NewHeaderCell; its parts are made on first use.
type HeaderCell struct {
	widget.BaseWidget
	// OnTap sorts by the column; nil means the column does not sort.
	OnTap func()

	label *widget.Label
	arrow *widget.Icon
	hover *canvas.Rectangle
	inner *fyne.Container // the label beside the arrow
	box   *fyne.Container
}

var (
	_ fyne.Tappable     = (*HeaderCell)(nil)
	_ desktop.Hoverable = (*HeaderCell)(nil)
)

// NewHeaderCell returns an empty header.
func NewHeaderCell() *HeaderCell {
	h := &HeaderCell{}
	h.ExtendBaseWidget(h)
	return h
}

func (h *HeaderCell) parts() {
	if h.box != nil {
		return
	}
	h.label = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	h.label.Truncation = fyne.TextTruncateEllipsis
	h.arrow = widget.NewIcon(nil)
	h.hover = canvas.NewRectangle(color.Transparent)
	h.inner = container.NewBorder(nil, nil, nil, h.arrow, h.label)
	h.box = container.NewStack(h.hover, h.inner)
}

// CreateRenderer returns the header's renderer.
func (h *HeaderCell) CreateRenderer() fyne.WidgetRenderer {
	h.parts()
	return widget.NewSimpleRenderer(h.box)
}

// Label returns the label showing the title.
func (h *HeaderCell) Label() *widget.Label { h.parts(); return h.label }

// Arrow returns the sort arrow (hidden unless the table is sorted by the
// column).
func (h *HeaderCell) Arrow() *widget.Icon { h.parts(); return h.arrow }

// Set shows title, with an arrow up (or down when desc) when sorted; the
// title ends in an ellipsis only when it does not fit.
func (h *HeaderCell) Set(title string, sorted, desc bool) {
	h.parts()
	h.arrow.Hide()
	if sorted {
		h.arrow.Resource = theme.MenuDropUpIcon()
		if desc {
			h.arrow.Resource = theme.MenuDropDownIcon()
		}
		h.arrow.Show()
	}
	// Lay out the label beside the arrow before measuring it.
	h.inner.Layout.Layout(h.inner.Objects, h.inner.Size())
	h.label.Text = title
	h.label.Truncation = FitTruncation(h.label, title, h.label.TextStyle)
	h.label.Refresh()
	h.arrow.Refresh()
	h.box.Refresh()
}

// Tapped sorts by the column.
func (h *HeaderCell) Tapped(*fyne.PointEvent) {
	if h.OnTap != nil {
		h.OnTap()
	}
}

// Cursor shows that sortable headers can be clicked.
func (h *HeaderCell) Cursor() desktop.Cursor {
	if h.OnTap != nil {
		return desktop.PointerCursor
	}
	return desktop.DefaultCursor
}

// MouseIn highlights a sortable header.
func (h *HeaderCell) MouseIn(*desktop.MouseEvent) {
	if h.OnTap != nil {
		h.parts()
		h.hover.FillColor = h.Theme().Color(theme.ColorNameHover, fyne.CurrentApp().Settings().ThemeVariant())
		h.hover.Refresh()
	}
}

// MouseMoved does nothing.
func (h *HeaderCell) MouseMoved(*desktop.MouseEvent) {}

// MouseOut removes the highlight.
func (h *HeaderCell) MouseOut() {
	h.parts()
	h.hover.FillColor = color.Transparent
	h.hover.Refresh()
}

// FitTruncation returns how label l truncates text: with an ellipsis only
// when the text is wider than the label. Both show a text that fits the
// same, but the ellipsis check shapes the whole text on every refresh, which
// costs far more than measuring it (measurements are cached); a table
// refreshes every visible cell and header on each change.
func FitTruncation(l *widget.Label, text string, style fyne.TextStyle) fyne.TextTruncation {
	th := l.Theme()
	room := l.Size().Width - 2*th.Size(theme.SizeNameInnerPadding)
	// The margin keeps rounding in the ellipsis check from ever cutting
	// a text measured here as fitting.
	if fyne.MeasureText(text, th.Size(theme.SizeNameText), style).Width+1 <= room {
		return fyne.TextTruncateOff
	}
	return fyne.TextTruncateEllipsis
}
