package widgets

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// TipLayer floats tooltips above a screen. It is a layer of the screen
// itself rather than a widget.PopUp: a pop-up is a canvas overlay that takes
// the mouse, so the label under the cursor would get MouseOut as soon as its
// tooltip appeared and the tooltip would flicker. The layer is not hoverable
// or tappable, so the widget under it keeps the mouse.
type TipLayer struct {
	widget.BaseWidget
	bubble *tipBubble
}

// NewTipLayer returns an empty layer; stack it above the screen's content.
func NewTipLayer() *TipLayer {
	l := &TipLayer{bubble: newTipBubble()}
	l.bubble.Hide()
	l.ExtendBaseWidget(l)
	return l
}

// CreateRenderer returns the layer's renderer.
func (l *TipLayer) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewWithoutLayout(l.bubble))
}

// ShowTip places content near the absolute position abs (the mouse), inside the
// layer's bounds.
func (l *TipLayer) ShowTip(content fyne.CanvasObject, abs fyne.Position) {
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

// HideTip hides the tooltip shown, if any.
func (l *TipLayer) HideTip() {
	if l.bubble.Visible() {
		l.bubble.Hide()
		l.Refresh()
	}
}

// Tip returns the content shown, or nil.
func (l *TipLayer) Tip() fyne.CanvasObject {
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

// CreateRenderer returns the bubble's renderer: its content over the
// overlay background, with a border.
func (b *tipBubble) CreateRenderer() fyne.WidgetRenderer {
	return newFramedRenderer(b, b.box, func(bg *canvas.Rectangle, th fyne.Theme, v fyne.ThemeVariant) {
		bg.FillColor = th.Color(theme.ColorNameOverlayBackground, v)
		bg.StrokeColor = th.Color(theme.ColorNameInputBorder, v)
		bg.StrokeWidth = 1
		bg.CornerRadius = th.Size(theme.SizeNameInputRadius)
	})
}

// TipLabel is a label that shows a tooltip while the mouse is over it.
type TipLabel struct {
	widget.Label
	layer *TipLayer
	// tip builds the tooltip content; nil means no tooltip.
	tip func() fyne.CanvasObject
	in  bool
}

var _ desktop.Hoverable = (*TipLabel)(nil)

// NewTipLabel returns a label whose tooltips float on layer.
func NewTipLabel(layer *TipLayer) *TipLabel {
	l := &TipLabel{layer: layer}
	l.ExtendBaseWidget(l)
	return l
}

// SetTip sets the tooltip; a tooltip already shown is replaced (cells are
// recycled while the mouse rests on them).
func (l *TipLabel) SetTip(tip func() fyne.CanvasObject) {
	l.tip = tip
	if l.in {
		l.layer.HideTip()
		l.in = false
	}
}

// MouseIn shows the tooltip near the cursor.
func (l *TipLabel) MouseIn(ev *desktop.MouseEvent) {
	if l.tip == nil || l.layer == nil {
		return
	}
	l.in = true
	l.layer.ShowTip(l.tip(), ev.AbsolutePosition)
}

// MouseMoved keeps the tooltip where it is.
func (l *TipLabel) MouseMoved(*desktop.MouseEvent) {}

// MouseOut hides the tooltip.
func (l *TipLabel) MouseOut() {
	if l.in {
		l.in = false
		l.layer.HideTip()
	}
}

// TipButton is a button (usually icon only) that names what it does in a
// tooltip while the mouse is over it.
type TipButton struct {
	widget.Button
	layer *TipLayer
	// Tip is the tooltip's text.
	Tip string
	EscKeys
	in bool
}

var _ desktop.Hoverable = (*TipButton)(nil)

// NewTipButton returns a low-importance icon button whose tooltip, tip,
// floats on layer.
func NewTipButton(layer *TipLayer, icon fyne.Resource, tip string, tapped func()) *TipButton {
	b := &TipButton{layer: layer, Tip: tip}
	b.Icon = icon
	b.Importance = widget.LowImportance
	b.OnTapped = tapped
	b.ExtendBaseWidget(b)
	return b
}

// MouseIn highlights the button and shows its tooltip.
func (b *TipButton) MouseIn(ev *desktop.MouseEvent) {
	b.Button.MouseIn(ev)
	if b.layer == nil || b.Tip == "" {
		return
	}
	b.in = true
	b.layer.ShowTip(widget.NewLabel(b.Tip), ev.AbsolutePosition)
}

// MouseOut removes the highlight and hides the tooltip.
func (b *TipButton) MouseOut() {
	b.Button.MouseOut()
	if b.in {
		b.in = false
		b.layer.HideTip()
	}
}

// Tapped hides the tooltip and runs OnTapped.
func (b *TipButton) Tapped(ev *fyne.PointEvent) {
	if b.in {
		b.in = false
		b.layer.HideTip()
	}
	b.Button.Tapped(ev)
}

// TypedKey runs OnEscape on Esc; other keys act as in widget.Button.
func (b *TipButton) TypedKey(k *fyne.KeyEvent) { b.typedKey(k, b.Button.TypedKey) }

// FocusGained shows the focus and runs OnFocus.
func (b *TipButton) FocusGained() { b.focusGained(b, b.Button.FocusGained) }
