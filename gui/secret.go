package gui

import (
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/workspace"
)

// clipboardClearAfter is how long a copied secret may stay on the clipboard.
const clipboardClearAfter = 60 * time.Second

// secretDialog shows a new key's secret, the only time it is ever shown,
// with a Copy button. Closing it without copying asks for confirmation.
type secretDialog struct {
	env     *uiEnv
	dlg     *dialog.CustomDialog
	secret  string
	copied  bool
	field   *widgets.MonoField
	copyBtn *widgets.EscButton
	done    *widgets.EscButton
	status  *widget.Label
	confirm *confirmDialog
}

// showSecret opens the secret dialog for a key just created.
func showSecret(env *uiEnv, cat *core.Catalog, k *core.Key, secret string) *secretDialog {
	d := &secretDialog{env: env, secret: secret}
	warn := widget.NewLabel("Copy the key now and keep it somewhere safe: this is the only time Keydesk shows it. " +
		"Only its first characters are kept, so it cannot be shown again.")
	warn.Wrapping = fyne.TextWrapWord
	warn.Importance = widget.WarningImportance
	warn.TextStyle.Bold = true

	scopes := widget.NewLabel(describeScopes(cat, k.Scopes))
	scopes.Wrapping = fyne.TextWrapWord

	d.field = widgets.NewMonoField(secret)
	d.copyBtn = env.button("Copy", theme.ContentCopyIcon(), d.copy)
	d.copyBtn.Importance = widget.HighImportance
	d.status = widget.NewLabel("")
	d.status.Wrapping = fyne.TextWrapWord
	d.status.Hide()

	form := container.New(layout.NewFormLayout(),
		boldLabel("Name"), widget.NewLabel(k.Name),
		boldLabel("Scopes"), scopes,
		boldLabel("Expires"), widget.NewLabel(formatLong(k.ExpiresAt, env.loc)),
		boldLabel("API key"), container.NewBorder(nil, nil, nil, d.copyBtn, d.field),
	)
	content := container.NewVBox(
		container.NewBorder(nil, nil, widget.NewIcon(theme.WarningIcon()), nil, warn),
		widget.NewSeparator(),
		form,
		d.status,
	)
	if env.demo {
		content.Objects = append([]fyne.CanvasObject{widgets.NewBanner(workspace.DemoNotice, theme.ColorNameWarning)}, content.Objects...)
	}
	d.done = env.button("Done", theme.ConfirmIcon(), d.close)
	d.dlg = dialog.NewCustomWithoutButtons("API key created", content, env.win)
	d.dlg.SetButtons([]fyne.CanvasObject{d.done})
	// Esc is Done: it asks first when the key was not copied.
	d.dlg.SetOnClosed(env.onEscape(d.close))
	d.dlg.Resize(fyne.NewSize(720, d.dlg.MinSize().Height+40))
	d.dlg.Show()
	return d
}

// describeScopes lists scopes with their meaning, one per line.
func describeScopes(cat *core.Catalog, scopes []string) string {
	lines := make([]string, 0, min(len(scopes), maxTipScopes+1))
	for i, s := range scopes {
		if i == maxTipScopes {
			lines = append(lines, "and "+itoa(len(scopes)-maxTipScopes)+" more")
			break
		}
		info := cat.Describe(s)
		lines = append(lines, s+" — "+scopeTitles(info))
	}
	return strings.Join(lines, "\n")
}

// copy puts the key on the clipboard and clears it 60 seconds later, or
// when the window closes first, if it still holds the key.
func (d *secretDialog) copy() {
	d.env.copySecret(d.secret)
	d.copied = true
	d.status.SetText("Copied. Keydesk clears the clipboard in 60 seconds if it still holds the key.")
	d.status.Importance = widget.SuccessImportance
	d.status.Show()
	d.copyBtn.SetText("Copied")
	d.copyBtn.SetIcon(theme.ConfirmIcon())
}

// copySecret puts secret on the clipboard and takes it off again after
// clipboardClearAfter if the clipboard still holds it.
func (env *uiEnv) copySecret(secret string) {
	env.clipboard.SetContent(secret)
	if env.copied == nil {
		env.copied = map[string]struct{}{}
	}
	env.copied[secret] = struct{}{}
	env.bg.after(clipboardClearAfter, func() {
		delete(env.copied, secret)
		if env.clipboard.Content() == secret {
			env.clipboard.SetContent("")
		}
	})
}

// clearCopiedSecrets takes a copied secret off the clipboard now, if the
// clipboard still holds one; the window calls it when it closes or the app
// quits, before the 60 seconds are up.
func (env *uiEnv) clearCopiedSecrets() {
	if len(env.copied) == 0 {
		return
	}
	if _, held := env.copied[env.clipboard.Content()]; held {
		env.clipboard.SetContent("")
	}
	clear(env.copied)
}

// close closes the dialog, asking first if the key was not copied (Esc
// on the question goes back to the key: the question takes Esc while it
// is open).
func (d *secretDialog) close() {
	if d.copied {
		d.dlg.Hide()
		return
	}
	d.confirm = d.env.newConfirm("Close without copying the key?",
		"You have not copied the key. Once this window is closed it cannot be shown again:\nyou would have to create a new key.",
		func(ok bool) {
			if ok {
				d.dlg.Hide()
			}
		})
	d.confirm.SetConfirmText("Close without copying")
	d.confirm.SetDismissText("Go back")
	d.confirm.SetConfirmImportance(widget.DangerImportance)
	d.confirm.Show()
}
