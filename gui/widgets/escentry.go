package widgets

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// EscEntry is an entry that hands the Esc key to OnEscape (a dialog closes
// on Esc even while the cursor is in one of its fields; a plain entry keeps
// the key to itself).
type EscEntry struct {
	widget.Entry
	EscKeys
}

// NewEscEntry returns an empty single-line entry.
func NewEscEntry() *EscEntry {
	e := &EscEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey runs OnEscape on Esc; other keys edit the text as in
// widget.Entry.
func (e *EscEntry) TypedKey(k *fyne.KeyEvent) { e.typedKey(k, e.Entry.TypedKey) }

// FocusGained shows the cursor and runs OnFocus.
func (e *EscEntry) FocusGained() { e.focusGained(e, e.Entry.FocusGained) }

// EscDateEntry is a date entry with a calendar drop-down that hands the Esc
// key to OnEscape, as EscEntry does. Its calendar (Calendar, not Fyne's)
// greys out the days before today and marks today, today being Now's.
type EscDateEntry struct {
	widget.DateEntry
	EscKeys
	// Now is the clock the calendar takes today from (the window's
	// injected clock); nil is time.Now.
	Now func() time.Time
	// RegisterEscape, when set (the window's Esc actions), makes Esc
	// typed while nothing has the focus close the open calendar first; it
	// returns the function that drops the action.
	RegisterEscape func(close func()) (done func())

	calendar *Calendar
	popUp    *widget.PopUp
}

// NewEscDateEntry returns an empty date entry. Its calendar opens at the
// month of the date entered (widget.DateEntry's opens at the current
// month whatever the date).
func NewEscDateEntry() *EscDateEntry {
	e := &EscDateEntry{}
	b := NewEscButton("", theme.CalendarIcon(), e.openCalendar)
	b.OnEscape = func() {
		if e.OnEscape != nil {
			e.OnEscape()
		}
	}
	b.Importance = widget.LowImportance
	e.ActionItem = b
	e.ExtendBaseWidget(e)
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	return e
}

// Calendar returns the calendar drop-down while it is open, or nil.
func (e *EscDateEntry) Calendar() *Calendar {
	if e.popUp == nil || !e.popUp.Visible() {
		return nil
	}
	return e.calendar
}

// openCalendar drops the calendar down under the entry, at the month of
// the date entered (today's when there is none). Esc closes it.
func (e *EscDateEntry) openCalendar() {
	c := fyne.CurrentApp().Driver().CanvasForObject(e)
	if c == nil {
		return
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	var start time.Time
	if e.Date != nil {
		start = *e.Date
	}
	done := func() {}
	hide := func() {
		e.popUp.Hide()
		done()
	}
	e.calendar = NewCalendar(start, now(), func(t time.Time) {
		hide()
		e.SetDate(&t)
	})
	e.calendar.OnEscape = hide
	e.popUp = widget.NewPopUp(e.calendar, c)
	if e.RegisterEscape != nil {
		popUp := e.popUp
		done = e.RegisterEscape(func() {
			if popUp.Visible() {
				hide()
				return
			}
			// Closed by a tap outside it: Esc is the dialog's again.
			done()
			if e.OnEscape != nil {
				e.OnEscape()
			}
		})
	}
	// Under the entry; above it when the window has no room below, as
	// in a small window.
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(e)
	h := e.popUp.MinSize().Height
	y := pos.Y + e.Size().Height
	if y+h > c.Size().Height {
		y = max(0, min(pos.Y-h, c.Size().Height-h))
	}
	e.popUp.ShowAtPosition(fyne.NewPos(pos.X, y))
	e.popUp.Resize(fyne.NewSize(max(e.Size().Width, e.popUp.MinSize().Width), h))
}

// TypedKey runs OnEscape on Esc; other keys edit the text as in
// widget.DateEntry.
func (e *EscDateEntry) TypedKey(k *fyne.KeyEvent) { e.typedKey(k, e.DateEntry.TypedKey) }

// FocusGained shows the cursor and runs OnFocus.
func (e *EscDateEntry) FocusGained() { e.focusGained(e, e.DateEntry.FocusGained) }
