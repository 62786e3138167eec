package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/gui/internal/guitest"
)

// TestActivityFooterShowsTheEventInFull: at the smallest window, the line
// under the table that shows the selected event in full is not cut with
// "…": it wraps, and the view gives it the height of every line.
func TestActivityFooterShowsTheEventInFull(t *testing.T) {
	guitest.App(t, theme.VariantLight)
	v := newActivityView(&fakeAudit{events: actEvents()}, nil, &testRunner{})
	v.loc = guitest.Zone
	win := guitest.Window(t, v, minWindowWidth, minWindowHeight)
	v.Reload()
	bgWait(v.bg)
	// The e-mail settings change: a detail longer than the window is wide.
	v.table.Select(widget.TableCellID{Row: 2, Col: 0})
	win.Content().Refresh()
	win.Resize(fyne.NewSize(minWindowWidth, minWindowHeight+1))
	th := v.detail.Theme()
	one := fyne.MeasureText("X", th.Size(theme.SizeNameText), fyne.TextStyle{}).Height
	if fyne.MeasureText(v.detail.Text, th.Size(theme.SizeNameText), fyne.TextStyle{}).Width <= v.detail.Size().Width {
		t.Fatalf("the detail %q fits on one line: the test shows nothing", v.detail.Text)
	}
	if v.detail.Truncation != fyne.TextTruncateOff || v.detail.Wrapping == fyne.TextWrapOff {
		t.Fatalf("the footer is cut (truncation %v, wrapping %v)", v.detail.Truncation, v.detail.Wrapping)
	}
	if h := v.detail.Size().Height; h < v.detail.MinSize().Height-0.5 || h < 2*one {
		t.Errorf("the footer has %v of height, needs %v (lines of %v)", h, v.detail.MinSize().Height, one)
	}
}
