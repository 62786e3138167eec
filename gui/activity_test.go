package gui

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/internal/guitest"
	"github.com/keydesk/keydesk/gui/widgets"
)

// fakeAudit is an auditSource whose events and error tests set.
type fakeAudit struct {
	mu     sync.Mutex
	events []core.AuditEvent
	err    error
	reads  int
}

func (f *fakeAudit) Audit() ([]core.AuditEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return append([]core.AuditEvent(nil), f.events...), f.err
}

func (f *fakeAudit) set(events []core.AuditEvent, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events, f.err = events, err
}

// actEvents is a fixed audit log, newest first.
func actEvents() []core.AuditEvent {
	at := func(h int) time.Time { return guitest.Now.Add(-time.Duration(h) * time.Hour) }
	return []core.AuditEvent{
		{Seq: 7, Time: at(1), Actor: "ana", Action: core.ActionDelete, KeyID: "9f2c41d07a3e5b18", KeyName: "Old reporting cron"},
		{Seq: 6, Time: at(3), Actor: "ana", Action: core.ActionTestMail, Detail: "test e-mail sent to ops@example.com"},
		{Seq: 5, Time: at(5), Actor: "ana", Action: core.ActionSettingsChanged, Detail: "e-mail set up: smtp.example.com:587 (starttls), from keydesk@example.com to ops@example.com"},
		{Seq: 4, Time: at(26), Actor: "keydesk", Action: core.ActionDigestSent, Detail: "slot 2026-03-11 11:00 UTC: 1 expired, 2 expiring soon, to ops@example.com"},
		{Seq: 3, Time: at(30), Actor: "bo", Action: core.ActionRename, KeyID: "5be07c4a11d2e9f0", KeyName: "Slack bridge", Detail: `renamed from "Slack"`},
		{Seq: 2, Time: at(49), Actor: "bo", Action: core.ActionCreate, KeyID: "5be07c4a11d2e9f0", KeyName: "Slack", Detail: "messaging:read"},
		{Seq: 1, Time: at(50), Actor: "ana", Action: core.ActionCreate, KeyID: "9f2c41d07a3e5b18", KeyName: "Old reporting cron", Detail: "analytics:read"},
	}
}

func newActivity(t *testing.T, src auditSource) *activityView {
	t.Helper()
	guitest.App(t, theme.VariantLight)
	v := newActivityView(src, nil, &testRunner{})
	v.loc = guitest.Zone
	guitest.Window(t, v, 1100, 500)
	v.Reload()
	bgWait(v.bg)
	return v
}

func actShownSeqs(v *activityView) []uint64 {
	var out []uint64
	for _, ev := range v.shown {
		out = append(out, ev.Seq)
	}
	return out
}

func TestActivityLoadsWhenShownNewestFirst(t *testing.T) {
	src := &fakeAudit{events: actEvents()}
	v := newActivity(t, src)
	if src.reads != 1 {
		t.Fatalf("log read %d times when the view was shown, want 1", src.reads)
	}
	if got := actShownSeqs(v); len(got) != 7 || got[0] != 7 || got[6] != 1 {
		t.Fatalf("rows = %v, want 7..1", got)
	}
	if v.status.Text != "7 events" {
		t.Errorf("status = %q", v.status.Text)
	}
	// Cells: local time, actor, action label, key "name (id)", detail.
	ev := v.shown[0]
	want := []string{ev.Time.In(guitest.Zone).Format("2006-01-02 15:04:05"), "ana", "Key deleted", "Old reporting cron (9f2c41d07a3e5b18)", ""}
	for col, w := range want {
		if got := v.cellText(ev, col); got != w {
			t.Errorf("column %d = %q, want %q", col, got, w)
		}
	}
	// Selecting a row shows the event with its time in UTC.
	v.table.Select(widget.TableCellID{Row: 3, Col: 0})
	if !strings.Contains(v.detail.Text, "2026-03-11T07:30:00Z") || !strings.Contains(v.detail.Text, "Digest sent by keydesk") {
		t.Errorf("detail = %q", v.detail.Text)
	}

	// Shown again: reloaded.
	src.set(actEvents()[1:], nil)
	v.Hide()
	v.Show()
	bgWait(v.bg)
	if src.reads != 2 || len(v.shown) != 6 {
		t.Errorf("after showing again: %d reads, %d rows", src.reads, len(v.shown))
	}
}

func TestActivityRefreshButton(t *testing.T) {
	src := &fakeAudit{events: actEvents()[2:]}
	v := newActivity(t, src)
	if len(v.shown) != 5 {
		t.Fatalf("%d rows, want 5", len(v.shown))
	}
	src.set(actEvents(), nil)
	test.Tap(v.refresh)
	bgWait(v.bg)
	if got := actShownSeqs(v); len(got) != 7 || got[0] != 7 {
		t.Errorf("after Refresh rows = %v", got)
	}
}

