package widgets

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// Fyne hands every key to the widget that has the focus, and its focusable
// widgets (buttons, check boxes, radio buttons, links) keep Esc to
// themselves: the canvas's key handler only hears keys typed while nothing
// has the focus. The widgets below hand Esc to OnEscape instead, so that a
// dialog or panel closes on Esc whatever in it has the focus.

// escaped runs onEscape for Esc and reports whether it did.
func escaped(k *fyne.KeyEvent, onEscape func()) bool {
	if k.Name != fyne.KeyEscape || onEscape == nil {
		return false
	}
	onEscape()
	return true
}

// EscKeys is what the widgets below add to Fyne's: Esc goes to OnEscape,
// and OnFocus hears when the widget gains the focus. Each embeds it next to
// the Fyne widget it extends and hands its TypedKey and FocusGained to it.
type EscKeys struct {
	// OnEscape runs when Esc is typed while the widget has the focus; nil
	// ignores it (the Fyne widget gets the key).
	OnEscape func()
	// OnFocus, when set, runs with the widget when it gains the focus (a
	// dialog scrolls it into view).
	OnFocus func(fyne.CanvasObject)
}

// typedKey runs OnEscape on Esc; other keys go to fyneKey, the Fyne
// widget's TypedKey.
func (e *EscKeys) typedKey(k *fyne.KeyEvent, fyneKey func(*fyne.KeyEvent)) {
	if !escaped(k, e.OnEscape) {
		fyneKey(k)
	}
}

// focusGained runs fyneFocus, the Fyne widget's FocusGained, then OnFocus
// with w, the widget.
func (e *EscKeys) focusGained(w fyne.CanvasObject, fyneFocus func()) {
	fyneFocus()
	if e.OnFocus != nil {
		e.OnFocus(w)
	}
}

// EscButton is a button that hands the Esc key to OnEscape.
type EscButton struct {
	widget.Button
	EscKeys
}

// NewEscButton returns a button with a label, an icon (nil for none) and
// the action tapped.
func NewEscButton(label string, icon fyne.Resource, tapped func()) *EscButton {
	b := &EscButton{}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

// TypedKey runs OnEscape on Esc; other keys act as in widget.Button.
func (b *EscButton) TypedKey(k *fyne.KeyEvent) { b.typedKey(k, b.Button.TypedKey) }

// FocusGained shows the focus and runs OnFocus.
func (b *EscButton) FocusGained() { b.focusGained(b, b.Button.FocusGained) }

// EscCheck is a check box that hands the Esc key to OnEscape.
type EscCheck struct {
	widget.Check
	EscKeys
}

// NewEscCheck returns a check box with a label, calling changed when it
// is ticked or unticked.
func NewEscCheck(label string, changed func(bool)) *EscCheck {
	c := &EscCheck{}
	c.Text, c.OnChanged = label, changed
	c.ExtendBaseWidget(c)
	return c
}

// TypedKey runs OnEscape on Esc; other keys act as in widget.Check.
func (c *EscCheck) TypedKey(k *fyne.KeyEvent) { c.typedKey(k, c.Check.TypedKey) }

// FocusGained shows the focus and runs OnFocus.
func (c *EscCheck) FocusGained() { c.focusGained(c, c.Check.FocusGained) }

// EscHyperlink is a link that hands the Esc key to OnEscape.
type EscHyperlink struct {
	widget.Hyperlink
	EscKeys
}

// NewEscHyperlink returns a link showing text that runs tapped.
func NewEscHyperlink(text string, tapped func()) *EscHyperlink {
	h := &EscHyperlink{}
	h.Text, h.OnTapped = text, tapped
	h.ExtendBaseWidget(h)
	return h
}

// TypedKey runs OnEscape on Esc; other keys act as in widget.Hyperlink.
func (h *EscHyperlink) TypedKey(k *fyne.KeyEvent) { h.typedKey(k, h.Hyperlink.TypedKey) }

// FocusGained shows the focus and runs OnFocus.
func (h *EscHyperlink) FocusGained() { h.focusGained(h, h.Hyperlink.FocusGained) }

// ScrollIntoView scrolls s, if o lies in its content, just enough for o
// to show whole (its top when o is taller than s). Keyboard focus moving
// to a widget scrolled out of view stays visible this way.
func ScrollIntoView(s *container.Scroll, o fyne.CanvasObject) {
	if s == nil || s.Content == nil || o == nil {
		return
	}
	d := fyne.CurrentApp().Driver()
	in := d.AbsolutePositionForObject(o).Subtract(d.AbsolutePositionForObject(s.Content))
	if in.X < 0 || in.Y < 0 || in.X > s.Content.Size().Width || in.Y > s.Content.Size().Height {
		return // not in this scroll's content
	}
	off := s.Offset
	view := s.Size()
	h := o.Size().Height
	switch {
	case s.Direction != container.ScrollHorizontalOnly && in.Y < off.Y:
		off.Y = in.Y
	case s.Direction != container.ScrollHorizontalOnly && in.Y+h > off.Y+view.Height:
		off.Y = min(in.Y, in.Y+h-view.Height)
	}
	if off != s.Offset {
		s.ScrollToOffset(off)
	}
}
