package gui

import (
	"fmt"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
)

// detailsDialog shows one key in full: its id (with Copy, for the command
// line), name, hint, every scope with its titles, its dates, roll links,
// its audit entries and the row's actions. It never shows a secret: the
// key record holds only the hint and the digest.
type detailsDialog struct {
	dlg      *dialog.CustomDialog
	key      *core.Key
	copyID   *widget.Button
	activity *fyne.Container
	// entries are the key's audit entries once loaded, newest first.
	entries []core.AuditEvent
}

// detailTime is a time in the local zone with UTC in brackets, or "never".
func detailTime(t time.Time, now time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	s := formatDateTime(t, loc) + " · " + relTime(t, now)
	if loc != time.UTC {
		s += "  (" + formatUTC(t) + ")"
	}
	return s
}

// showDetails opens the details of the key of row r. The key's audit
// entries are read off the UI goroutine.
func (v *keysView) showDetails(r *keyRow) *detailsDialog {
	if r == nil {
		return nil
	}
	k := r.key
	loc := v.env.loc
	d := &detailsDialog{key: k}

	mono := fyne.TextStyle{Monospace: true}
	id := widget.NewLabelWithStyle(k.ID, fyne.TextAlignLeading, mono)
	id.Selectable = true
	d.copyID = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		if v.env.clipboard != nil {
			v.env.clipboard.SetContent(k.ID)
		}
	})
	form := container.New(layout.NewFormLayout())
	add := func(label string, o fyne.CanvasObject) {
		form.Add(widget.NewLabelWithStyle(label, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true}))
		form.Add(o)
	}
	text := func(s string) *widget.Label {
		l := widget.NewLabel(s)
		l.Wrapping = fyne.TextWrapWord
		return l
	}
	add("Id", container.NewBorder(nil, nil, nil, d.copyID, id))
	add("Name", text(k.Name))
	add("Key", widget.NewLabelWithStyle(k.Hint+"…", fyne.TextAlignLeading, mono))
	add("Created", text(detailTime(k.CreatedAt, v.now, loc)))
	expires := text(detailTime(k.ExpiresAt, v.now, loc))
	if k.Expired(v.now) {
		expires.Importance = widget.DangerImportance
	}
	add("Expires", expires)
	add("Last used", text(detailTime(k.LastUsedAt, v.now, loc)))
	if k.Tampered {
		warn := text("The stored record does not match its signature: the key never verifies. Delete it.")
		warn.Importance = widget.WarningImportance
		add("Tampered", warn)
	}
	if lt, to := v.linkText(k); lt != "" {
		var o fyne.CanvasObject = text(lt)
		if to != "" {
			o = widget.NewHyperlink(lt, nil)
			o.(*widget.Hyperlink).OnTapped = func() {
				d.dlg.Hide()
				v.selectKey(to)
			}
		}
		add("Rolled", o)
	}

	cat := v.svc.Catalog()
	scopes := container.New(layout.NewFormLayout())
	for _, s := range k.Scopes {
		info := cat.Describe(s)
		scopes.Add(widget.NewLabelWithStyle(s, fyne.TextAlignLeading, mono))
		scopes.Add(widget.NewLabel(info.Section + " · " + info.Access))
	}
	n := fmt.Sprintf("%d scopes", len(k.Scopes))
	if len(k.Scopes) == 1 {
		n = "1 scope"
	}

	loading := widget.NewLabel("Loading the key's activity…")
	loading.Importance = widget.LowImportance
	d.activity = container.NewVBox(loading)

	heading := func(s string) *widget.Label {
		return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	body := container.NewVBox(form, widget.NewSeparator(), heading(n), scopes,
		widget.NewSeparator(), heading("Activity"), d.activity)
	scroll := container.NewVScroll(body)

	closeBtn := widget.NewButtonWithIcon("Close", theme.CancelIcon(), func() { d.dlg.Hide() })
	act := func(label string, icon fyne.Resource, f func()) *widget.Button {
		return widget.NewButtonWithIcon(label, icon, func() {
			d.dlg.Hide()
			f()
		})
	}
	edit := act("Edit name", theme.DocumentCreateIcon(), func() { v.editKey(r) })
	if k.Tampered {
		edit.Disable()
	}
	dup := act("Duplicate", duplicateIcon, func() { v.duplicateKey(r) })
	roll := act("Roll…", theme.ViewRefreshIcon(), func() { v.openRoll(r) })
	if !canRoll(k, v.now) {
		roll.Disable()
	}
	del := act("Delete", theme.DeleteIcon(), func() { v.confirmDelete(r) })
	del.Importance = widget.DangerImportance

	d.dlg = dialog.NewCustomWithoutButtons("API key: "+k.Name, scroll, v.env.win)
	d.dlg.SetButtons([]fyne.CanvasObject{edit, dup, roll, del, closeBtn})
	done := v.env.onEscape(d.dlg.Hide)
	d.dlg.SetOnClosed(done)
	size := v.env.win.Canvas().Size()
	d.dlg.Resize(fyne.NewSize(min(760, size.Width-40), min(620, size.Height-40)))
	d.dlg.Show()

	if v.audit != nil {
		src, keyID := v.audit, k.ID
		v.env.bg.run(func() func() {
			events, err := src.Audit()
			var mine []core.AuditEvent
			for _, ev := range events {
				if ev.KeyID == keyID {
					mine = append(mine, ev)
				}
			}
			slices.SortStableFunc(mine, func(a, b core.AuditEvent) int { return b.Time.Compare(a.Time) })
			return func() { d.showActivity(mine, err, loc) }
		})
	} else {
		loading.SetText("No activity log in this window.")
	}
	return d
}

// showActivity lists the key's audit entries, newest first.
func (d *detailsDialog) showActivity(events []core.AuditEvent, err error, loc *time.Location) {
	d.entries = events
	d.activity.RemoveAll()
	switch {
	case err != nil:
		l := widget.NewLabel("The activity log could not be read: " + lowerFirst(sentence(err)))
		l.Importance = widget.DangerImportance
		l.Wrapping = fyne.TextWrapWord
		d.activity.Add(l)
	case len(events) == 0:
		l := widget.NewLabel("No entries for this key.")
		l.Importance = widget.LowImportance
		d.activity.Add(l)
	default:
		grid := container.New(layout.NewFormLayout())
		for _, ev := range events {
			grid.Add(widget.NewLabel(formatDateTime(ev.Time, loc)))
			line := actionLabel(ev.Action)
			if ev.Actor != "" {
				line += " by " + ev.Actor
			}
			if ev.Detail != "" {
				line += " · " + ev.Detail
			}
			l := widget.NewLabel(line)
			l.Wrapping = fyne.TextWrapWord
			grid.Add(l)
		}
		d.activity.Add(grid)
	}
	d.activity.Refresh()
}
