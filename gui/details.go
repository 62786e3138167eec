package gui

import (
	"image/color"
	"regexp"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
)

// Widths of the details panel: a share of the keys screen between a
// minimum and a maximum (see sidePanelLayout).
const (
	detailsMinWidth = 360
	detailsMaxWidth = 420
	detailsShare    = 0.36
)

// detailsPanel shows one key in full beside the table: its id (with Copy,
// for the command line), hint, every scope with its titles, its dates,
// roll links, its audit entries and the key's actions. Its close button
// and Esc close it. It never shows a secret: the key record holds only the
// hint and the digest.
type detailsPanel struct {
	key      *core.Key
	content  fyne.CanvasObject
	title    *widget.Label
	closeBtn *widgets.TipButton
	copyID   *widget.Button
	edit     *widget.Button
	dup      *widget.Button
	roll     *widget.Button
	del      *widget.Button
	activity *fyne.Container
	// usage holds the key's usage chart once read (v.usage set).
	usage *fyne.Container
	// chart is the usage chart once shown.
	chart *usageChart
	// usageText is the line above the chart.
	usageText *widget.Label
	// scroll scrolls the panel's body.
	scroll *container.Scroll
	// entries are the key's audit entries once loaded, newest first.
	entries []core.AuditEvent
}

// detailTime is a time in the local zone with UTC in brackets, or "never".
func detailTime(t time.Time, now time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	s := formatDateTime(t, loc) + " · " + core.FormatRelative(t, now)
	// UTC in brackets, unless the local zone is UTC itself.
	if name, off := t.In(loc).Zone(); off != 0 || name != "UTC" {
		s += "  (" + formatUTC(t) + ")"
	}
	return s
}

// showDetails shows the details of the key of row r in the side panel,
// opening the panel if it is closed. The key's audit entries are read off
// the UI goroutine.
func (v *keysView) showDetails(r *keyRow) *detailsPanel {
	if r == nil {
		return nil
	}
	d := v.newDetailsPanel(r)
	v.details = d
	v.panelSlot.Objects = []fyne.CanvasObject{d.content}
	if v.panelEsc == nil {
		v.panelEsc = v.env.onEscape(v.closeDetails)
	}
	if !v.panelSlot.Visible() {
		v.panelSlot.Show()
		v.body.Refresh()
	} else {
		v.panelSlot.Refresh()
	}
	return d
}

// closeDetails closes the side panel; the row stays selected.
func (v *keysView) closeDetails() {
	if v.panelEsc != nil {
		v.panelEsc()
		v.panelEsc = nil
	}
	v.details = nil
	if v.panelSlot.Visible() {
		v.panelSlot.Hide()
		v.panelSlot.Objects = nil
		v.body.Refresh()
	}
}

// updateDetails follows a reload: the panel shows the key's new record,
// or closes when the key is gone.
func (v *keysView) updateDetails() {
	d := v.details
	if d == nil {
		return
	}
	r := v.model.find(d.key.ID)
	if r == nil {
		v.closeDetails()
		return
	}
	if r.key != d.key {
		v.showDetails(r)
	}
}

