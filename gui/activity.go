package gui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/workspace"
)

// auditSource is where the Activity view reads the audit log, newest first.
// *storage.Store and *workspace.Workspace (a data folder or a shared store)
// implement it.
type auditSource interface {
	Audit() ([]core.AuditEvent, error)
}

// keyAuditSource is an auditSource that reads the entries of some keys
// without the rest of the log (the details panel's).
type keyAuditSource interface {
	KeyAudit(ids ...string) ([]core.AuditEvent, error)
}

// allActions is the action filter's "no filter" choice.
const allActions = "All actions"

// activityActions are the action filter's choices, with a label each.
var activityActions = widgets.Choices[core.AuditAction]{
	{Value: core.ActionCreate, Label: "Key created"},
	{Value: core.ActionRename, Label: "Key renamed"},
	{Value: core.ActionDelete, Label: "Key deleted"},
	{Value: core.ActionRoll, Label: "Key rolled"},
	{Value: core.ActionDigestSent, Label: "Digest sent"},
	{Value: core.ActionDigestEmpty, Label: "Digest: nothing to send"},
	{Value: core.ActionDigestFailed, Label: "Digest failed"},
	{Value: core.ActionSettingsChanged, Label: "Settings changed"},
	{Value: core.ActionTestMail, Label: "Test e-mail"},
	{Value: core.ActionBackup, Label: "Backup taken"},
	{Value: core.ActionRestore, Label: "Restored from a backup"},
	{Value: core.ActionStoreMoved, Label: "Moved to a shared store"},
	{Value: core.ActionCatalogImport, Label: "Catalog imported"},
	{Value: core.ActionCatalogReset, Label: "Catalog reset"},
}

// actionLabel returns the label of an audit action as the view shows it.
func actionLabel(a core.AuditAction) string {
	return activityActions.Label(a, string(a))
}

var activityColumns = []struct {
	title string
	width float32
}{
	{"Time", 170}, {"Actor", 110}, {"Action", 170}, {"Key", 220}, {"Detail", 420},
}

// activityView shows the audit log, newest first, filterable by key and by
// action. It reloads when shown and on Refresh; loading runs off the UI
// goroutine.
type activityView struct {
	widget.BaseWidget

	src auditSource
	win fyne.Window
	loc *time.Location
	bg  runner

	loaded bool
	// sortCol and sortDesc are the column the events are sorted by and
	// the direction: the time, newest first, until a header is clicked.
	sortCol  int
	sortDesc bool
	all      []core.AuditEvent
	shown    []core.AuditEvent

	keyFilter    *widget.Entry
	actionFilter *widget.Select
	refresh      *widget.Button
	table        *widget.Table
	status       *widget.Label
	detail       *widget.Label
}

// newActivityView returns the Activity view over src; w parents its dialogs
// and bg runs its loading. It reads nothing: the log is loaded each time
// the view is shown after being hidden (its tab selected), and on Refresh
// or Reload.
func newActivityView(src auditSource, w fyne.Window, bg runner) *activityView {
	v := &activityView{src: src, win: w, loc: time.Local, bg: bg, sortDesc: true}
	v.ExtendBaseWidget(v)

	v.keyFilter = widget.NewEntry()
	v.keyFilter.SetPlaceHolder("Filter by key name or id")
	v.keyFilter.OnChanged = func(string) { v.applyFilter() }
	v.actionFilter = widget.NewSelect(append([]string{allActions}, activityActions.Labels()...), nil)
	v.actionFilter.SetSelected(allActions)
	v.actionFilter.OnChanged = func(string) { v.applyFilter() }
	v.refresh = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), v.Reload)

	v.table = widget.NewTable(
		func() (int, int) { return len(v.shown), len(activityColumns) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if id.Row < len(v.shown) {
				o.(*widget.Label).SetText(v.cellText(v.shown[id.Row], id.Col))
			}
		})
	v.table.ShowHeaderRow = true
	v.table.CreateHeader = func() fyne.CanvasObject { return widgets.NewHeaderCell() }
	v.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 && id.Col < len(activityColumns) {
			h := o.(*widgets.HeaderCell)
			col := id.Col
			h.OnTap = func() { v.sortBy(col) }
			h.Set(activityColumns[col].title, v.sortCol == col, v.sortDesc)
		}
	}
	for i, c := range activityColumns {
		v.table.SetColumnWidth(i, c.width)
	}
	v.table.OnSelected = func(id widget.TableCellID) { v.showDetail(id.Row) }
	v.table.OnHighlighted = func(id widget.TableCellID) { v.showDetail(id.Row) }

	v.status = widget.NewLabel("")
	v.status.Importance = widget.LowImportance
	v.detail = widget.NewLabel("Select or hover over an event to see it in full, with its time in UTC.")
	// Wrapped, never cut: it is where the event reads in full.
	v.detail.Wrapping = fyne.TextWrapWord
	v.detail.Importance = widget.LowImportance
	return v
}

