package widgets

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// RadioGroup is widget.RadioGroup whose buttons hand the Esc key to
// OnEscape. Fyne's radio buttons are unexported and ignore every key but
// Space, so a dialog could not close on Esc while one had the focus; this
// is a copy of Fyne's (v2.8.1, BSD licence) that draws the same pixels,
// with that one difference.
type RadioGroup struct {
	widget.DisableableWidget
	// Horizontal lays the options out in a row.
	Horizontal bool
	// Required keeps an option chosen: tapping the chosen one does not
	// clear it.
	Required bool
	// OnChanged runs when the choice changes, with the option chosen ("" when
	// none is).
	OnChanged func(string)
	// Options are the labels of the radio buttons.
	Options []string
	// Selected is the option chosen, or "".
	Selected string
	// OnEscape runs when Esc is typed while one of the buttons has the
	// focus; nil ignores it.
	OnEscape func()
	// OnFocus, when set, runs with the radio button that gains the focus
	// (a dialog scrolls it into view).
	OnFocus func(fyne.CanvasObject)

	items []*RadioItem
}

// NewRadioGroup returns a group of radio buttons, one per option, calling
// changed when the choice changes.
func NewRadioGroup(options []string, changed func(string)) *RadioGroup {
	r := &RadioGroup{Options: options, OnChanged: changed}
	r.ExtendBaseWidget(r)
	return r
}

// SetSelected chooses option and runs OnChanged if the choice changed.
func (r *RadioGroup) SetSelected(option string) {
	if r.Selected == option {
		return
	}
	r.Selected = option
	if r.OnChanged != nil {
		r.OnChanged(option)
	}
	r.Refresh()
}

// Items returns the group's radio buttons, one per option (created on
// first use).
func (r *RadioGroup) Items() []*RadioItem {
	for len(r.items) < len(r.Options) {
		idx := len(r.items)
		it := &RadioItem{group: r, idx: idx}
		it.ExtendBaseWidget(it)
		r.items = append(r.items, it)
	}
	r.items = r.items[:len(r.Options)]
	return r.items
}

// tapped toggles option idx as Fyne's group does.
func (r *RadioGroup) tapped(idx int) {
	if r.Disabled() || idx >= len(r.Options) {
		return
	}
	if r.Options[idx] == r.Selected {
		if r.Required {
			return
		}
		r.Selected = ""
	} else {
		r.Selected = r.Options[idx]
	}
	if r.OnChanged != nil {
		r.OnChanged(r.Selected)
	}
	r.Refresh()
}

// CreateRenderer lays the radio buttons out in a column or a row, each
// the size of the largest.
func (r *RadioGroup) CreateRenderer() fyne.WidgetRenderer {
	r.ExtendBaseWidget(r)
	return &radioGroupRenderer{r: r}
}

type radioGroupRenderer struct{ r *RadioGroup }

func (g *radioGroupRenderer) objects() []fyne.CanvasObject {
	items := g.r.Items()
	objs := make([]fyne.CanvasObject, len(items))
	for i, it := range items {
		objs[i] = it
	}
	return objs
}

func (g *radioGroupRenderer) Objects() []fyne.CanvasObject { return g.objects() }
func (g *radioGroupRenderer) Destroy()                     {}

func (g *radioGroupRenderer) MinSize() fyne.Size {
	var w, h float32
	items := g.r.Items()
	for _, it := range items {
		m := it.MinSize()
		w, h = max(w, m.Width), max(h, m.Height)
	}
	if g.r.Horizontal {
		w *= float32(len(items))
	} else {
		h *= float32(len(items))
	}
	return fyne.NewSize(w, h)
}

func (g *radioGroupRenderer) Layout(fyne.Size) {
	items := g.r.Items()
	n := float32(max(1, len(items)))
	m := g.MinSize()
	size := fyne.NewSize(m.Width, m.Height/n)
	if g.r.Horizontal {
		size = fyne.NewSize(m.Width/n, m.Height)
	}
	var x, y float32
	for _, it := range items {
		it.Resize(size)
		it.Move(fyne.NewPos(x, y))
		if g.r.Horizontal {
			x += size.Width
		} else {
			y += size.Height
		}
	}
}

func (g *radioGroupRenderer) Refresh() {
	for _, it := range g.r.Items() {
		it.Refresh()
	}
	g.Layout(g.r.Size())
}

// RadioItem is one radio button of a RadioGroup.
type RadioItem struct {
	widget.BaseWidget
	group            *RadioGroup
	idx              int
	focused, hovered bool
}

var (
	_ fyne.Focusable    = (*RadioItem)(nil)
	_ fyne.Tappable     = (*RadioItem)(nil)
	_ desktop.Hoverable = (*RadioItem)(nil)
)

// Label is the option the button stands for.
func (i *RadioItem) Label() string { return i.group.Options[i.idx] }

// Selected reports whether the button's option is chosen.
func (i *RadioItem) Selected() bool { return i.group.Selected == i.Label() }

// Disabled reports whether the group is disabled.
func (i *RadioItem) Disabled() bool { return i.group.Disabled() }