// newDetailsPanel builds the panel of the key of row r.
func (v *keysView) newDetailsPanel(r *keyRow) *detailsPanel {
	k := r.key
	loc := v.env.loc
	d := &detailsPanel{key: k}

	mono := fyne.TextStyle{Monospace: true}
	bold := fyne.TextStyle{Bold: true}
	text := func(s string) *widget.Label {
		l := widget.NewLabel(s)
		l.Wrapping = fyne.TextWrapWord
		return l
	}

	d.title = boldLabel(k.Name)
	d.title.SizeName = theme.SizeNameSubHeadingText
	d.title.Wrapping = fyne.TextWrapWord
	d.closeBtn = widgets.NewTipButton(v.tips, theme.CancelIcon(), "Close the details (Esc)", v.closeDetails)
	header := container.NewBorder(nil, nil, nil, container.NewVBox(d.closeBtn), d.title)

	id := widget.NewLabelWithStyle(k.ID, fyne.TextAlignLeading, mono)
	id.Selectable = true
	d.copyID = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		if v.env.clipboard != nil {
			v.env.clipboard.SetContent(k.ID)
		}
	})
	form := container.New(layout.NewFormLayout())
	add := func(label string, o fyne.CanvasObject) {
		form.Add(widget.NewLabelWithStyle(label, fyne.TextAlignTrailing, bold))
		form.Add(o)
	}
	add("Id", container.NewBorder(nil, nil, nil, container.NewVBox(d.copyID), widgets.NewBaselineBox(id)))
	add("Key", widgets.NewBaselineBox(widget.NewLabelWithStyle(k.Hint+"…", fyne.TextAlignLeading, mono)))
	add("Created", text(detailTime(k.CreatedAt, v.now, loc)))
	expires := text(detailTime(k.ExpiresAt, v.now, loc))
	switch {
	case k.Expired(v.now):
		expires.Importance = widget.DangerImportance
	case k.ExpiresWithin(v.now, core.ExpiringSoonWindow):
		expires.Importance = widget.WarningImportance
	}
	add("Expires", expires)
	lastUsed := text(detailTime(k.LastUsedAt, v.now, loc))
	if k.LastUsedAt.IsZero() {
		lastUsed.TextStyle.Italic = true
	}
	add("Last used", lastUsed)
	if k.Tampered {
		warn := text("The stored record does not match its signature: the key never verifies. Delete it.")
		warn.Importance = widget.WarningImportance
		add("Tampered", warn)
	}
	if lt, to := r.linkText(); lt != "" {
		var o fyne.CanvasObject = text(lt)
		if to != "" {
			o = widget.NewHyperlink(lt, nil)
			o.(*widget.Hyperlink).OnTapped = func() {
				v.selectKey(to)
				if r := v.model.find(to); r != nil {
					v.showDetails(r)
				}
			}
		}
		add("Rolled", o)
	}

	// Scopes: the scope in monospace, its titles under it.
	cat := v.svc.Catalog()
	var segs []widget.RichTextSegment
	for _, s := range k.Scopes {
		info := cat.Describe(s)
		segs = append(segs,
			&widget.TextSegment{Text: s, Style: widget.RichTextStyle{Inline: false, TextStyle: mono, ColorName: theme.ColorNameForeground}},
			&widget.TextSegment{Text: scopeTitles(info), Style: widget.RichTextStyle{ColorName: colorNameSecondary}},
		)
	}
	scopes := widget.NewRichText(segs...)
	scopes.Wrapping = fyne.TextWrapWord

	loading := widget.NewLabel("Loading the key's activity…")
	loading.Importance = widget.LowImportance
	d.activity = container.NewVBox(secondaryText(loading))

	body := container.NewVBox(form)
	if v.usage != nil {
		d.usageText = widget.NewLabel("Loading the key's usage…")
		d.usageText.Wrapping = fyne.TextWrapWord
		d.usage = container.NewVBox(d.usageText)
		body.Add(widget.NewSeparator())
		body.Add(boldLabel("Requests (30 days)"))
		body.Add(d.usage)
		st, keyID, now, shared := v.usage, k.ID, v.now, v.usageShared
		v.env.bg.run(func() func() {
			u, err := readKeyUsage(st, keyID, now)
			return func() { d.showUsage(v.tips, u, err, shared) }
		})
	}
	body.Add(widget.NewSeparator())
	body.Add(boldLabel(plural(len(k.Scopes), "scope", "scopes")))
	body.Add(scopes)
	body.Add(widget.NewSeparator())
	body.Add(boldLabel("Activity"))
	body.Add(d.activity)
	scroll := container.NewVScroll(container.New(layout.NewCustomPaddedLayout(0, 0, 0, scrollBarGutter()), body))
	d.scroll = scroll

	d.edit = widget.NewButtonWithIcon("Edit name", theme.DocumentCreateIcon(), func() { v.editKey(r) })
	setEnabled(d.edit, !k.Tampered && !v.refused)
	d.dup = widget.NewButtonWithIcon("Duplicate", duplicateIcon, func() { v.duplicateKey(r) })
	setEnabled(d.dup, !v.refused)
	d.roll = widget.NewButtonWithIcon("Roll…", theme.ViewRefreshIcon(), func() { v.openRoll(r) })
	setEnabled(d.roll, canRoll(k, v.now) && !v.refused)
	d.del = widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), func() { v.confirmDelete(r) })
	d.del.Importance = widget.DangerImportance
	setEnabled(d.del, !v.refused)
	actions := container.NewGridWithColumns(2, d.edit, d.dup, d.roll, d.del)

	inner := container.NewBorder(
		container.NewVBox(header, widget.NewSeparator()),
		container.NewVBox(widget.NewSeparator(), actions),
		nil, nil, scroll)
	bg := canvas.NewRectangle(color.Transparent)
	bg.FillColor = v.table.Theme().Color(theme.ColorNameBackground, fyne.CurrentApp().Settings().ThemeVariant())
	d.content = container.NewBorder(nil, nil, widget.NewSeparator(), nil,
		container.NewStack(bg, container.NewPadded(inner)))

	if v.audit != nil {
		src, keyID, from := v.audit, k.ID, k.RolledFrom
		v.env.bg.run(func() func() {
			var events []core.AuditEvent
			var err error
			if ka, ok := src.(keyAuditSource); ok {
				ids := []string{keyID}
				if from != "" {
					ids = append(ids, from)
				}
				events, err = ka.KeyAudit(ids...)
			} else {
				events, err = src.Audit()
			}
			var mine []core.AuditEvent
			for _, ev := range events {
				switch {
				case ev.KeyID == keyID:
					mine = append(mine, ev)
				case from != "" && ev.KeyID == from && ev.Action == core.ActionRoll:
					// The roll that made this key is written on the old
					// key: show it here as where this key came from.
					ev.Detail = "rolled from " + ev.KeyID
					mine = append(mine, ev)
				}
			}
			slices.SortStableFunc(mine, func(a, b core.AuditEvent) int { return b.Time.Compare(a.Time) })
			return func() { d.showActivity(mine, err, loc) }
		})
	} else {
		loading.SetText("No activity log in this window.")
	}
	return d
}

