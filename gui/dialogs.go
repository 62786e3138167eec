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
)

func itoa(n int) string { return strconv.Itoa(n) }

// showError shows a failed operation as one sentence.
func (v *keysView) showError(what string, err error) {
	dialog.ShowError(errors.New(what+": "+lowerFirst(sentence(err))), v.env.win)
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
	save *widget.Button
}

// editKey opens the rename dialog for a row.
func (v *keysView) editKey(r *keyRow) *editDialog {
	if r == nil {
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
	d.save = widget.NewButtonWithIcon("Save", theme.ConfirmIcon(), submit)
	d.save.Importance = widget.HighImportance
	d.name.OnChanged = func(string) { validate() }
	d.name.OnSubmitted = func(string) { submit() }
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { d.dlg.Hide() })
	content := container.NewVBox(
		widget.NewLabel(fmt.Sprintf("Key %s…", k.Hint)),
		d.name, d.msg, note)
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
	if r == nil {
		return nil
	}
	return v.openCreate(r.key)
}

// confirmDelete asks before deleting a key; deletion is permanent and takes
// effect for verification at once.
func (v *keysView) confirmDelete(r *keyRow) *dialog.ConfirmDialog {
	if r == nil {
		return nil
	}
	k := r.key
	msg := fmt.Sprintf("Delete “%s” (%s…)?\nServices using this key are refused from now on. This cannot be undone.", k.Name, k.Hint)
	d := dialog.NewConfirm("Delete API key", msg, func(ok bool) {
		if !ok {
			return
		}
		v.env.bg.run(func() func() {
			_, err := v.svc.Delete(k.ID)
			return func() {
				if err != nil {
					v.showError("The key was not deleted", err)
				}
				v.reload()
			}
		})
	}, v.env.win)
	d.SetConfirmText("Delete")
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	v.env.showConfirm(d)
	return d
}
