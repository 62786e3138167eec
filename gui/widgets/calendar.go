package widgets

import (
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Calendar is a month of day buttons that picks a date. Unlike Fyne's
// widget.Calendar (which has no hook for either), it greys out the days
// before Today, which cannot be picked, marks Today and the date chosen,
// and takes today from the caller (the window's clock) rather than from
// time.Now. Its buttons hand Esc to OnEscape.
type Calendar struct {
	widget.BaseWidget
	// OnChanged runs with the day picked, at midnight in the location of
	// the month shown.
	OnChanged func(time.Time)
	// OnEscape runs when Esc is typed while one of its buttons has the
	// focus; nil ignores it.
	OnEscape func()

	month    time.Time // the first of the month shown
	today    time.Time // midnight of today, in month's location
	selected time.Time // midnight of the date chosen, or zero

	prev, next *EscButton
	title      *widget.Label
	days       *fyne.Container
}

// NewCalendar returns a calendar showing the month of start (the date
// chosen, or zero for none: then today's month), today being today's date
// (its year, month and day are used). changed runs with the day picked.
func NewCalendar(start, today time.Time, changed func(time.Time)) *Calendar {
	loc := time.Local
	if !start.IsZero() {
		loc = start.Location()
	}
	c := &Calendar{OnChanged: changed, today: midnight(today, loc)}
	if !start.IsZero() {
		c.selected = midnight(start, loc)
		c.month = firstOfMonth(c.selected)
	} else {
		c.month = firstOfMonth(c.today)
	}
	c.ExtendBaseWidget(c)
	return c
}

func midnight(t time.Time, loc *time.Location) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

func firstOfMonth(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
}

// Month is the first day of the month shown.
func (c *Calendar) Month() time.Time { return c.month }

// DayButton returns the button of day n of the month shown, or nil.
func (c *Calendar) DayButton(n int) *EscButton {
	c.build()
	for _, o := range c.days.Objects {
		if b, ok := o.(*EscButton); ok && b.Text == strconv.Itoa(n) {
			return b
		}
	}
	return nil
}

// ShowMonth shows the month of t (not before today's month).
func (c *Calendar) ShowMonth(t time.Time) {
	m := firstOfMonth(time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, c.today.Location()))
	if m.Before(firstOfMonth(c.today)) {
		m = firstOfMonth(c.today)
	}
	c.month = m
	c.fill()
}

func (c *Calendar) esc() {
	if c.OnEscape != nil {
		c.OnEscape()
	}
}

func (c *Calendar) button(label string, icon fyne.Resource, tapped func()) *EscButton {
	b := NewEscButton(label, icon, tapped)
	b.OnEscape = c.esc
	return b
}

// build makes the calendar's parts once.
func (c *Calendar) build() {
	if c.days != nil {
		return
	}
	c.prev = c.button("", theme.NavigateBackIcon(), func() { c.ShowMonth(c.month.AddDate(0, -1, 0)) })
	c.prev.Importance = widget.LowImportance
	c.next = c.button("", theme.NavigateNextIcon(), func() { c.ShowMonth(c.month.AddDate(0, 1, 0)) })
	c.next.Importance = widget.LowImportance
	c.title = widget.NewLabel("")
	c.days = container.NewGridWithColumns(7)
	c.fill()
}

// fill lays out the month shown: the weekday headings (the week starts on
// Monday), then its days, the past ones disabled.
func (c *Calendar) fill() {
	c.title.SetText(c.month.Format("January 2006"))
	if c.month.After(firstOfMonth(c.today)) {
		c.prev.Enable()
	} else {
		c.prev.Disable()
	}
	objs := make([]fyne.CanvasObject, 0, 7*7)
	for i := range 7 {
		h := widget.NewLabel(time.Weekday((i + 1) % 7).String()[:2])
		h.Alignment = fyne.TextAlignCenter
		h.TextStyle.Bold = true // unlike a disabled day
		objs = append(objs, h)
	}
	for range (int(c.month.Weekday()) + 6) % 7 {
		objs = append(objs, layout.NewSpacer())
	}
	for d := c.month; d.Month() == c.month.Month(); d = d.AddDate(0, 0, 1) {
		day := d
		b := c.button(strconv.Itoa(d.Day()), nil, func() {
			if c.OnChanged != nil {
				c.OnChanged(day)
			}
		})
		switch {
		case day.Equal(c.selected):
			b.Importance = widget.HighImportance
		case day.Equal(c.today):
			b.Importance = widget.MediumImportance
		default:
			b.Importance = widget.LowImportance
		}
		if day.Before(c.today) {
			b.Disable()
		}
		objs = append(objs, b)
	}
	c.days.Objects = objs
	c.days.Refresh()
}

// ShowPrevious shows the month before, unless today's is shown.
func (c *Calendar) ShowPrevious() {
	c.build()
	if !c.prev.Disabled() {
		c.ShowMonth(c.month.AddDate(0, -1, 0))
	}
}

// IsToday reports whether b is the button of today.
func (c *Calendar) IsToday(b *EscButton) bool {
	return c.month.Year() == c.today.Year() && c.month.Month() == c.today.Month() && b.Text == strconv.Itoa(c.today.Day())
}

// CreateRenderer shows the month's name between the arrows above the days.
func (c *Calendar) CreateRenderer() fyne.WidgetRenderer {
	c.build()
	nav := container.NewBorder(nil, nil, c.prev, c.next, container.NewCenter(c.title))
	return widget.NewSimpleRenderer(container.NewBorder(nav, nil, nil, nil, c.days))
}
