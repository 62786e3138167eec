package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/workspace"
)

// A greyed-out Roll or Edit says why in its tooltip, shown on hover
// although the button is off; a button that is on names what it does.
func TestDisabledActionsSayWhy(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	for _, c := range []struct {
		name string
		btn  func(*keyCell) *widgets.TipButton
		want string
	}{
		{"Hackathon sandbox", func(c *keyCell) *widgets.TipButton { return c.roll }, workspace.OffExpired},
		{"Edited in the data file (edited)", func(c *keyCell) *widgets.TipButton { return c.roll }, workspace.OffTampered},
		{"Edited in the data file (edited)", func(c *keyCell) *widgets.TipButton { return c.edit }, workspace.OffTampered},
		{"CRM sync (production)", func(c *keyCell) *widgets.TipButton { return c.roll }, rollTipOn},
	} {
		b := c.btn(f.cell(c.name, colActions))
		if off := c.want != rollTipOn; b.Disabled() != off {
			t.Errorf("%s: disabled %v, want %v", c.name, b.Disabled(), off)
		}
		b.MouseIn(&desktop.MouseEvent{PointEvent: fyne.PointEvent{AbsolutePosition: fyne.NewPos(600, 300)}})
		tip, _ := f.keys.tips.Tip().(*widget.Label)
		if tip == nil || tip.Text != c.want {
			t.Errorf("%s: tooltip %v, want %q", c.name, tip, c.want)
		}
		b.MouseOut()
	}
}