// showUsage shows the key's usage: the summary line and the chart, or
// shows it again with new counts (the window reads them every
// usageRefresh).
func (d *detailsPanel) showUsage(layer *widgets.TipLayer, u core.KeyUsage, err error, shared bool) {
	if err != nil {
		d.usageText.SetText("The usage counts could not be read: " + lowerFirst(sentence(err)))
		d.usageText.Importance = widget.DangerImportance
		d.usageText.Refresh()
		return
	}
	d.usageText.SetText(usageSummary(u, shared))
	d.usageText.Importance = widget.MediumImportance
	d.usageText.Refresh()
	if d.chart != nil && d.chart.update(u.Days) {
		return
	}
	if d.chart != nil {
		d.usage.Remove(d.chart)
	}
	d.chart = newUsageChart(layer, u.Days)
	d.usage.Add(d.chart)
	d.usage.Refresh()
}

// showActivity lists the key's audit entries, newest first: the time, and
// what happened under it.
func (d *detailsPanel) showActivity(events []core.AuditEvent, err error, loc *time.Location) {
	d.entries = events
	d.activity.RemoveAll()
	switch {
	case err != nil:
		l := widget.NewLabel("The activity log could not be read: " + lowerFirst(sentence(err)))
		l.Importance = widget.DangerImportance
		l.Wrapping = fyne.TextWrapWord
		d.activity.Add(l)
	case len(events) == 0:
		l := widget.NewLabel("No entries for this key.")
		l.Importance = widget.LowImportance
		d.activity.Add(secondaryText(l))
	default:
		var segs []widget.RichTextSegment
		for _, ev := range events {
			line := actionLabel(ev.Action)
			if ev.Actor != "" {
				line += " by " + ev.Actor
			}
			if ev.Detail != "" {
				line += " · " + localTimes(ev.Detail, loc)
			}
			segs = append(segs,
				&widget.TextSegment{Text: formatDateTime(ev.Time, loc), Style: widget.RichTextStyle{ColorName: colorNameSecondary}},
				&widget.TextSegment{Text: line, Style: widget.RichTextStyleParagraph},
			)
		}
		rt := widget.NewRichText(segs...)
		rt.Wrapping = fyne.TextWrapWord
		d.activity.Add(rt)
	}
	d.activity.Refresh()
}

// rfc3339 finds the times an audit detail holds in RFC 3339 (the roll's
// "the old key now expires 2026-11-28T11:00:00Z").
var rfc3339 = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)

// localTimes writes the RFC 3339 times in an audit detail the way the rest
// of the window writes times.
func localTimes(detail string, loc *time.Location) string {
	return rfc3339.ReplaceAllStringFunc(detail, func(s string) string {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return s
		}
		return formatDateTime(t, loc)
	})
}

// scrollBarGutter is the room kept clear on the right of scrolled content,
// so that the scroll bar does not cover fields or text.
func scrollBarGutter() float32 { return widgets.ScrollBarGutter() }

// sidePanelLayout lays out the keys screen's body: the table, and the
// details panel on its right when that is shown. The panel takes a share of
// the width between detailsMinWidth and detailsMaxWidth; the table folds
// columns to fit what is left (keysTable.fit), so its row actions stay in
// view down to the smallest window.
type sidePanelLayout struct{}

// panelWidth is the width of the panel in a body w wide.
func panelWidth(w float32) float32 {
	return min(detailsMaxWidth, max(detailsMinWidth, w*detailsShare))
}

// Layout places the table and, if shown, the panel.
func (sidePanelLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	main, panel := objs[0], objs[1]
	main.Move(fyne.Position{})
	if !panel.Visible() {
		main.Resize(size)
		return
	}
	pw := panelWidth(size.Width)
	main.Resize(fyne.NewSize(size.Width-pw, size.Height))
	panel.Move(fyne.NewPos(size.Width-pw, 0))
	panel.Resize(fyne.NewSize(pw, size.Height))
}

// MinSize is the table's, with room for the panel when it is shown.
func (sidePanelLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	s := objs[0].MinSize()
	if objs[1].Visible() {
		p := objs[1].MinSize()
		s = fyne.NewSize(s.Width+detailsMinWidth, max(s.Height, p.Height))
	}
	return s
}
