package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/gui/widgets"
)

// The window's theme and secondary text live in package widgets, which the
// settings screens share; these are the short names the window's own
// screens use.

// colorNameSecondary is the theme colour of secondary text.
const colorNameSecondary = widgets.ColorNameSecondary

// newAppTheme returns Keydesk's theme.
func newAppTheme() fyne.Theme { return widgets.NewAppTheme() }

// secondaryText returns l with its low importance drawn in the secondary
// colour (widgets.SecondaryText).
func secondaryText(l *widget.Label) fyne.CanvasObject { return widgets.SecondaryText(l) }
