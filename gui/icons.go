package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// keyIcon is a key symbol (Material Design "vpn_key", Apache 2.0), drawn in
// the theme's foreground colour.
var keyIcon = theme.NewThemedResource(fyne.NewStaticResource("key.svg", []byte(
	`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24">`+
		`<path fill="#000000" d="M12.65 10C11.83 7.67 9.61 6 7 6c-3.31 0-6 2.69-6 6s2.69 6 6 6c2.61 0 4.83-1.67 `+
		`5.65-4H17v4h4v-4h2v-4H12.65zM7 14c-1.1 0-2-.9-2-2s.9-2 2-2 2 .9 2 2-.9 2-2 2z"/></svg>`)))

// duplicateIcon is "a new key from this one" (Material Design
// "library_add", Apache 2.0): a plus on stacked cards, unlike the
// clipboard's copy icon.
var duplicateIcon = theme.NewThemedResource(fyne.NewStaticResource("duplicate.svg", []byte(
	`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24">`+
		`<path fill="#000000" d="M4 6H2v14c0 1.1.9 2 2 2h14v-2H4V6zm16-4H8c-1.1 0-2 .9-2 2v12c0 1.1.9 2 2 2h12c1.1 `+
		`0 2-.9 2-2V4c0-1.1-.9-2-2-2zm-1 9h-4v4h-2v-4H9V9h4V5h2v4h4v2z"/></svg>`)))
