package gui

import (
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/gui/widgets"
)

// Esc closes the top dialog or panel whatever has the focus: the window's
// canvas hears Esc only while nothing has the focus, and each focusable
// widget of a dialog or panel hands it on (see widgets.EscButton). The
// constructors below return such widgets, handing Esc to uiEnv.escape.

// escKey is the Esc action of the window's focusable widgets.
func (e *uiEnv) escKey() { e.escape() }

// button returns a button (icon may be nil) that hands Esc on.
func (e *uiEnv) button(label string, icon fyne.Resource, tapped func()) *widgets.EscButton {
	b := widgets.NewEscButton(label, icon, tapped)
	b.OnEscape = e.escKey
	return b
}

// check returns a check box that hands Esc on.
func (e *uiEnv) check(label string, changed func(bool)) *widgets.EscCheck {
	c := widgets.NewEscCheck(label, changed)
	c.OnEscape = e.escKey
	return c
}

// radio returns a radio group whose buttons hand Esc on.
func (e *uiEnv) radio(options []string, changed func(string)) *widgets.RadioGroup {
	r := widgets.NewRadioGroup(options, changed)
	r.OnEscape = e.escKey
	return r
}

// entry returns a single-line entry that hands Esc on.
func (e *uiEnv) entry() *widgets.EscEntry {
	x := widgets.NewEscEntry()
	x.OnEscape = e.escKey
	return x
}

// passwordEntry returns a password entry that hands Esc on.
func (e *uiEnv) passwordEntry() *widgets.EscEntry {
	x := e.entry()
	// Fyne adds its show/hide button to a password entry without an
	// action item.
	x.Password = true
	x.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	return x
}

// confirmDialog is dialog.ConfirmDialog with buttons that hand Esc on;
// Esc answers No, as the dismiss button does.
type confirmDialog struct {
	dlg *dialog.CustomDialog
	win fyne.Window
	// register makes Esc typed while nothing has the focus answer No
	// (uiEnv.onEscape); nil leaves it to the buttons.
	register func(close func()) (done func())
	yes, no  *widgets.EscButton
	label    *widget.Label
	// answered is set once the callback ran, so that it runs once.
	answered bool
	callback func(bool)
	onClosed func()
}

// newConfirm returns a confirmation (not shown) laid out as Fyne's: a
// question icon, the message centred, No and Yes.
func (e *uiEnv) newConfirm(title, message string, callback func(bool)) *confirmDialog {
	return newConfirmDialog(e.win, e.onEscape, title, message, callback)
}

// newConfirmDialog returns a confirmation over win (not shown); register,
// when not nil, is uiEnv.onEscape.
func newConfirmDialog(win fyne.Window, register func(func()) func(), title, message string, callback func(bool)) *confirmDialog {
	c := &confirmDialog{win: win, register: register, callback: callback}
	c.label = &widget.Label{Text: message, Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord}
	no := func() { c.answer(false) }
	c.no = widgets.NewEscButton("No", theme.CancelIcon(), no)
	c.yes = widgets.NewEscButton("Yes", theme.ConfirmIcon(), func() { c.answer(true) })
	c.no.OnEscape, c.yes.OnEscape = no, no
	c.yes.Importance = widget.HighImportance
	c.dlg = dialog.NewCustomWithoutButtons(title, c.label, win)
	c.dlg.SetIcon(theme.QuestionIcon())
	c.dlg.SetButtons([]fyne.CanvasObject{c.no, c.yes})
	return c
}

// SetConfirmText names the Yes button.
func (c *confirmDialog) SetConfirmText(s string) { c.yes.SetText(s) }

// SetDismissText names the No button.
func (c *confirmDialog) SetDismissText(s string) { c.no.SetText(s) }

// SetConfirmImportance colours the Yes button.
func (c *confirmDialog) SetConfirmImportance(i widget.Importance) {
	c.yes.Importance = i
	c.yes.Refresh()
}

// SetOnClosed runs f after the dialog closes, whatever the answer.
func (c *confirmDialog) SetOnClosed(f func()) { c.onClosed = f }

// Show shows the dialog, as wide as Fyne's confirmation would be; Esc
// answers No until it closes.
func (c *confirmDialog) Show() {
	done := func() {}
	if c.register != nil {
		done = c.register(func() { c.answer(false) })
	}
	c.dlg.SetOnClosed(func() {
		done()
		if c.onClosed != nil {
			c.onClosed()
		}
	})
	c.dlg.Show()
	c.dlg.Resize(textDialogSize(c.win, c.dlg, c.label.Text))
}

// Hide answers No.
func (c *confirmDialog) Hide() { c.answer(false) }

// Confirm answers Yes.
func (c *confirmDialog) Confirm() { c.answer(true) }

// answer closes the dialog and runs the callback once.
func (c *confirmDialog) answer(ok bool) {
	if c.answered {
		return
	}
	c.answered = true
	c.dlg.Hide()
	if c.callback != nil {
		c.callback(ok)
	}
}

// textDialogSize is the size Fyne gives its text dialogs: the message on
// one line if it fits, at most 600 wide and 90% of the window.
func textDialogSize(win fyne.Window, d dialog.Dialog, message string) fyne.Size {
	const padWidth = 32 // Fyne's dialog padding
	w := widget.NewLabel(message).MinSize().Width + padWidth + theme.Padding()*2
	w = min(w, 600, win.Canvas().Size().Width*0.9)
	return fyne.NewSize(w, d.MinSize().Height)
}

// showInfo shows a message with an OK button, as dialog.ShowInformation
// does; Esc closes it.
func (e *uiEnv) showInfo(title, message string) dialog.Dialog {
	return e.showText(title, message, theme.InfoIcon())
}

// showErr shows an error's text with an OK button, as dialog.ShowError
// does; Esc closes it.
func (e *uiEnv) showErr(err error) dialog.Dialog {
	text := err.Error()
	if r, n := utf8.DecodeRuneInString(text); r != utf8.RuneError {
		text = string(unicode.ToUpper(r)) + text[n:]
	}
	return e.showText("Error", text, theme.ErrorIcon())
}

func (e *uiEnv) showText(title, message string, icon fyne.Resource) dialog.Dialog {
	label := &widget.Label{Text: message, Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord}
	d := dialog.NewCustomWithoutButtons(title, label, e.win)
	d.SetIcon(icon)
	d.SetButtons([]fyne.CanvasObject{e.button("OK", nil, d.Hide)})
	d.SetOnClosed(e.onEscape(d.Hide))
	d.Show()
	d.Resize(textDialogSize(e.win, d, message))
	return d
}
