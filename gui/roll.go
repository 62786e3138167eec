package gui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/workspace"
)

// graceLabel names a grace choice of the roll dialog (core.GraceChoices).
func graceLabel(d time.Duration) string {
	switch {
	case d <= 0:
		return "None: the old key stops at once"
	case d == core.DefaultGrace:
		return "24 hours (recommended)"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d == time.Hour:
		return "1 hour"
	}
	return d.String()
}

// rollDialog replaces a key by a new one with the same name and
// permissions, letting the old one work for a grace period.
type rollDialog struct {
	v      *keysView
	key    *core.Key
	dlg    *dialog.CustomDialog
	grace  *widgets.RadioGroup
	graces map[string]time.Duration
	plan   *widget.Label
	msg    *widget.Label
	roll   *widgets.EscButton
	busy   bool
}

// canRoll reports whether k can be rolled at now: active, intact and not
// rolled already.
func canRoll(k *core.Key, now time.Time) bool {
	return !k.Tampered && k.RolledTo == "" && !k.Expired(now)
}

// rollTip is the tooltip of a row's Roll button: what it does, or why it
// is off.
func rollTip(k *core.Key, now time.Time, refused bool) string {
	switch {
	case refused:
		return workspace.OffRefused
	case k.Tampered:
		return workspace.OffTampered
	case k.RolledTo != "":
		return workspace.OffRolled
	case k.Expired(now):
		return workspace.OffExpired
	}
	return rollTipOn
}

// rollTipOn is the tooltip of a Roll button that is on.
const rollTipOn = "Roll… (replace with a new key)"

// editTip is the tooltip of a row's Edit button: what it does, or why it
// is off.
func editTip(k *core.Key, refused bool) string {
	switch {
	case refused:
		return workspace.OffRefused
	case k.Tampered:
		return workspace.OffTampered
	}
	return editTipOn
}

// editTipOn is the tooltip of an Edit button that is on.
const editTipOn = "Edit the name"

// openRoll opens the roll dialog for a row.
func (v *keysView) openRoll(r *keyRow) *rollDialog {
	if r == nil || v.refused {
		return nil
	}
	k := r.key
	d := &rollDialog{v: v, key: k, graces: map[string]time.Duration{}}
	labels := make([]string, 0, len(core.GraceChoices))
	for _, g := range core.GraceChoices {
		l := graceLabel(g)
		labels = append(labels, l)
		d.graces[l] = g
	}
	lastUsed := "It has never been used."
	if !k.LastUsedAt.IsZero() {
		lastUsed = "It was last used " + core.FormatRelative(k.LastUsedAt, v.now) + "."
	}
	intro := widget.NewLabel(fmt.Sprintf(
		"Rolling creates a new key with the same name and permissions and shows its secret once. "+
			"Every service, script or app that sends the key starting %s… must switch to the new key "+
			"before the old one stops. %s", k.Hint, lastUsed))
	intro.Wrapping = fyne.TextWrapWord
	d.plan = widget.NewLabel("")
	d.plan.Wrapping = fyne.TextWrapWord
	d.msg = newFieldMessage()
	d.grace = v.env.radio(labels, func(string) { d.update() })
	d.grace.Required = true
	d.grace.SetSelected(graceLabel(core.DefaultGrace))

	d.roll = v.env.button("Roll key", theme.ViewRefreshIcon(), d.submit)
	d.roll.Importance = widget.HighImportance
	cancel := v.env.button("Cancel", theme.CancelIcon(), func() { d.dlg.Hide() })
	content := container.NewVBox(
		widget.NewLabelWithStyle(fmt.Sprintf("%s (%s…)", k.Name, k.Hint), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		intro,
		boldLabel("How long may the old key keep working?"),
		d.grace,
		d.plan,
		d.msg,
	)
	d.dlg = dialog.NewCustomWithoutButtons("Roll API key", content, v.env.win)
	d.dlg.SetButtons([]fyne.CanvasObject{cancel, d.roll})
	d.update()
	d.dlg.Resize(fyne.NewSize(560, d.dlg.MinSize().Height+20))
	d.dlg.SetOnClosed(v.env.onEscape(d.dlg.Hide))
	d.dlg.Show()
	return d
}

// selectedGrace is the grace period chosen.
func (d *rollDialog) selectedGrace() time.Duration {
	if g, ok := d.graces[d.grace.Selected]; ok {
		return g
	}
	return core.DefaultGrace
}

// update says what the roll would do with the chosen grace
// (core.Service.PlanRoll, which changes nothing).
func (d *rollDialog) update() {
	if d.plan == nil {
		return
	}
	loc := d.v.env.loc
	p, err := d.v.svc.PlanRoll(d.key.ID, d.selectedGrace())
	if err != nil {
		d.plan.SetText("")
		setMessage(d.msg, "This key cannot be rolled: "+lowerFirst(sentence(err)), widget.DangerImportance)
		if d.roll != nil {
			d.roll.Disable()
		}
		return
	}
	now := p.New.CreatedAt
	var old string
	switch {
	case !p.OldExpiresAt.After(now):
		old = "The old key stops working at once."
	case p.OldExpiresAt.Equal(p.Old.ExpiresAt):
		old = fmt.Sprintf("The old key keeps working until its own expiry, %s (%s), which comes first.",
			formatDateTime(p.OldExpiresAt, loc), core.FormatRelative(p.OldExpiresAt, now))
	default:
		old = fmt.Sprintf("The old key keeps working until %s (%s), then stops.",
			formatDateTime(p.OldExpiresAt, loc), core.FormatRelative(p.OldExpiresAt, now))
	}
	d.plan.SetText(old + fmt.Sprintf(" The new key expires %s.", formatDate(p.New.ExpiresAt, loc)))
	setMessage(d.msg, "", widget.MediumImportance)
	if d.roll != nil && !d.busy {
		d.roll.Enable()
	}
}

// submit rolls the key off the UI goroutine, then shows the new secret.
func (d *rollDialog) submit() {
	if d.busy {
		return
	}
	d.busy = true
	d.roll.Disable()
	v, id, grace := d.v, d.key.ID, d.selectedGrace()
	v.env.bg.run(func() func() {
		res, err := v.svc.Roll(id, grace)
		return func() {
			d.busy = false
			if err != nil {
				d.roll.Enable()
				setMessage(d.msg, "The key was not rolled: "+lowerFirst(sentence(err)), widget.DangerImportance)
				return
			}
			d.dlg.Hide()
			v.keyCreated(res.New, res.Secret)
		}
	})
}

// selectKey selects and scrolls to the row of key id, clearing a search
// that hides it; it does nothing when the key is gone.
func (v *keysView) selectKey(id string) {
	if v.model.find(id) != nil {
		v.revealKey(id)
	}
}

// rolledText is what the Expires column shows for a rolled key that still
// works: "Rolled · stops in 23 hours".
func rolledText(k *core.Key, now time.Time) string {
	return "Rolled · stops " + core.FormatRelative(k.ExpiresAt, now)
}

// linkText is the name column's link of a rolled key: to the key that
// replaced it, or to the key it replaced; target is "" when that key is
// gone (and text too for a key rolled to a deleted one).
func (r *keyRow) linkText() (text, target string) {
	k := r.key
	switch {
	case k.RolledTo != "":
		if r.link != nil {
			return "rolled to " + r.link.key.Hint + "…", k.RolledTo
		}
		return "", ""
	case k.RolledFrom != "":
		if r.link != nil {
			return "rolled from " + r.link.key.Hint + "…", k.RolledFrom
		}
		return "rolled from a deleted key", ""
	}
	return "", ""
}
