package widgets

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

func TestFitTruncationOnlyWhenTheTextDoesNotFit(t *testing.T) {
	test.NewTempApp(t)
	l := widget.NewLabel("")
	l.Resize(fyne.NewSize(300, 36))
	if got := FitTruncation(l, "Short name", fyne.TextStyle{}); got != fyne.TextTruncateOff {
		t.Errorf("a text that fits: truncation %v, want off", got)
	}
	long := "A very long key name that cannot fit in a 300-wide label at all, not even close"
	if got := FitTruncation(l, long, fyne.TextStyle{}); got != fyne.TextTruncateEllipsis {
		t.Errorf("a text that does not fit: truncation %v, want an ellipsis", got)
	}
}

func TestHeaderCellShowsTheSortAndTaps(t *testing.T) {
	test.NewTempApp(t)
	h := NewHeaderCell()
	h.Resize(fyne.NewSize(200, 36))
	h.Set("Expires", true, true)
	if !h.Arrow().Visible() || h.Arrow().Resource != theme.MenuDropDownIcon() || h.Label().Text != "Expires" {
		t.Errorf("sorted descending: arrow %v %v, title %q", h.Arrow().Visible(), h.Arrow().Resource, h.Label().Text)
	}
	h.Set("Name", false, false)
	if h.Arrow().Visible() {
		t.Error("an unsorted column shows an arrow")
	}
	tapped := 0
	test.Tap(h)
	h.OnTap = func() { tapped++ }
	test.Tap(h)
	if tapped != 1 {
		t.Errorf("OnTap ran %d times, want 1", tapped)
	}
}

func TestTipLayerShowsAndHidesTheTipOfALabel(t *testing.T) {
	test.NewTempApp(t)
	layer := NewTipLayer()
	l := NewTipLabel(layer)
	l.SetText("3")
	w := test.NewTempWindow(t, container.NewStack(l, layer))
	w.Resize(fyne.NewSize(300, 200))
	tip := widget.NewLabel("3 scopes")
	l.SetTip(func() fyne.CanvasObject { return tip })
	test.MoveMouse(w.Canvas(), fyne.NewPos(5, 5))
	if layer.Tip() != tip {
		t.Fatal("hovering the label shows no tip")
	}
	l.SetTip(nil) // a recycled cell
	if layer.Tip() != nil {
		t.Error("the tip of a label's former content stays shown")
	}
}

func TestTipButtonNamesItsActionOnHover(t *testing.T) {
	test.NewTempApp(t)
	layer := NewTipLayer()
	tapped := 0
	b := NewTipButton(layer, theme.DeleteIcon(), "Delete this key", func() { tapped++ })
	w := test.NewTempWindow(t, container.NewStack(container.NewWithoutLayout(b), layer))
	w.Resize(fyne.NewSize(300, 200))
	b.Resize(b.MinSize())
	test.MoveMouse(w.Canvas(), fyne.NewPos(10, 10))
	l, ok := layer.Tip().(*widget.Label)
	if !ok || l.Text != "Delete this key" {
		t.Fatalf("hovering the button shows %v, want its label", layer.Tip())
	}
	test.MoveMouse(w.Canvas(), fyne.NewPos(250, 150))
	if layer.Tip() != nil {
		t.Error("the tip stays after the mouse left")
	}
	test.Tap(b)
	if tapped != 1 {
		t.Errorf("tapped %d times", tapped)
	}
}

// TestDateEntryCalendarOpensAtItsDate: the calendar drops down at the
// month of the date entered, not at today's; picking a day sets it and
// closes the calendar; Esc on one of its buttons closes it.
func TestDateEntryCalendarOpensAtItsDate(t *testing.T) {
	test.NewTempApp(t)
	e := NewEscDateEntry()
	e.Now = func() time.Time { return time.Date(2030, time.June, 10, 9, 0, 0, 0, time.Local) }
	w := test.NewTempWindow(t, container.NewVBox(e))
	w.Resize(fyne.NewSize(400, 500))
	d := time.Date(2031, time.March, 15, 0, 0, 0, 0, time.Local)
	e.SetDate(&d)
	test.Tap(e.ActionItem.(fyne.Tappable))
	cal := e.Calendar()
	if cal == nil {
		t.Fatal("the calendar did not open")
	}
	if m := cal.Month(); m.Year() != 2031 || m.Month() != time.March {
		t.Fatalf("the calendar opened at %v, want March 2031", m)
	}
	if b := cal.DayButton(15); b == nil || b.Importance != widget.HighImportance {
		t.Error("the date entered is not marked")
	}
	cal.DayButton(3).TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if e.Calendar() != nil {
		t.Fatal("Esc on a day did not close the calendar")
	}
	test.Tap(e.ActionItem.(fyne.Tappable))
	test.Tap(e.Calendar().DayButton(20))
	if e.Date == nil || !e.Date.Equal(time.Date(2031, time.March, 20, 0, 0, 0, 0, time.Local)) || e.Calendar() != nil {
		t.Errorf("after picking the 20th: date %v, calendar open %v", e.Date, e.Calendar() != nil)
	}
}