func TestActivityFilters(t *testing.T) {
	v := newActivity(t, &fakeAudit{events: actEvents()})
	cases := []struct {
		key, action string
		want        []uint64
		status      string
	}{
		{"slack", allActions, []uint64{3, 2}, "2 events of 7"},
		{"9F2C41", allActions, []uint64{7, 1}, "2 events of 7"},
		{"", "Key created", []uint64{2, 1}, "2 events of 7"},
		{"cron", "Key created", []uint64{1}, "1 event of 7"},
		{"nothing like this", allActions, nil, "0 events of 7"},
		{"", allActions, []uint64{7, 6, 5, 4, 3, 2, 1}, "7 events"},
	}
	for _, c := range cases {
		v.keyFilter.SetText("")
		test.Type(v.keyFilter, c.key)
		v.actionFilter.SetSelected(c.action)
		got := actShownSeqs(v)
		if len(got) != len(c.want) {
			t.Errorf("key %q action %q: rows %v, want %v", c.key, c.action, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("key %q action %q: rows %v, want %v", c.key, c.action, got, c.want)
				break
			}
		}
		if v.status.Text != c.status {
			t.Errorf("key %q action %q: status %q, want %q", c.key, c.action, v.status.Text, c.status)
		}
	}
}

func TestActivityReadError(t *testing.T) {
	src := &fakeAudit{err: errors.New("read audit log: database not open")}
	v := newActivity(t, src)
	if v.status.Importance != widget.DangerImportance || v.status.Text != "Could not read the activity log: read audit log: database not open." {
		t.Errorf("status = %q (importance %v)", v.status.Text, v.status.Importance)
	}
	if v.refresh.Disabled() {
		t.Error("Refresh stays disabled after a failed load")
	}
}

func TestActivityRealStore(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	k, _ := guitest.Create(t, b.Service(), "Nightly export", core.Lifetime{}, core.Permissions{Kind: core.KindGlobal})
	if _, err := b.Service().Rename(k.ID, "Nightly CDR export"); err != nil {
		t.Fatal(err)
	}
	v := newActivity(t, b.Store())
	if len(v.shown) != 2 || v.shown[0].Action != core.ActionRename || v.shown[1].Action != core.ActionCreate {
		t.Fatalf("rows = %+v, want rename then create", v.shown)
	}
	test.Type(v.keyFilter, k.ID[:6])
	if len(v.shown) != 2 {
		t.Errorf("filter by id prefix shows %d rows", len(v.shown))
	}
}

func TestActivityGolden(t *testing.T) {
	for _, th := range guitest.Variants {
		t.Run(th.Name, func(t *testing.T) {
			guitest.App(t, th.Variant)
			v := newActivityView(&fakeAudit{events: actEvents()}, nil, &testRunner{})
			v.loc = guitest.Zone
			w := guitest.Window(t, v, 1100, 460)
			v.Reload()
			bgWait(v.bg)
			v.table.Select(widget.TableCellID{Row: 2, Col: 0})
			w.Canvas().Unfocus()
			test.AssertImageMatches(t, "activity_"+th.Name+".png", w.Canvas().Capture())
		})
	}
}

// TestActivityNewestFirstWhateverTheLogOrder: a log read out of time order
// (a store merged from two, a clock set back) still shows newest first; a
// header click sorts by its column, a second click reverses it.
func TestActivityNewestFirstWhateverTheLogOrder(t *testing.T) {
	events := actEvents()
	mixed := []core.AuditEvent{events[4], events[0], events[6], events[2], events[1], events[5], events[3]}
	v := newActivity(t, &fakeAudit{events: mixed})
	if got := actShownSeqs(v); !slices.Equal(got, []uint64{7, 6, 5, 4, 3, 2, 1}) {
		t.Fatalf("rows = %v, want newest first 7..1", got)
	}
	var header *widgets.HeaderCell
	kvWalk(v.table, func(o fyne.CanvasObject) {
		if h, ok := o.(*widgets.HeaderCell); ok && h.Label().Text == "Actor" {
			header = h
		}
	})
	if header == nil {
		t.Fatal("no Actor header")
	}
	test.Tap(header)
	// A to Z by actor; the same actor newest first.
	if got := actShownSeqs(v); !slices.Equal(got, []uint64{7, 6, 5, 1, 3, 2, 4}) {
		t.Errorf("by actor = %v", got)
	}
	test.Tap(header)
	if got := actShownSeqs(v); got[0] != 4 {
		t.Errorf("by actor, Z to A = %v", got)
	}
	// Filtering keeps the order.
	test.Type(v.keyFilter, "slack")
	if got := actShownSeqs(v); !slices.Equal(got, []uint64{3, 2}) {
		t.Errorf("filtered = %v", got)
	}
}

// A shared store's entries without an admin signature: a server's digest
// entry is labelled the server's, an admin action (forged by whoever can
// write the database) "(unsigned)", with the sentence in its detail.
func TestActivityLabelsUnsignedEntries(t *testing.T) {
	events := actEvents()
	events[0].Unverified = true // a deletion nobody's Keydesk signed
	events[3].Unverified = true // a server's digest entry
	v := newActivity(t, &fakeAudit{events: events})
	if got := v.cellText(v.shown[0], 1); got != "ana (unsigned)" {
		t.Errorf("forged deletion's actor = %q", got)
	}
	if got := v.cellText(v.shown[3], 1); got != "keydesk (server)" {
		t.Errorf("server's digest entry's actor = %q", got)
	}
	if got := v.cellText(v.shown[1], 1); got != "ana" {
		t.Errorf("signed entry's actor = %q", got)
	}
	v.table.Select(widget.TableCellID{Row: 0, Col: 0})
	if !strings.Contains(v.detail.Text, "carry no admin's signature") {
		t.Errorf("detail of the forged entry = %q", v.detail.Text)
	}
}
