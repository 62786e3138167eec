package gui

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
)

// kvUsage are the demo keys' usage counts: name → counts per day back
// from kvNow's day (0 is today).
var kvUsage = map[string]map[int]core.UsageCounts{
	"CRM sync (production)": {0: {Allowed: 1200}, 3: {Allowed: 34000, Denied: 2}, 29: {Allowed: 5}},
	"Billing export":        {1: {Allowed: 40, Denied: 3}, 12: {Allowed: 7, Expired: 1}},
	"Status page checker":   {0: {Allowed: 300}, 31: {Allowed: 999}}, // day 31: outside the 30 days
	"Hackathon sandbox":     {5: {Denied: 9}},
}

// newUsageFixture is newKVFixture with kvUsage written by two servers to
// the store, which the keys screen reads usage from.
func newUsageFixture(t *testing.T, variant fyne.ThemeVariant, w, h float32) *kvFixture {
	t.Helper()
	f := newKVFixture(t, variant, kvDemo, w, h)
	today := core.UsageDay(kvNow)
	// Even days back from server-a, odd ones from server-b.
	var rows [2][]core.UsageRow
	for name, days := range kvUsage {
		id := f.key(name).ID
		for back, c := range days {
			rows[back%2] = append(rows[back%2], core.UsageRow{Day: today.AddDate(0, 0, -back), KeyID: id, Allowed: c.Allowed, Denied: c.Denied, Expired: c.Expired})
		}
	}
	for i, w := range []string{"server-a", "server-b"} {
		if err := f.store.PutUsage(w, rows[i], today.AddDate(0, 0, -90)); err != nil {
			t.Fatal(err)
		}
	}
	f.keys.usage = f.store
	f.keys.table.fit(f.keys.table.Size().Width)
	f.keys.reload()
	return f
}

func TestKeysRequestsColumn(t *testing.T) {
	f := newUsageFixture(t, theme.VariantLight, 1280, 800)
	if !slices.Contains(f.keys.cols, colRequests) {
		t.Fatalf("columns %v lack Requests at 1280 wide", f.keys.cols)
	}
	for name, want := range map[string]string{
		"CRM sync (production)": "35,207",
		"Billing export":        "51",
		"Status page checker":   "300",
		"Hackathon sandbox":     "9",
		"Old webhook relay":     "none",
	} {
		if got := f.cell(name, colRequests).text.Text; got != want {
			t.Errorf("Requests of %q = %q, want %q", name, got, want)
		}
	}

	test.Tap(f.headerButton(colRequests))
	got := f.shownNames()[:4]
	want := []string{"CRM sync (production)", "Status page checker", "Billing export", "Hackathon sandbox"}
	if !slices.Equal(got, want) {
		t.Errorf("sorted by requests: %v, want %v first", got, want)
	}
	// Unused keys sort last, most requests first; a second tap reverses.
	test.Tap(f.headerButton(colRequests))
	if got := f.shownNames(); got[len(got)-1] != "CRM sync (production)" {
		t.Errorf("sorted by requests ascending: %v, want CRM sync last", got)
	}
}

// TestKeysRequestsColumnNeedsUsageStore: without a usage store the column
// is not shown (rather than "none" for every key).
func TestKeysRequestsColumnNeedsUsageStore(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1280, 800)
	if slices.Contains(f.keys.cols, colRequests) {
		t.Fatalf("columns %v show Requests without a usage store", f.keys.cols)
	}
}

func TestKeysDeniedBadgeAndSearch(t *testing.T) {
	f := newUsageFixture(t, theme.VariantLight, 1280, 800)
	// Denied since yesterday: Billing export (day 1). CRM sync's denied
	// attempts are 3 days old, Hackathon's 5.
	for name, want := range map[string]bool{
		"Billing export":        true,
		"CRM sync (production)": false,
		"Hackathon sandbox":     false,
		"Old webhook relay":     false,
	} {
		if got := f.cell(name, colName).denied.Visible(); got != want {
			t.Errorf("Denied badge of %q shown = %v, want %v", name, got, want)
		}
	}
	f.keys.setQuery("denied")
	if got := f.shownNames(); !slices.Equal(got, []string{"Billing export"}) {
		t.Errorf("search denied = %v, want [Billing export]", got)
	}
	f.keys.setQuery("")
}

// TestKeysUsageRefresh: counts written after the load show on the next
// periodic refresh.
func TestKeysUsageRefresh(t *testing.T) {
	f := newUsageFixture(t, theme.VariantLight, 1280, 800)
	id := f.key("Old webhook relay").ID
	if err := f.store.PutUsage("server-c", []core.UsageRow{{Day: core.UsageDay(kvNow), KeyID: id, Allowed: 2, Denied: 1}}, core.UsageDay(kvNow).AddDate(0, 0, -90)); err != nil {
		t.Fatal(err)
	}
	f.keys.refreshUsage()
	if got := f.cell("Old webhook relay", colRequests).text.Text; got != "3" {
		t.Errorf("after refresh: Requests = %q, want 3", got)
	}
	if !f.cell("Old webhook relay", colName).denied.Visible() {
		t.Error("after refresh: no Denied badge")
	}
}

