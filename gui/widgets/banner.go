package widgets

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Banner is a full-width bar in a theme colour (such as
// theme.ColorNameError) with an icon and one sentence on it, wrapped to
// the bar's width, in the colour the theme draws on that colour. Its
// colours follow the theme when it changes.
type Banner struct {
	widget.BaseWidget
	text  string
	color fyne.ThemeColorName
}

// NewBanner returns a banner showing text on the theme colour c.
func NewBanner(text string, c fyne.ThemeColorName) *Banner {
	b := &Banner{text: text, color: c}
	b.ExtendBaseWidget(b)
	return b
}

// Text returns the sentence the banner shows.
func (b *Banner) Text() string { return b.text }

// onColor is the theme colour of text and icons drawn on c.
func onColor(c fyne.ThemeColorName) fyne.ThemeColorName {
	switch c {
	case theme.ColorNameError:
		return theme.ColorNameForegroundOnError
	case theme.ColorNameWarning:
		return theme.ColorNameForegroundOnWarning
	case theme.ColorNameSuccess:
		return theme.ColorNameForegroundOnSuccess
	case theme.ColorNamePrimary:
		return theme.ColorNameForegroundOnPrimary
	}
	return theme.ColorNameForeground
}

// CreateRenderer returns the banner's renderer.
func (b *Banner) CreateRenderer() fyne.WidgetRenderer {
	fg := onColor(b.color)
	bg := canvas.NewRectangle(color.Transparent)
	icon := widget.NewIcon(theme.NewColoredResource(theme.WarningIcon(), fg))
	text := widget.NewRichText(&widget.TextSegment{Text: b.text, Style: widget.RichTextStyle{
		ColorName: fg, SizeName: theme.SizeNameText,
	}})
	text.Wrapping = fyne.TextWrapWord
	content := container.NewStack(bg, container.NewPadded(
		container.NewBorder(nil, nil, container.NewCenter(icon), nil, text)))
	r := &bannerRenderer{b: b, bg: bg, content: content}
	r.Refresh()
	return r
}

type bannerRenderer struct {
	b       *Banner
	bg      *canvas.Rectangle
	content *fyne.Container
}

func (r *bannerRenderer) Layout(s fyne.Size)           { r.content.Resize(s) }
func (r *bannerRenderer) MinSize() fyne.Size           { return r.content.MinSize() }
func (r *bannerRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.content} }
func (r *bannerRenderer) Destroy()                     {}

func (r *bannerRenderer) Refresh() {
	th := r.b.Theme()
	r.bg.FillColor = th.Color(r.b.color, fyne.CurrentApp().Settings().ThemeVariant())
	r.bg.Refresh()
	r.content.Refresh()
}
