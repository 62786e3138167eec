package gui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// TestCreateCalendarTakesTodayFromTheClock: the custom expiry's calendar
// greys out the days before the window's clock's today and marks today
// (it used time.Now, and disabled nothing); Esc closes the calendar
// before the dialog.
func TestCreateCalendarTakesTodayFromTheClock(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	f.clock.Set(time.Date(2031, time.May, 20, 8, 0, 0, 0, time.UTC))
	d := f.openCreate()
	test.Tap(d.customBtn)
	d.customDate.SetText("")
	d.customDate.Date = nil
	test.Tap(d.customDate.ActionItem.(fyne.Tappable))
	cal := d.customDate.Calendar()
	if cal == nil {
		t.Fatal("the calendar did not open")
	}
	if m := cal.Month(); m.Year() != 2031 || m.Month() != time.May {
		t.Fatalf("the calendar opened at %v, want the clock's month (May 2031)", m)
	}
	for day, past := range map[int]bool{1: true, 19: true, 20: false, 31: false} {
		if b := cal.DayButton(day); b.Disabled() != past {
			t.Errorf("May %d: disabled %v, want %v", day, b.Disabled(), past)
		}
	}
	if b := cal.DayButton(20); !cal.IsToday(b) || b.Importance != widget.MediumImportance {
		t.Error("today (the clock's) is not marked")
	}
	f.win.Canvas().Unfocus()
	f.pressEsc()
	if d.customDate.Calendar() != nil || f.keys.creating != d {
		t.Fatal("Esc did not close the calendar alone")
	}
	test.Tap(d.customDate.ActionItem.(fyne.Tappable))
	test.Tap(d.customDate.Calendar().DayButton(21))
	if d.customDate.Date == nil || d.customDate.Date.Day() != 21 || d.customDate.Calendar() != nil {
		t.Fatalf("picking May 21 set %v", d.customDate.Date)
	}
}
