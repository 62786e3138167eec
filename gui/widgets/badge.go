package widgets

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Badge is a small coloured tag such as "Expired".
type Badge struct {
	widget.BaseWidget
	text  string
	color fyne.ThemeColorName
}

// NewBadge returns a badge showing text on the theme colour c.
func NewBadge(text string, c fyne.ThemeColorName) *Badge {
	b := &Badge{text: text, color: c}
	b.ExtendBaseWidget(b)
	return b
}

// CreateRenderer returns the badge's renderer.
func (b *Badge) CreateRenderer() fyne.WidgetRenderer {
	r := &badgeRenderer{b: b, bg: canvas.NewRectangle(color.Transparent), txt: canvas.NewText(b.text, color.White)}
	r.txt.TextStyle = fyne.TextStyle{Bold: true}
	r.Refresh()
	return r
}

type badgeRenderer struct {
	b   *Badge
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