// TestCalendarGreysOutThePastAndMarksToday: on the clock given (not the
// machine's), the days before today are disabled, today is marked, and
// the calendar does not go back before today's month.
func TestCalendarGreysOutThePastAndMarksToday(t *testing.T) {
	test.NewTempApp(t)
	today := time.Date(2029, time.February, 14, 23, 30, 0, 0, time.UTC)
	var picked time.Time
	c := NewCalendar(time.Time{}, today, func(d time.Time) { picked = d })
	test.NewTempWindow(t, c)
	if m := c.Month(); m.Year() != 2029 || m.Month() != time.February {
		t.Fatalf("opened at %v, want today's month", m)
	}
	for day := 1; day <= 28; day++ {
		b := c.DayButton(day)
		if b == nil {
			t.Fatalf("no button for day %d", day)
		}
		if past := day < 14; b.Disabled() != past {
			t.Errorf("day %d: disabled %v, want %v", day, b.Disabled(), past)
		}
		if c.IsToday(b) != (day == 14) || (day == 14) != (b.Importance == widget.MediumImportance) {
			t.Errorf("day %d: marked as today %v", day, b.Importance == widget.MediumImportance)
		}
	}
	if c.DayButton(29) != nil {
		t.Error("February 2029 has a 29th")
	}
	test.Tap(c.DayButton(13))
	test.Tap(c.DayButton(14))
	if !picked.Equal(time.Date(2029, time.February, 14, 0, 0, 0, 0, time.Local)) {
		t.Errorf("picked %v, want the 14th (and the 13th cannot be picked)", picked)
	}
	// Not before today's month; the next months have no past day.
	c.ShowMonth(today.AddDate(0, -3, 0))
	if m := c.Month(); m.Month() != time.February || !c.prev.Disabled() {
		t.Errorf("went back to %v", m)
	}
	test.Tap(c.next)
	if m := c.Month(); m.Month() != time.March || c.DayButton(1).Disabled() || c.prev.Disabled() {
		t.Errorf("March 2029: %v, the 1st disabled %v", m, c.DayButton(1).Disabled())
	}
}

// TestEscAwareWidgetsHandEscOn: the buttons, boxes, links and radio
// buttons dialogs use run OnEscape on Esc (Fyne's own ignore it), and
// the radio group chooses as Fyne's does.
func TestEscAwareWidgetsHandEscOn(t *testing.T) {
	test.NewTempApp(t)
	esc := 0
	on := func() { esc++ }
	b := NewEscButton("OK", nil, nil)
	c := NewEscCheck("Tick", nil)
	h := NewEscHyperlink("link", nil)
	r := NewRadioGroup([]string{"a", "b"}, nil)
	b.OnEscape, c.OnEscape, h.OnEscape, r.OnEscape = on, on, on, on
	tip := NewTipButton(nil, nil, "", nil)
	tip.OnEscape = on
	test.NewTempWindow(t, container.NewVBox(b, c, h, r, tip))
	for _, f := range []fyne.Focusable{b, c, h, r.Items()[0], r.Items()[1], tip} {
		f.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
		f.TypedKey(&fyne.KeyEvent{Name: fyne.KeyA})
	}
	if esc != 6 {
		t.Fatalf("Esc ran OnEscape %d times for 6 widgets", esc)
	}

	var changed []string
	r.OnChanged = func(s string) { changed = append(changed, s) }
	test.Tap(r.Items()[1])
	r.Items()[0].TypedRune(' ')
	test.Tap(r.Items()[0]) // not required: tapping the choice clears it
	r.Required = true
	test.Tap(r.Items()[1])
	test.Tap(r.Items()[1])
	if got := strings.Join(changed, ","); got != "b,a,,b" || r.Selected != "b" || !r.Items()[1].Selected() {
		t.Fatalf("choices %q, selected %q", got, r.Selected)
	}
	r.Disable()
	test.Tap(r.Items()[0])
	if r.Selected != "b" {
		t.Fatal("a disabled group changed its choice")
	}
}
