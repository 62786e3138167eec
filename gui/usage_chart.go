package gui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
)

// chartHeight is the height of the usage chart's bars area.
const chartHeight = 72

// usageChart is a key's usage as one bar per day, oldest on the left:
// allowed uses at the bottom, denied attempts stacked on them. Each bar
// shows its day's counts in a tooltip.
type usageChart struct {
	widget.BaseWidget
	bars []*chartBar
	max  uint64
	box  *fyne.Container
}

// newUsageChart returns the chart of days (newest first, as
// core.KeyUsage holds them); tooltips float on layer.
func newUsageChart(layer *widgets.TipLayer, days []core.DayUsage) *usageChart {
	c := &usageChart{}
	th := fyne.CurrentApp().Settings().Theme()
	variant := fyne.CurrentApp().Settings().ThemeVariant()
	objs := make([]fyne.CanvasObject, 0, len(days))
	for i := len(days) - 1; i >= 0; i-- {
		d := days[i]
		b := &chartBar{layer: layer, day: d,
			allowed: canvas.NewRectangle(th.Color(theme.ColorNamePrimary, variant)),
			denied:  canvas.NewRectangle(th.Color(theme.ColorNameWarning, variant)),
		}
		b.ExtendBaseWidget(b)
		c.max = max(c.max, barValue(d))
		c.bars = append(c.bars, b)
		objs = append(objs, b)
	}
	for _, b := range c.bars {
		b.max = c.max
	}
	c.box = container.New(barsLayout{}, objs...)
	c.ExtendBaseWidget(c)
	return c
}

// barValue is the height a day's bar stands for: its allowed uses and
// denied attempts.
func barValue(d core.DayUsage) uint64 { return d.Allowed + d.Denied }

// update shows days (newest first) in the chart's bars, and returns false,
// changing nothing, when their number differs from the bars'. A bar whose
// tooltip is open shows its new counts there.
func (c *usageChart) update(days []core.DayUsage) bool {
	if len(days) != len(c.bars) {
		return false
	}
	c.max = 0
	for i, b := range c.bars {
		b.day = days[len(days)-1-i]
		c.max = max(c.max, barValue(b.day))
	}
	for _, b := range c.bars {
		b.max = c.max
		b.Refresh()
		if b.in {
			b.layer.ShowTip(widget.NewLabel(b.tipText()), b.at)
		}
	}
	return true
}

// CreateRenderer returns the chart's renderer.
func (c *usageChart) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(c.box) }

// barsLayout places the bars side by side, evenly, with a gap of a fifth
// of a bar between them.
type barsLayout struct{}

// Layout places each bar in its slot, full height (the bar draws its own
// height).
func (barsLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	if len(objs) == 0 {
		return
	}
	slot := size.Width / float32(len(objs))
	gap := max(1, slot/5)
	for i, o := range objs {
		o.Move(fyne.NewPos(float32(i)*slot, 0))
		o.Resize(fyne.NewSize(max(1, slot-gap), size.Height))
	}
}

// MinSize is 2 units a bar, chartHeight high.
func (barsLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(float32(2*len(objs)), chartHeight)
}

// chartBar is one day of the chart: the allowed part at the bottom and the
// denied part above it, scaled to the chart's largest day.
type chartBar struct {
	widget.BaseWidget
	layer           *widgets.TipLayer
	day             core.DayUsage
	max             uint64
	allowed, denied *canvas.Rectangle
	// in is set while the mouse is over the bar, at is where it came in.
	in bool
	at fyne.Position
}

var _ desktop.Hoverable = (*chartBar)(nil)

// CreateRenderer returns the bar's renderer.
func (b *chartBar) CreateRenderer() fyne.WidgetRenderer {
	return &chartBarRenderer{b: b}
}

// tipText is the bar's tooltip: the day and its counts.
func (b *chartBar) tipText() string {
	d := b.day
	s := fmt.Sprintf("%s: %s allowed, %s denied", d.Day.UTC().Format("Mon 2 Jan 2006"), formatCount(d.Allowed), formatCount(d.Denied))
	if d.Expired > 0 {
		s += ", " + formatCount(d.Expired) + " expired"
	}
	return s
}

// MouseIn shows the day's counts.
func (b *chartBar) MouseIn(ev *desktop.MouseEvent) {
	if b.layer == nil {
		return
	}
	b.in, b.at = true, ev.AbsolutePosition
	b.layer.ShowTip(widget.NewLabel(b.tipText()), ev.AbsolutePosition)
}

// MouseMoved keeps the tooltip where it is.
func (b *chartBar) MouseMoved(*desktop.MouseEvent) {}

// MouseOut hides the tooltip.
func (b *chartBar) MouseOut() {
	if b.in {
		b.in = false
		b.layer.HideTip()
	}
}

type chartBarRenderer struct{ b *chartBar }

func (r *chartBarRenderer) Layout(size fyne.Size) {
	b := r.b
	h := func(n uint64) float32 {
		if b.max == 0 || n == 0 {
			return 0
		}
		// A day with any use shows at least a sliver.
		return max(1, float32(float64(n)/float64(b.max)*float64(size.Height)))
	}
	ha, hd := h(b.day.Allowed), h(b.day.Denied)
	b.allowed.Move(fyne.NewPos(0, size.Height-ha))
	b.allowed.Resize(fyne.NewSize(size.Width, ha))
	b.denied.Move(fyne.NewPos(0, size.Height-ha-hd))
	b.denied.Resize(fyne.NewSize(size.Width, hd))
}

func (r *chartBarRenderer) MinSize() fyne.Size { return fyne.NewSize(1, 1) }
func (r *chartBarRenderer) Refresh()           { r.Layout(r.b.Size()) }
func (r *chartBarRenderer) Destroy()           {}
func (r *chartBarRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.b.allowed, r.b.denied}
}

// usageSummary is the line above the chart: today's count, the total and,
// on a shared store, how many servers reported the counts.
func usageSummary(u core.KeyUsage, shared bool) string {
	var today uint64
	if len(u.Days) > 0 {
		today = u.Days[0].Requests()
	}
	s := fmt.Sprintf("Today %s · %d days %s", formatCount(today), len(u.Days), formatCount(u.Total.Requests()))
	if u.Total.Denied > 0 {
		s += " (" + formatCount(u.Total.Denied) + " denied)"
	}
	if shared && u.Writers > 0 {
		s += " · reported by " + plural(u.Writers, "server", "servers")
	}
	return s
}

// readKeyUsage reads key id's last 30 days off the UI goroutine.
func readKeyUsage(st core.UsageStore, id string, now time.Time) (core.KeyUsage, error) {
	return core.ReadKeyUsage(st, id, now, usageWindow)
}