// TestDetailsUsageChartRefresh: an open details panel's chart and summary
// show counts written after it opened on the next periodic refresh, and a
// bar's open tooltip shows its new values.
func TestDetailsUsageChartRefresh(t *testing.T) {
	f := newUsageFixture(t, theme.VariantLight, 1280, 800)
	f.keys.usageShared = true
	f.clickRow("CRM sync (production)", colName)
	d := f.keys.details
	if d == nil || d.chart == nil {
		t.Fatal("no usage chart in the details")
	}
	chart := d.chart
	today := chart.bars[29]
	today.MouseIn(&desktop.MouseEvent{PointEvent: fyne.PointEvent{AbsolutePosition: fyne.NewPos(1000, 300)}})
	id := f.key("CRM sync (production)").ID
	if err := f.store.PutUsage("server-c", []core.UsageRow{{Day: core.UsageDay(kvNow), KeyID: id, Allowed: 800, Denied: 4}}, core.UsageDay(kvNow).AddDate(0, 0, -90)); err != nil {
		t.Fatal(err)
	}
	f.keys.refreshUsage()
	if got, want := d.usageText.Text, "Today 2,004 · 30 days 36,011 (6 denied) · reported by 3 servers"; got != want {
		t.Errorf("summary after refresh = %q, want %q", got, want)
	}
	if d.chart != chart || len(d.usage.Objects) != 2 {
		t.Errorf("the refresh built a new chart (%d objects under the summary), want the open one updated", len(d.usage.Objects)-1)
	}
	if today.day.Allowed != 2000 || today.day.Denied != 4 {
		t.Errorf("today's bar after refresh: %+v, want 2,000 allowed and 4 denied", today.day)
	}
	if tip, ok := f.keys.tips.Tip().(*widget.Label); !ok || tip.Text != today.tipText() {
		t.Errorf("open tooltip after refresh = %v, want %q", f.keys.tips.Tip(), today.tipText())
	}
	// The largest day (34,002) still fills the chart; today's bar grew.
	if h := today.allowed.Size().Height; h < float32(2000)/34002*chartHeight-0.5 {
		t.Errorf("today's bar is %v high after refresh", h)
	}
	today.MouseOut()
}

func TestGoldenKeysRequestsColumn(t *testing.T) {
	for _, v := range kvVariants {
		for _, size := range []struct {
			name string
			w, h float32
		}{{"", 1280, 800}, {"_small", minWindowWidth, minWindowHeight}} {
			t.Run(v.name+size.name, func(t *testing.T) {
				f := newUsageFixture(t, v.variant, size.w, size.h)
				test.AssertImageMatches(t, "keys_requests"+size.name+"_"+v.name+".png", f.win.Canvas().Capture())
			})
		}
	}
}

func TestDetailsUsageChart(t *testing.T) {
	f := newUsageFixture(t, theme.VariantLight, 1280, 800)
	f.keys.usageShared = true
	f.clickRow("CRM sync (production)", colName)
	d := f.keys.details
	if d == nil || d.chart == nil {
		t.Fatal("no usage chart in the details")
	}
	if got, want := d.usageText.Text, "Today 1,200 · 30 days 35,207 (2 denied) · reported by 2 servers"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	bars := d.chart.bars
	if len(bars) != 30 {
		t.Fatalf("%d bars, want 30", len(bars))
	}
	// Oldest on the left: bar 29 is today, bar 26 three days ago.
	if b := bars[29]; b.day.Allowed != 1200 || !b.day.Day.Equal(core.UsageDay(kvNow)) {
		t.Errorf("today's bar: %+v", b.day)
	}
	if got, want := bars[26].tipText(), "Tue 24 Nov 2026: 34,000 allowed, 2 denied"; got != want {
		t.Errorf("tooltip = %q, want %q", got, want)
	}
	// The largest day fills the chart; its 2 denied attempts still show
	// as a sliver.
	if a, d := bars[26].allowed.Size().Height, bars[26].denied.Size().Height; a < chartHeight-0.1 || d != 1 {
		t.Errorf("the largest day's bar is %v allowed + %v denied high, want %v + 1", a, d, chartHeight)
	}
	if a, d := bars[27].allowed.Size().Height, bars[27].denied.Size().Height; a != 0 || d != 0 {
		t.Errorf("an unused day's bar is %v+%v high, want 0", a, d)
	}
	if h := bars[28].allowed.Size().Height + bars[28].denied.Size().Height; h != 0 {
		t.Errorf("an unused day's bar is %v high, want 0", h)
	}
	// Hovering a bar shows its values.
	bars[26].MouseIn(&desktop.MouseEvent{PointEvent: fyne.PointEvent{AbsolutePosition: fyne.NewPos(1000, 300)}})
	tip, ok := f.keys.tips.Tip().(*widget.Label)
	if !ok || tip.Text != bars[26].tipText() {
		t.Errorf("hover tooltip = %v, want the bar's values", f.keys.tips.Tip())
	}
	bars[26].MouseOut()
	if f.keys.tips.Tip() != nil {
		t.Error("the tooltip stays after the mouse left")
	}
}

// TestDetailsUsageLocalStore: on a data folder the details do not name
// servers.
func TestDetailsUsageLocalStore(t *testing.T) {
	f := newUsageFixture(t, theme.VariantLight, 1280, 800)
	f.clickRow("Old webhook relay", colName)
	if got, want := f.keys.details.usageText.Text, "Today 0 · 30 days 0"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
}

func TestGoldenDetailsUsageChart(t *testing.T) {
	for _, v := range kvVariants {
		for _, size := range []struct {
			name string
			w, h float32
		}{{"", 1280, 800}, {"_small", minWindowWidth, minWindowHeight}} {
			t.Run(v.name+size.name, func(t *testing.T) {
				f := newUsageFixture(t, v.variant, size.w, size.h)
				f.keys.usageShared = true
				f.clickRow("CRM sync (production)", colName)
				if size.name != "" {
					// The chart is below the dates: scroll to it.
					f.keys.details.scroll.ScrollToOffset(fyne.NewPos(0, 200))
				}
				test.AssertImageMatches(t, "details_usage"+size.name+"_"+v.name+".png", f.win.Canvas().Capture())
			})
		}
	}
}
