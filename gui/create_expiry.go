package gui

// The create dialog's expiration: the presets, the custom date and time.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
)

// customLayout is how tests and the default spell a custom expiry, in the
// local time zone; the dialog shows it as a date picker and a time.
const customLayout = "2006-01-02 15:04"

// customTimeLayout is how the create dialog reads a custom expiry's time.
const customTimeLayout = "15:04"

// Errors shown when the custom expiry cannot be read.
var (
	errCustomDate = errors.New("choose the expiry date with the calendar button beside it")
	errCustomTime = errors.New("enter the expiry time as hour:minute, for example 17:00")
)

// defaultPreset is the index of the 12-month preset, the default.
func defaultPreset() int { return len(core.Presets) - 1 }

// globalPreset is the index of the 7-day preset, Global Development Access's
// maximum.
func globalPreset() int {
	for i, p := range core.Presets {
		if p.Lifetime == (core.Lifetime{Duration: core.GlobalMaxLifetime}) {
			return i
		}
	}
	return 0
}

// choose selects an expiry preset, or the custom date.
func (d *createDialog) choose(i int) {
	d.choice = i
	if i == customChoice && d.customDate.Date == nil && d.customDate.Text == "" {
		def := d.svc.Now().Add(30 * 24 * time.Hour)
		if d.plan != nil {
			def = d.plan.ExpiresAt
		}
		d.setCustom(def.In(d.v.env.loc))
	}
	d.update()
}

// setCustom shows t (in the local time zone) as the custom expiry.
func (d *createDialog) setCustom(t time.Time) {
	ready := d.ready
	d.ready = false // one update, below
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	d.customDate.SetDate(&day)
	// The example is a real date: the one the picker starts at.
	d.customDate.SetPlaceHolder(d.customDate.Text)
	d.customTime.SetText(t.Format(customTimeLayout))
	d.ready = ready
	d.update()
}

// customExpiry reads the custom expiry: the picked date at the time typed,
// in the local time zone.
func (d *createDialog) customExpiry() (time.Time, error) {
	day := d.customDate.Date
	// The picker keeps its last date while the text typed does not parse:
	// check the text with its own validator (not Validate, which reports
	// back here through the validation callback).
	valid := d.customDate.Validator == nil || d.customDate.Validator(d.customDate.Text) == nil
	if day == nil || strings.TrimSpace(d.customDate.Text) == "" || !valid {
		return time.Time{}, errCustomDate
	}
	tm, err := time.Parse(customTimeLayout, strings.TrimSpace(d.customTime.Text))
	if err != nil {
		return time.Time{}, errCustomTime
	}
	return time.Date(day.Year(), day.Month(), day.Day(), tm.Hour(), tm.Minute(), 0, 0, d.v.env.loc), nil
}

// updateExpiration enables the presets allowed for the permissions' kind
// (a preset that breaks a rule is disabled), highlights the chosen one and
// shows when the key would expire. It returns that time and the
// expiration's error (lifeErr: the custom date could not be read).
func (d *createDialog) updateExpiration(req core.CreateRequest, created time.Time, lifeErr error) (time.Time, error) {
	kind := req.Permissions.Kind
	for i, b := range d.presets {
		if core.Presets[i].Allowed(created, kind) {
			b.Enable()
		} else {
			b.Disable()
		}
		imp := widget.MediumImportance
		if i == d.choice {
			imp = widget.HighImportance
		}
		b.Importance = imp
		b.Refresh()
	}
	d.customBtn.Importance = widget.MediumImportance
	if d.choice == customChoice {
		d.customBtn.Importance = widget.HighImportance
	}
	if show := d.choice == customChoice; show != d.customRow.Visible() {
		setVisible(d.customRow, show)
		// Lay the form out again: its height changed.
		d.expiryBox.Refresh()
		if d.left != nil {
			d.left.Refresh()
		}
	}
	d.customBtn.Refresh()
	expires := req.Lifetime.ExpiresAt(created, kind)
	expErr := lifeErr
	if expErr == nil {
		expErr = core.CheckExpiry(created, expires, kind)
	}
	if expErr != nil {
		setMessage(d.expiryMsg, sentence(expErr), widget.DangerImportance)
	} else {
		setMessage(d.expiryMsg, fmt.Sprintf("Expires %s (%s).", formatLong(expires, d.v.env.loc),
			core.FormatRelative(expires, created)), widget.LowImportance)
	}
	return expires, expErr
}
