package gui

import (
	"errors"
	"fmt"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/internal/msg"
	"github.com/keydesk/keydesk/workspace"
)

func itoa(n int) string { return strconv.Itoa(n) }

// showError shows a failed operation in plain words, with the technical
// error behind a Details disclosure; Esc closes it.
func (v *keysView) showError(what string, err error) *errorDialog {
	d := v.env.showErrorDialog("Something went wrong", what, err)
	if v.onError != nil {
		v.onError(d)
	}
	return d
}

// showErrorDialog shows newErrorDialog's dialog, which Esc closes.
func (e *uiEnv) showErrorDialog(title, what string, err error) *errorDialog {
	d := newErrorDialog(e.win, title, what, err)
	d.dlg.SetOnClosed(e.onEscape(d.dlg.Hide))
	d.dlg.Show()
	return d
}

// errorDialog says what failed in one plain sentence (with the advice for
// the error, when there is one), and keeps the technical error behind a
// "Details" disclosure, closed at first.
type errorDialog struct {
	dlg   *dialog.CustomDialog
	win   fyne.Window
	plain *widget.Label
	// details opens and closes the technical error's text.
	details   *widgets.EscButton
	technical *widget.Label
	// copyTech copies the technical error (shown with it): the text is not
	// selectable, since a selectable label keeps Esc to itself.
	copyTech *widgets.EscButton
	row      *fyne.Container // Details and Copy
}