// FocusGained shows the focus and runs the group's OnFocus.
func (i *RadioItem) FocusGained() {
	i.focused = true
	i.Refresh()
	if i.group.OnFocus != nil {
		i.group.OnFocus(i)
	}
}

// FocusLost hides the focus.
func (i *RadioItem) FocusLost() { i.focused = false; i.Refresh() }

// MouseIn highlights the button.
func (i *RadioItem) MouseIn(*desktop.MouseEvent) {
	if !i.Disabled() {
		i.hovered = true
		i.Refresh()
	}
}

// MouseMoved does nothing.
func (i *RadioItem) MouseMoved(*desktop.MouseEvent) {}

// MouseOut removes the highlight.
func (i *RadioItem) MouseOut() {
	if !i.Disabled() {
		i.hovered = false
		i.Refresh()
	}
}

// Tapped focuses the button and chooses its option.
func (i *RadioItem) Tapped(*fyne.PointEvent) {
	if !i.focused && !fyne.CurrentDevice().IsMobile() {
		if c := fyne.CurrentApp().Driver().CanvasForObject(i); c != nil {
			c.Focus(i)
		}
	}
	i.group.tapped(i.idx)
}

// TypedKey hands Esc to the group's OnEscape; other keys do nothing.
func (i *RadioItem) TypedKey(k *fyne.KeyEvent) { escaped(k, i.group.OnEscape) }

// TypedRune chooses the option on Space.
func (i *RadioItem) TypedRune(r rune) {
	if r == ' ' {
		i.group.tapped(i.idx)
	}
}

// CreateRenderer draws the button as Fyne's radio item does.
func (i *RadioItem) CreateRenderer() fyne.WidgetRenderer {
	r := &radioItemRenderer{item: i, label: canvas.NewText("", color.Black)}
	r.update()
	return r
}

type radioItemRenderer struct {
	item           *RadioItem
	focusIndicator canvas.Circle
	icon, over     canvas.Image
	label          *canvas.Text
}

func (r *radioItemRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{&r.focusIndicator, &r.icon, &r.over, r.label}
}

func (r *radioItemRenderer) Destroy() {}

func (r *radioItemRenderer) Layout(size fyne.Size) {
	th := r.item.Theme()
	innerPadding := th.Size(theme.SizeNameInnerPadding)
	borderSize := th.Size(theme.SizeNameInputBorder)
	iconInlineSize := th.Size(theme.SizeNameInlineIcon)

	focusIndicatorSize := fyne.NewSquareSize(iconInlineSize + innerPadding)
	r.focusIndicator.Resize(focusIndicatorSize)
	r.focusIndicator.Move(fyne.NewPos(borderSize, (size.Height-focusIndicatorSize.Height)/2))

	r.label.Resize(size)
	r.label.Move(fyne.NewPos(focusIndicatorSize.Width+th.Size(theme.SizeNamePadding), 0))

	iconPos := fyne.NewPos(innerPadding/2+borderSize, (size.Height-iconInlineSize)/2)
	iconSize := fyne.NewSquareSize(iconInlineSize)
	r.icon.Resize(iconSize)
	r.icon.Move(iconPos)
	r.over.Resize(iconSize)
	r.over.Move(iconPos)
}

func (r *radioItemRenderer) MinSize() fyne.Size {
	th := r.item.Theme()
	inPad := th.Size(theme.SizeNameInnerPadding) * 2
	return r.label.MinSize().AddWidthHeight(inPad+th.Size(theme.SizeNameInlineIcon)+th.Size(theme.SizeNamePadding), inPad)
}

func (r *radioItemRenderer) Refresh() {
	r.update()
	canvas.Refresh(r.item)
}

func (r *radioItemRenderer) update() {
	th := r.item.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	disabled, selected := r.item.Disabled(), r.item.Selected()

	r.label.Text = r.item.Label()
	r.label.Alignment = fyne.TextAlignLeading
	r.label.TextSize = th.Size(theme.SizeNameText)
	r.label.Color = th.Color(theme.ColorNameForeground, v)
	if disabled {
		r.label.Color = th.Color(theme.ColorNameDisabled, v)
	}

	out := theme.NewThemedResource(th.Icon(theme.IconNameRadioButton))
	out.ColorName = theme.ColorNameInputBorder
	in := theme.NewThemedResource(th.Icon(theme.IconNameRadioButtonFill))
	in.ColorName = theme.ColorNameInputBackground
	if selected {
		in.ColorName = theme.ColorNamePrimary
		out.ColorName = theme.ColorNameForeground
	}
	if disabled {
		if selected {
			in.ColorName = theme.ColorNameDisabled
		} else {
			in.ColorName = theme.ColorNameBackground
		}
		out.ColorName = theme.ColorNameDisabled
	}
	r.icon.Resource = in
	r.icon.Refresh()
	r.over.Resource = out
	r.over.Refresh()

	switch {
	case disabled:
		r.focusIndicator.FillColor = color.Transparent
	case r.item.focused:
		r.focusIndicator.FillColor = th.Color(theme.ColorNameFocus, v)
	case r.item.hovered:
		r.focusIndicator.FillColor = th.Color(theme.ColorNameHover, v)
	default:
		r.focusIndicator.FillColor = color.Transparent
	}
	r.label.Refresh()
}
