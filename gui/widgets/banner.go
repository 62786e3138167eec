package widgets

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// bannerTint is how much of the banner's colour its background takes,
// over the window's background: enough to read as that colour at a
// glance, little enough that the text keeps the contrast of normal text
// (white on Fyne's error red would be 3.7:1).
const bannerTint = 0.18

// Banner is a full-width bar tinted with a theme colour (such as
// theme.ColorNameError), outlined and with an icon in that colour, and one
// sentence in the text colour, wrapped to the bar's width. Its colours
// follow the theme when it changes.
type Banner struct {
	widget.BaseWidget
	text  string
	color fyne.ThemeColorName
}

// NewBanner returns a banner showing text in the theme colour c.
func NewBanner(text string, c fyne.ThemeColorName) *Banner {
	b := &Banner{text: text, color: c}
	b.ExtendBaseWidget(b)
	return b
}

// Text returns the sentence the banner shows.
func (b *Banner) Text() string { return b.text }

// Background returns the banner's background colour in theme th, variant
// v: its colour blended over the window's background.
func (b *Banner) Background(th fyne.Theme, v fyne.ThemeVariant) color.Color {
	return blend(th.Color(b.color, v), th.Color(theme.ColorNameBackground, v), bannerTint)
}

// blend returns a share of c over the opaque colour bg, opaque.
func blend(c, bg color.Color, share float64) color.Color {
	r1, g1, b1, _ := c.RGBA()
	r2, g2, b2, _ := bg.RGBA()
	mix := func(x, y uint32) uint8 { return uint8((share*float64(x) + (1-share)*float64(y)) / 0x101) }
	return color.NRGBA{R: mix(r1, r2), G: mix(g1, g2), B: mix(b1, b2), A: 0xff}
}

// CreateRenderer returns the banner's renderer.
func (b *Banner) CreateRenderer() fyne.WidgetRenderer {
	icon := widget.NewIcon(theme.NewColoredResource(theme.WarningIcon(), b.color))
	text := widget.NewRichText(&widget.TextSegment{Text: b.text, Style: widget.RichTextStyle{
		ColorName: theme.ColorNameForeground, TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameText,
	}})
	text.Wrapping = fyne.TextWrapWord
	content := container.NewPadded(container.NewBorder(nil, nil, container.NewCenter(icon), nil, text))
	return newFramedRenderer(b, content, func(bg *canvas.Rectangle, th fyne.Theme, v fyne.ThemeVariant) {
		bg.FillColor = b.Background(th, v)
		bg.StrokeColor = th.Color(b.color, v)
		bg.StrokeWidth = 1
	})
}