// newErrorDialog returns the dialog (not shown) for err, what being what
// failed ("The key was not deleted").
func newErrorDialog(win fyne.Window, title, what string, err error) *errorDialog {
	text := msg.Sentence(what)
	if a := workspace.Advice(err); a != "" {
		text = what + ": " + lowerFirst(a)
	}
	d := &errorDialog{win: win, plain: widget.NewLabel(text)}
	d.plain.Wrapping = fyne.TextWrapWord
	d.technical = widget.NewLabelWithStyle(msg.Sentence(err.Error()), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	d.technical.Wrapping = fyne.TextWrapWord
	d.technical.Hide()
	d.details = widgets.NewEscButton("Details", theme.MenuExpandIcon(), d.toggleDetails)
	d.details.Importance = widget.LowImportance
	d.details.Alignment = widget.ButtonAlignLeading
	d.copyTech = widgets.NewEscButton("Copy", theme.ContentCopyIcon(), func() {
		if cb := fyne.CurrentApp().Clipboard(); cb != nil {
			cb.SetContent(d.technical.Text)
		}
	})
	d.copyTech.Importance = widget.LowImportance
	d.copyTech.Hide()
	d.row = container.NewHBox(d.details, d.copyTech)
	icon := widget.NewIcon(theme.NewErrorThemedResource(theme.ErrorIcon()))
	body := container.NewBorder(nil, nil, container.NewVBox(icon), nil,
		container.NewVBox(d.plain, d.row, d.technical))
	hide := func() { d.dlg.Hide() }
	ok := widgets.NewEscButton("OK", nil, hide)
	ok.Importance = widget.HighImportance
	// Esc closes the dialog while one of its buttons has the focus.
	ok.OnEscape, d.details.OnEscape, d.copyTech.OnEscape = hide, hide, hide
	d.dlg = dialog.NewCustomWithoutButtons(title, body, win)
	d.dlg.SetButtons([]fyne.CanvasObject{ok})
	d.fit()
	return d
}

// toggleDetails opens or closes the technical detail, fitting the dialog
// to it.
func (d *errorDialog) toggleDetails() {
	if d.technical.Visible() {
		d.technical.Hide()
		d.copyTech.Hide()
		d.details.SetIcon(theme.MenuExpandIcon())
	} else {
		d.technical.Show()
		d.copyTech.Show()
		d.details.SetIcon(theme.MenuDropDownIcon())
	}
	d.row.Refresh()
	d.fit()
}

// fit sizes the dialog to its content, at most 520 wide.
func (d *errorDialog) fit() {
	w := min(520, d.win.Canvas().Size().Width-40)
	d.dlg.Resize(fyne.NewSize(w, 0))
	d.dlg.Resize(fyne.NewSize(w, d.dlg.MinSize().Height))
}

// keyCreated reloads the list and shows the new key's secret.
func (v *keysView) keyCreated(k *core.Key, secret string) {
	v.reveal = k.ID
	v.reload()
	v.secret = showSecret(v.env, v.svc.Catalog(), k, secret)
	v.secret.dlg.SetOnClosed(func() { v.secret = nil })
}

// editDialog renames a key: the name is the only thing that can change.
type editDialog struct {
	dlg  *dialog.CustomDialog
	name *widgets.EscEntry
	msg  *widget.Label
	save *widgets.EscButton
}

// editKey opens the rename dialog for a row.
func (v *keysView) editKey(r *keyRow) *editDialog {
	if r == nil || v.refused {
		return nil
	}
	k := r.key
	d := &editDialog{name: widgets.NewEscEntry(), msg: widget.NewLabel("")}
	d.msg.Wrapping = fyne.TextWrapWord
	d.name.SetText(k.Name)
	note := widget.NewLabel("Only the name can be changed. To change the expiration or the scopes, duplicate the key and delete this one.")
	note.Wrapping = fyne.TextWrapWord
	note.Importance = widget.LowImportance
	validate := func() bool {
		_, err := core.CleanName(d.name.Text)
		if err != nil {
			setMessage(d.msg, sentence(err), widget.DangerImportance)
			d.save.Disable()
			return false
		}
		setMessage(d.msg, "", widget.MediumImportance)
		d.save.Enable()
		return true
	}
	var busy bool
	submit := func() {
		if busy || !validate() {
			return
		}
		busy = true
		d.save.Disable()
		name := d.name.Text
		v.env.bg.run(func() func() {
			_, err := v.svc.Rename(k.ID, name)
			return func() {
				busy = false
				if err != nil {
					validate()
					setMessage(d.msg, "The key was not renamed: "+lowerFirst(sentence(err)), widget.DangerImportance)
					return
				}
				d.dlg.Hide()
				v.reload()
			}
		})
	}
	d.save = v.env.button("Save", theme.ConfirmIcon(), submit)
	d.save.Importance = widget.HighImportance
	d.name.OnChanged = func(string) { validate() }
	d.name.OnSubmitted = func(string) { submit() }
	cancel := v.env.button("Cancel", theme.CancelIcon(), func() { d.dlg.Hide() })
	content := container.NewVBox(
		widget.NewLabel(fmt.Sprintf("Key %s…", k.Hint)),
		d.name, d.msg, secondaryText(note))
	d.dlg = dialog.NewCustomWithoutButtons("Edit API key name", content, v.env.win)
	d.dlg.SetButtons([]fyne.CanvasObject{cancel, d.save})
	validate()
	d.dlg.Resize(fyne.NewSize(480, d.dlg.MinSize().Height))
	done := v.env.onEscape(d.dlg.Hide)
	d.dlg.SetOnClosed(done)
	d.name.OnEscape = func() { v.env.escape() }
	d.dlg.Show()
	v.env.win.Canvas().Focus(d.name)
	return d
}

// duplicateKey opens the create dialog pre-filled with a key's name and
// permissions.
func (v *keysView) duplicateKey(r *keyRow) *createDialog {
	if r == nil || v.refused {
		return nil
	}
	return v.openCreate(r.key)
}

// confirmDelete asks before deleting a key; deletion is permanent and takes
// effect for verification at once.
func (v *keysView) confirmDelete(r *keyRow) *confirmDialog {
	if r == nil || v.refused {
		return nil
	}
	k := r.key
	msg := fmt.Sprintf("Delete “%s” (%s…)?\nServices using this key are refused from now on. This cannot be undone.", k.Name, k.Hint)
	d := v.env.newConfirm("Delete API key", msg, func(ok bool) {
		if !ok {
			return
		}
		v.env.bg.run(func() func() {
			_, err := v.svc.Delete(k.ID)
			return func() {
				switch {
				case errors.Is(err, core.ErrNotFound):
					v.showError("The key was not deleted: it no longer exists (deleted in another window or by another administrator)", err)
				case err != nil:
					v.showError("The key was not deleted", err)
				}
				v.reload()
			}
		})
	})
	d.SetConfirmText("Delete")
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
	return d
}

// chosenPath is the path of the file a file dialog hands its callback (f,
// err), which it closes: false when the dialog was cancelled or failed.
func chosenPath(f interface {
	URI() fyne.URI
	Close() error
}, err error) (string, bool) {
	if err != nil || f == nil {
		return "", false
	}
	path := f.URI().Path()
	_ = f.Close() // only its path is wanted
	return path, true
}
