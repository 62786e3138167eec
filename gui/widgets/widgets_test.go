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

// walk visits o and every object under it.
func walk(o fyne.CanvasObject, visit func(fyne.CanvasObject)) {
	visit(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walk(c, visit)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walk(c, visit)
		}
	}
}

// TestDateEntryCalendarOpensAtItsDate: the calendar drops down at the
// month of the date entered, not at today's; picking a day sets it and
// closes the calendar.
func TestDateEntryCalendarOpensAtItsDate(t *testing.T) {
	test.NewTempApp(t)
	e := NewEscDateEntry()
	w := test.NewTempWindow(t, container.NewVBox(e))
	w.Resize(fyne.NewSize(400, 500))
	d := time.Date(2031, time.March, 15, 0, 0, 0, 0, time.Local)
	e.SetDate(&d)
	test.Tap(e.ActionItem.(fyne.Tappable))
	cal := e.Calendar()
	if cal == nil {
		t.Fatal("the calendar did not open")
	}
	var month string
	var day20 *widget.Button
	walk(cal, func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			if strings.Contains(x.Text, "20") {
				month = x.Text
			}
		case *widget.Button:
			if x.Text == "20" {
				day20 = x
			}
		}
	})
	if !strings.Contains(month, "2031") {
		t.Fatalf("the calendar opened at %q, want March 2031", month)
	}
	test.Tap(day20)
	if e.Date == nil || !e.Date.Equal(time.Date(2031, time.March, 20, 0, 0, 0, 0, time.Local)) || e.Calendar() != nil {
		t.Errorf("after picking the 20th: date %v, calendar open %v", e.Date, e.Calendar() != nil)
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
