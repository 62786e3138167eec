package gui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// tipLayer floats tooltips above a screen. It is a layer of the screen
// itself rather than a widget.PopUp: a pop-up is a canvas overlay that takes
// the mouse, so the label under the cursor would get MouseOut as soon as its
// tooltip appeared and the tooltip would flicker. The layer is not hoverable
// or tappable, so the widget under it keeps the mouse.
type tipLayer struct {
	widget.BaseWidget
	bubble *tipBubble
}

func newTipLayer() *tipLayer {
	l := &tipLayer{bubble: newTipBubble()}
	l.bubble.Hide()
	l.ExtendBaseWidget(l)
	return l
}

func (l *tipLayer) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewWithoutLayout(l.bubble))
}

// show places content near the absolute position abs (the mouse), inside the
// layer's bounds.
func (l *tipLayer) show(content fyne.CanvasObject, abs fyne.Position) {
	l.bubble.setContent(content)
	size := l.bubble.MinSize()
	origin := fyne.CurrentApp().Driver().AbsolutePositionForObject(l)
	pos := abs.Subtract(origin).Add(fyne.NewPos(12, 18))
	bounds := l.Size()
	if pos.X+size.Width > bounds.Width {
		pos.X = max(0, bounds.Width-size.Width)
	}
	if pos.Y+size.Height > bounds.Height {
		// Above the cursor when there is no room below.
		pos.Y = max(0, abs.Subtract(origin).Y-size.Height-8)
	}
	l.bubble.Move(pos)
	l.bubble.Resize(size)
	l.bubble.Show()
	l.Refresh()
}

func (l *tipLayer) hide() {
	if l.bubble.Visible() {
		l.bubble.Hide()
		l.Refresh()
	}
}

// shown returns the content shown, or nil.
func (l *tipLayer) shown() fyne.CanvasObject {
	if !l.bubble.Visible() {
		return nil
	}
	return l.bubble.content
}

// tipBubble is a tooltip: content on the overlay background with a border.
type tipBubble struct {
	widget.BaseWidget
	content fyne.CanvasObject
	box     *fyne.Container
}

func newTipBubble() *tipBubble {
	b := &tipBubble{box: container.NewStack()}
	b.ExtendBaseWidget(b)
	return b
}

func (b *tipBubble) setContent(c fyne.CanvasObject) {
	b.content = c
	b.box.Objects = []fyne.CanvasObject{container.NewPadded(c)}
	b.box.Refresh()
}

func (b *tipBubble) CreateRenderer() fyne.WidgetRenderer {
	bg := canvas.NewRectangle(color.Transparent)
	r := &tipBubbleRenderer{bg: bg, b: b}
	r.Refresh()
	return r
}

type tipBubbleRenderer struct {
	bg *canvas.Rectangle
	b  *tipBubble
}

func (r *tipBubbleRenderer) Layout(s fyne.Size) {
	r.bg.Resize(s)
	r.b.box.Resize(s)
}
func (r *tipBubbleRenderer) MinSize() fyne.Size           { return r.b.box.MinSize() }
func (r *tipBubbleRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.bg, r.b.box} }
func (r *tipBubbleRenderer) Destroy()                     {}
func (r *tipBubbleRenderer) Refresh() {
	th := r.b.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.bg.FillColor = th.Color(theme.ColorNameOverlayBackground, v)
	r.bg.StrokeColor = th.Color(theme.ColorNameInputBorder, v)
	r.bg.StrokeWidth = 1
	r.bg.CornerRadius = th.Size(theme.SizeNameInputRadius)
	r.bg.Refresh()
	r.b.box.Refresh()
}

// tipLabel is a label that shows a tooltip while the mouse is over it.
type tipLabel struct {
	widget.Label
	layer *tipLayer
	// tip builds the tooltip content; nil means no tooltip.
	tip func() fyne.CanvasObject
	in  bool
}

var _ desktop.Hoverable = (*tipLabel)(nil)

func newTipLabel(layer *tipLayer) *tipLabel {
	l := &tipLabel{layer: layer}
	l.ExtendBaseWidget(l)
	return l
}

// setTip sets the tooltip; a tooltip already shown is replaced (cells are
// recycled while the mouse rests on them).
func (l *tipLabel) setTip(tip func() fyne.CanvasObject) {
	l.tip = tip
	if l.in {
		l.layer.hide()
		l.in = false
	}
}

// MouseIn shows the tooltip near the cursor.
func (l *tipLabel) MouseIn(ev *desktop.MouseEvent) {
	if l.tip == nil || l.layer == nil {
		return
	}
	l.in = true
	l.layer.show(l.tip(), ev.AbsolutePosition)
}

// MouseMoved keeps the tooltip where it is.
func (l *tipLabel) MouseMoved(*desktop.MouseEvent) {}

// MouseOut hides the tooltip.
func (l *tipLabel) MouseOut() {
	if l.in {
		l.in = false
		l.layer.hide()
	}
}

// badge is a small coloured tag such as "Expired".
type badge struct {
	widget.BaseWidget
	text  string
	color fyne.ThemeColorName
}

func newBadge(text string, c fyne.ThemeColorName) *badge {
	b := &badge{text: text, color: c}
	b.ExtendBaseWidget(b)
	return b
}

func (b *badge) CreateRenderer() fyne.WidgetRenderer {
	r := &badgeRenderer{b: b, bg: canvas.NewRectangle(color.Transparent), txt: canvas.NewText(b.text, color.White)}
	r.txt.TextStyle = fyne.TextStyle{Bold: true}
	r.Refresh()
	return r
}

type badgeRenderer struct {
	b   *badge
	bg  *canvas.Rectangle
	txt *canvas.Text
}

func (r *badgeRenderer) padding() fyne.Size { return fyne.NewSize(8, 2) }

func (r *badgeRenderer) Layout(s fyne.Size) {
	ts := r.txt.MinSize()
	h := ts.Height + 2*r.padding().Height
	r.bg.Resize(fyne.NewSize(s.Width, h))
	r.bg.Move(fyne.NewPos(0, (s.Height-h)/2))
	r.txt.Resize(ts)
	r.txt.Move(fyne.NewPos((s.Width-ts.Width)/2, (s.Height-ts.Height)/2))
}

func (r *badgeRenderer) MinSize() fyne.Size {
	ts := r.txt.MinSize()
	p := r.padding()
	return fyne.NewSize(ts.Width+2*p.Width, ts.Height+2*p.Height)
}

func (r *badgeRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.bg, r.txt} }
func (r *badgeRenderer) Destroy()                     {}

func (r *badgeRenderer) Refresh() {
	th := r.b.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.bg.FillColor = th.Color(r.b.color, v)
	r.bg.CornerRadius = 4
	r.txt.Text = r.b.text
	r.txt.TextSize = th.Size(theme.SizeNameCaptionText)
	fg := theme.ColorNameForeground
	switch r.b.color {
	case theme.ColorNameError:
		fg = theme.ColorNameForegroundOnError
	case theme.ColorNameWarning:
		fg = theme.ColorNameForegroundOnWarning
	case theme.ColorNameSuccess:
		fg = theme.ColorNameForegroundOnSuccess
	case theme.ColorNamePrimary:
		fg = theme.ColorNameForegroundOnPrimary
	}
	r.txt.Color = th.Color(fg, v)
	r.bg.Refresh()
	r.txt.Refresh()
}
