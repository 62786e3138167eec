package widgets

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// appTheme is Fyne's theme with stronger outlines in the dark variant and a
// readable colour for secondary text in both.
//
// The default dark input border (#39393a on #17181f) leaves unticked
// checkboxes, radio buttons and entry outlines hard to see, and the focus
// ring is faint.
//
// Secondary text (a field's character count, "E-mail is not set up yet",
// status lines, the titles under scopes) has its own colour,
// ColorNameSecondary: at least 4.5:1 against the window, dialog, button and
// entry backgrounds of each variant. Fyne draws a low-importance label in
// its disabled colour (#e3e3e3 on white, #39393a on #171718: about 1.3:1
// and 1.5:1), which is right for a control that cannot be used but leaves
// text unreadable. That colour stays as it is, so a disabled button,
// checkbox or entry still looks disabled; SecondaryText draws a label's
// low importance in the secondary colour instead.
type appTheme struct{ fyne.Theme }

// ColorNameSecondary is the theme colour of secondary text (see appTheme).
const ColorNameSecondary fyne.ThemeColorName = "keydesk.secondary"

// Overrides of appTheme. Contrast of the secondary colours (WCAG): light
// #6b6b6b is 5.33:1 on the background and dialogs (#ffffff), 4.89:1 on
// buttons and menus (#f5f5f5), 4.80:1 in entries (#f3f3f3); dark #9b9ba1
// is 6.48:1 on the background (#171718), 6.12:1 on dialogs (#181d25),
// 5.25:1 on buttons and menus (#28292e).
var (
	darkInputBorder = color.NRGBA{R: 0x8a, G: 0x8e, B: 0x99, A: 0xff}
	darkFocus       = color.NRGBA{R: 0x5c, G: 0x9d, B: 0xff, A: 0xd0}
	lightSecondary  = color.NRGBA{R: 0x6b, G: 0x6b, B: 0x6b, A: 0xff}
	darkSecondary   = color.NRGBA{R: 0x9b, G: 0x9b, B: 0xa1, A: 0xff}
)

// NewAppTheme returns Keydesk's theme (appTheme) over Fyne's default.
func NewAppTheme() fyne.Theme { return appTheme{theme.DefaultTheme()} }

// secondaryColor is the colour of secondary text in variant v.
func secondaryColor(v fyne.ThemeVariant) color.Color {
	if v == theme.VariantDark {
		return darkSecondary
	}
	return lightSecondary
}

// Color returns the colour n in variant v.
func (t appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == ColorNameSecondary {
		return secondaryColor(v)
	}
	if v == theme.VariantDark {
		switch n {
		case theme.ColorNameInputBorder:
			return darkInputBorder
		case theme.ColorNameFocus:
			return darkFocus
		}
	}
	return t.Theme.Color(n, v)
}

// secondaryTheme is the app's theme with the disabled colour replaced by
// the secondary one, for labels only (SecondaryText): widget.Label draws
// low importance in the disabled colour.
type secondaryTheme struct{}

func (secondaryTheme) app() fyne.Theme { return fyne.CurrentApp().Settings().Theme() }

// Color returns the colour n in variant v: the app theme's, with the
// disabled colour as secondary text.
func (t secondaryTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == theme.ColorNameDisabled || n == ColorNameSecondary {
		// Asked of the app theme, which may fix the variant (tests);
		// one that does not know the name gives no colour.
		if c := t.app().Color(ColorNameSecondary, v); c != nil {
			if _, _, _, a := c.RGBA(); a != 0 {
				return c
			}
		}
		return secondaryColor(v)
	}
	return t.app().Color(n, v)
}

// Font returns the app theme's font.
func (t secondaryTheme) Font(s fyne.TextStyle) fyne.Resource { return t.app().Font(s) }

// Icon returns the app theme's icon.
func (t secondaryTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.app().Icon(n) }

// Size returns the app theme's size.
func (t secondaryTheme) Size(n fyne.ThemeSizeName) float32 { return t.app().Size(n) }

// SecondaryLabel shows a label whose low importance reads in the secondary
// colour. It is shown and hidden with its label, so that layouts skip it
// as they skip a hidden label.
type SecondaryLabel struct {
	widget.BaseWidget
	label   *widget.Label
	content fyne.CanvasObject
}

// SecondaryText returns what to place in a layout instead of l: l with its
// low importance in the secondary colour rather than the disabled one.
// Other importances (danger, warning, success) keep their colours.
func SecondaryText(l *widget.Label) fyne.CanvasObject {
	s := &SecondaryLabel{label: l, content: container.NewThemeOverride(l, secondaryTheme{})}
	s.ExtendBaseWidget(s)
	return s
}

// CreateRenderer returns the renderer of the themed label.
func (s *SecondaryLabel) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(s.content)
}

// Visible reports whether the label is shown.
func (s *SecondaryLabel) Visible() bool { return s.label.Visible() }

// Show shows the label.
func (s *SecondaryLabel) Show() { s.label.Show() }

// Hide hides the label.
func (s *SecondaryLabel) Hide() { s.label.Hide() }

// NewFieldMessage returns the hidden, danger-styled label shown under a
// field when its value is refused.
func NewFieldMessage() *widget.Label {
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// SetMessage shows text in the message label l with importance imp, or
// hides l when text is "".
func SetMessage(l *widget.Label, text string, imp widget.Importance) {
	l.Text = text
	l.Importance = imp
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
	l.Refresh()
}

// ScrollBarGutter is the room kept clear on the right of scrolled content,
// so that the scroll bar does not cover fields or text.
func ScrollBarGutter() float32 {
	th := fyne.CurrentApp().Settings().Theme()
	return th.Size(theme.SizeNameScrollBar) + th.Size(theme.SizeNamePadding)
}