// CreateRenderer lays the view out: the filters above the table, the
// status and the selected event below it.
func (v *activityView) CreateRenderer() fyne.WidgetRenderer {
	top := container.NewBorder(nil, nil, nil,
		container.NewHBox(container.NewGridWrap(fyne.NewSize(220, v.actionFilter.MinSize().Height), v.actionFilter), v.refresh),
		v.keyFilter)
	bottom := container.NewVBox(widget.NewSeparator(), secondaryText(v.detail), secondaryText(v.status))
	return widget.NewSimpleRenderer(container.NewBorder(top, bottom, nil, nil, v.table))
}

// Show shows the view and, when it was hidden (another tab was selected),
// reloads the log, so it is current whenever the user comes to it.
func (v *activityView) Show() {
	reload := !v.Visible() || !v.loaded
	v.BaseWidget.Show()
	if reload {
		v.Reload()
	}
}

// Reload reads the audit log off the UI goroutine and shows it.
func (v *activityView) Reload() {
	v.loaded = true
	v.refresh.Disable()
	src := v.src
	v.bg.run(func() func() {
		events, err := src.Audit()
		return func() {
			v.refresh.Enable()
			if err != nil {
				v.status.Importance = widget.DangerImportance
				v.status.SetText(fmt.Sprintf("Could not read the activity log: %v.", err))
				return
			}
			v.status.Importance = widget.LowImportance
			v.all = events
			v.applyFilter()
		}
	})
}

// applyFilter shows the events matching the key and action filters.
func (v *activityView) applyFilter() {
	query := strings.ToLower(strings.TrimSpace(v.keyFilter.Text))
	action, _ := activityActions.Value(v.actionFilter.Selected)
	shown := make([]core.AuditEvent, 0, len(v.all))
	for _, ev := range v.all {
		if action != "" && ev.Action != action {
			continue
		}
		if query != "" && !strings.Contains(strings.ToLower(ev.KeyName), query) && !strings.Contains(strings.ToLower(ev.KeyID), query) {
			continue
		}
		shown = append(shown, ev)
	}
	v.sortEvents(shown)
	v.shown = shown
	v.table.UnselectAll()
	v.table.Refresh()
	v.table.ScrollToTop()
	v.status.Importance = widget.LowImportance
	switch {
	case len(v.all) == 0:
		v.status.SetText("No activity yet.")
	case len(shown) == len(v.all):
		v.status.SetText(plural(len(shown), "event", "events"))
	default:
		v.status.SetText(fmt.Sprintf("%s of %d", plural(len(shown), "event", "events"), len(v.all)))
	}
}

func (v *activityView) cellText(ev core.AuditEvent, col int) string {
	switch col {
	case 0:
		return ev.Time.In(v.loc).Format("2006-01-02 15:04:05")
	case 1:
		return ev.Who()
	case 2:
		return actionLabel(ev.Action)
	case 3:
		switch {
		case ev.KeyName != "" && ev.KeyID != "":
			return ev.KeyName + " (" + ev.KeyID + ")"
		case ev.KeyName != "":
			return ev.KeyName
		}
		return ev.KeyID
	case 4:
		return ev.Detail
	}
	return ""
}

// showDetail shows one shown event in full, with its time in local time
// and in UTC.
func (v *activityView) showDetail(row int) {
	if row < 0 || row >= len(v.shown) {
		return
	}
	ev := v.shown[row]
	parts := []string{
		ev.Time.In(v.loc).Format("2006-01-02 15:04:05 MST") + " (" + ev.Time.UTC().Format(time.RFC3339) + ")",
		actionLabel(ev.Action) + " by " + ev.Who(),
	}
	if ev.Unverified && !ev.Action.ServerAction() {
		parts = append(parts, workspace.UnsignedAudit)
	}
	if k := v.cellText(ev, 3); k != "" {
		parts = append(parts, "key "+k)
	}
	if ev.Detail != "" {
		parts = append(parts, ev.Detail)
	}
	v.detail.Importance = widget.MediumImportance
	v.detail.SetText(strings.Join(parts, " · "))
}

// sortBy sorts by column col: again on the same column reverses the order;
// a new column sorts its time newest first and its text A to Z.
func (v *activityView) sortBy(col int) {
	if col == v.sortCol {
		v.sortDesc = !v.sortDesc
	} else {
		v.sortCol, v.sortDesc = col, col == 0
	}
	v.applyFilter()
}

// sortEvents sorts events by the sort column, whatever order the log gave
// them in; equal ones go newest first.
func (v *activityView) sortEvents(events []core.AuditEvent) {
	slices.SortStableFunc(events, func(a, b core.AuditEvent) int {
		c := 0
		if v.sortCol == 0 {
			c = a.Time.Compare(b.Time)
		} else {
			c = strings.Compare(strings.ToLower(v.cellText(a, v.sortCol)), strings.ToLower(v.cellText(b, v.sortCol)))
		}
		if v.sortDesc {
			c = -c
		}
		if c == 0 {
			c = b.Time.Compare(a.Time)
		}
		return c
	})
}
