package gui

import (
	"fmt"
	"image/color"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/workspace"
)

// maxTipScopes is how many scopes a tooltip lists before "and N more".
const maxTipScopes = 12

// keyCell is the template of every cell of the keys table. The table
// recycles cells across columns and rows, so update computes every property
// each time (and refreshes only those that changed).
type keyCell struct {
	widget.BaseWidget
	text    *widgets.TipLabel
	expired *widgets.Badge
	flag    *widgets.Badge
	idle    *widgets.Badge
	denied  *widgets.Badge        // denied attempts in the last core.DeniedRecentDays
	unknown *widgets.Badge        // "Not in catalog": the key names what the catalog lost
	link    *widgets.EscHyperlink // to the key this one was rolled to or from
	linkTo  string                // the id link selects
	name    string                // the name the name layout shares the width for
	linkAll string                // link's whole text; link shows it cut to fit
	badges  *fyne.Container
	nameBox *fyne.Container
	textBox *fyne.Container // c.text on the baseline of the other cells
	actions *fyne.Container
	edit    *widgets.TipButton
	dup     *widgets.TipButton
	del     *widgets.TipButton
	roll    *widgets.TipButton
	// bg highlights the cells of the selected row.
	bg      *canvas.Rectangle
	content *fyne.Container

	row *keyRow
	col column
}

// Tooltips of the Duplicate and Delete buttons when they are on.
const (
	dupTipOn = "Duplicate: a new key with the same permissions"
	delTipOn = "Delete this key"
)

func newKeyCell(v *keysView) *keyCell {
	c := &keyCell{
		text:    widgets.NewTipLabel(v.tips),
		expired: widgets.NewBadge("Expired", theme.ColorNameError),
		flag:    widgets.NewBadge("Tampered", theme.ColorNameWarning),
		idle:    widgets.NewBadge("Idle", theme.ColorNamePrimary),
		denied:  widgets.NewBadge("Denied", theme.ColorNameWarning),
		unknown: widgets.NewBadge(notInCatalogBadge, theme.ColorNameWarning),
	}
	c.link = widgets.NewEscHyperlink("", nil)
	c.link.OnEscape = v.env.escKey
	c.link.OnTapped = func() { v.selectKey(c.linkTo) }
	c.text.Truncation = fyne.TextTruncateEllipsis // update sets it per text
	c.badges = container.NewHBox(c.expired, c.flag, c.unknown, c.denied, c.idle)
	c.edit = widgets.NewTipButton(v.tips, theme.DocumentCreateIcon(), editTipOn,
		func() { v.editKey(c.row) })
	c.dup = widgets.NewTipButton(v.tips, duplicateIcon, dupTipOn,
		func() { v.duplicateKey(c.row) })
	c.roll = widgets.NewTipButton(v.tips, theme.ViewRefreshIcon(), rollTipOn,
		func() { v.openRoll(c.row) })
	c.del = widgets.NewTipButton(v.tips, theme.DeleteIcon(), delTipOn,
		func() { v.confirmDelete(c.row) })
	for _, b := range []*widgets.TipButton{c.edit, c.dup, c.roll, c.del} {
		b.OnEscape = v.env.escKey
	}
	c.actions = container.NewHBox(c.edit, c.dup, c.roll, c.del)
	// The hint's monospace text is moved down onto the baseline of the
	// other cells' text (widgets.BaselineLayout).
	c.textBox = widgets.NewBaselineBox(c.text)
	c.nameBox = container.New(&nameLayout{cell: c}, c.textBox, c.link, c.badges)
	c.bg = canvas.NewRectangle(color.Transparent)
	c.content = container.NewStack(c.bg, c.nameBox, c.actions)
	c.ExtendBaseWidget(c)
	return c
}

func (c *keyCell) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(c.content) }

// update shows column col of row r. It changes and refreshes only what
// differs from what the cell shows: each keystroke in the search box updates
// every visible cell, and the table updates them again when it scrolls back
// to the top.
func (c *keyCell) update(v *keysView, r *keyRow, col column) {
	c.row, c.col = r, col
	k := r.key
	c.showSelected(v, k.ID == v.selected)
	now := v.now
	expired := k.Expired(now)
	idle := k.IsIdle(now)
	denied := r.deniedRecent > 0
	linkText, linkTo := "", ""

	importance := widget.MediumImportance
	if expired {
		importance = widget.DangerImportance
	}
	style := fyne.TextStyle{}
	align := fyne.TextAlignLeading
	var tip func() fyne.CanvasObject
	showBadges := false
	unknown := false
	text := ""

	switch col {
	case colName:
		text = k.Name
		linkText, linkTo = r.linkText()
		unknown = len(v.svc.Catalog().UnknownScopes(k)) > 0
		showBadges = expired || k.Tampered || idle || denied || unknown
		if k.Tampered {
			tip = func() fyne.CanvasObject {
				return widget.NewLabel("This key's stored record does not match its signature:\nthe data file was edited, so the key never verifies. Delete it.")
			}
		}
	case colScopes:
		text = strconv.Itoa(len(k.Scopes))
		align = fyne.TextAlignCenter
		cat := v.svc.Catalog()
		tip = func() fyne.CanvasObject { return scopesTip(cat, k.Scopes) }
		if unknown := cat.UnknownScopes(k); len(unknown) > 0 {
			importance = widget.WarningImportance
			tip = func() fyne.CanvasObject { return unknownScopesTip(cat, k.Scopes, unknown) }
		}
	case colKey:
		text = k.Hint + "…"
		style = fyne.TextStyle{Monospace: true}
	case colCreated:
		text = formatDate(k.CreatedAt, v.env.loc)
		tip = timeTip("Created", k.CreatedAt, v.env.loc)
	case colExpires:
		text = formatDate(k.ExpiresAt, v.env.loc) + " · " + core.FormatRelative(k.ExpiresAt, now)
		if !expired && k.ExpiresWithin(now, core.ExpiringSoonWindow) {
			importance = widget.WarningImportance
		}
		tip = timeTip("Expires", k.ExpiresAt, v.env.loc)
		if k.RolledTo != "" && !expired {
			text = rolledText(k, now)
			importance = widget.WarningImportance
			tip = timeTip("Rolled: stops working", k.ExpiresAt, v.env.loc)
		}
	case colLastUsed:
		// "never" is set apart in italics, in the text colour: the faint
		// (low-importance) colour is unreadable on a selected row and on
		// the dark theme.
		text = "never"
		style = fyne.TextStyle{Italic: true}
		if !k.LastUsedAt.IsZero() {
			text = core.FormatRelative(k.LastUsedAt, now)
			style = fyne.TextStyle{}
			tip = timeTip("Last used", k.LastUsedAt, v.env.loc)
		}
	case colRequests:
		align = fyne.TextAlignTrailing
		switch {
		case !v.usageRead:
			text = "–"
		case r.requests == 0:
			// Set apart like "never" in Last used.
			text = "none"
			style = fyne.TextStyle{Italic: true}
		default:
			text = formatCount(r.requests)
		}
		if denied {
			n := r.deniedRecent
			tip = func() fyne.CanvasObject {
				return widget.NewLabel(formatCount(n) + " denied since yesterday (UTC)")
			}
		}
	case colActions:
		c.text.SetTip(nil)
		setEnabled(c.edit, !k.Tampered && !v.refused)
		setEnabled(c.dup, !v.refused)
		setEnabled(c.roll, canRoll(k, now) && !v.refused)
		setEnabled(c.del, !v.refused)
		// A greyed-out button says why in its tooltip.
		c.edit.Tip, c.roll.Tip = editTip(k, v.refused), rollTip(k, now, v.refused)
		c.dup.Tip, c.del.Tip = dupTipOn, delTipOn
		if v.refused {
			c.dup.Tip, c.del.Tip = workspace.OffRefused, workspace.OffRefused
		}
		setVisible(c.badges, false)
		setVisible(c.link, false)
		setVisible(c.text, false)
		setVisible(c.actions, true)
		return
	}
	c.text.SetTip(tip)
	setVisible(c.actions, false)
	// A label hidden while the table resized the cell (it last showed the
	// actions) kept the width of an earlier column: the layout skips hidden
	// objects. Lay it out again before measuring it.
	relayout := !c.text.Visible()
	setVisible(c.text, true)

	// The badges beside the name: when they change, lay out the label
	// beside them again before measuring it.
	if col == colName {
		if c.name != text {
			c.name = text
			relayout = true
		}
		changed := c.expired.Visible() != expired || c.flag.Visible() != k.Tampered ||
			c.idle.Visible() != idle || c.denied.Visible() != denied || c.unknown.Visible() != unknown || c.link.Visible() != (linkText != "") || c.linkAll != linkText
		setVisible(c.expired, expired)
		setVisible(c.flag, k.Tampered)
		setVisible(c.idle, idle)
		setVisible(c.denied, denied)
		setVisible(c.unknown, unknown)
		c.linkTo = linkTo
		c.linkAll = linkText
		setVisible(c.link, linkText != "")
		if changed && showBadges {
			c.badges.Refresh()
		}
		relayout = relayout || changed
	} else if c.link.Visible() {
		setVisible(c.link, false)
		relayout = true
	}
	if c.badges.Visible() != showBadges {
		setVisible(c.badges, showBadges)
		relayout = true
	}
	l := &c.text.Label
	if l.TextStyle != style {
		// The baseline box shifts the label by its style.
		l.TextStyle = style
		relayout = true
	}
	if relayout {
		c.nameBox.Layout.Layout(c.nameBox.Objects, c.nameBox.Size())
		c.textBox.Layout.Layout(c.textBox.Objects, c.textBox.Size())
	}

	trunc := widgets.FitTruncation(l, text, style)
	if col == colName && !k.Tampered {
		// A cut name or link reads in full in the name's tooltip (and in
		// the details panel).
		linkCut := linkText != "" && c.link.Text != linkText
		switch {
		case trunc == fyne.TextTruncateEllipsis || linkCut:
			c.text.SetTip(nameTip(k.Name, linkText))
		default:
			c.text.SetTip(nil)
		}
	}
	if l.Text == text && l.Importance == importance && l.Alignment == align && l.Truncation == trunc && !relayout {
		return
	}
	l.Text, l.Importance, l.Alignment, l.Truncation = text, importance, align, trunc
	l.Refresh()
}

// showSelected highlights the cell when its row is the selected one, so
// the whole row reads as selected rather than one cell.
func (c *keyCell) showSelected(v *keysView, on bool) {
	var want color.Color = color.Transparent
	if on {
		want = v.table.Theme().Color(theme.ColorNameSelection, fyne.CurrentApp().Settings().ThemeVariant())
	}
	if c.bg.FillColor != want {
		c.bg.FillColor = want
		c.bg.Refresh()
	}
}

// setVisible shows or hides o, refreshing it only when that changes.
func setVisible(o fyne.CanvasObject, visible bool) {
	switch {
	case visible && !o.Visible():
		o.Show()
	case !visible && o.Visible():
		o.Hide()
	}
}

// setEnabled enables or disables o, only when that changes it.
func setEnabled(o fyne.Disableable, enabled bool) {
	switch {
	case enabled && o.Disabled():
		o.Enable()
	case !enabled && !o.Disabled():
		o.Disable()
	}
}

// timeTip shows a time in the local time zone and in UTC.
func timeTip(what string, t time.Time, loc *time.Location) func() fyne.CanvasObject {
	return func() fyne.CanvasObject {
		return widget.NewLabel(what + " " + formatLong(t, loc) + "\n" + formatUTC(t))
	}
}

// scopesTip lists scopes with their section and operation titles.
func scopesTip(cat *core.Catalog, scopes []string) fyne.CanvasObject {
	grid := container.New(layout.NewFormLayout())
	for i, s := range scopes {
		if i == maxTipScopes {
			grid.Add(widget.NewLabel(""))
			grid.Add(widget.NewLabel(fmt.Sprintf("and %d more", len(scopes)-maxTipScopes)))
			break
		}
		info := cat.Describe(s)
		grid.Add(widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}))
		grid.Add(widget.NewLabel(scopeTitles(info)))
	}
	return container.NewVBox(boldLabel(plural(len(scopes), "scope", "scopes")), grid)
}

// scopeTitles is a scope's section and access titles: "Billing · Read-only".
func scopeTitles(info core.ScopeInfo) string { return info.Section + " · " + info.Access }

// nameTip is the tooltip of a name cut to fit: the full name and link.
func nameTip(name, link string) func() fyne.CanvasObject {
	return func() fyne.CanvasObject {
		if link == "" {
			return widget.NewLabel(name)
		}
		return widget.NewLabel(name + "\n" + link)
	}
}

// textWidth is the width a label (or hyperlink) needs to show text uncut.
func textWidth(th fyne.Theme, text string) float32 {
	return fyne.MeasureText(text, th.Size(theme.SizeNameText), fyne.TextStyle{}).Width +
		2*th.Size(theme.SizeNameInnerPadding) + 1
}

// fitText is text cut with an ellipsis to fit a label of width w.
func fitText(th fyne.Theme, text string, w float32) string {
	if textWidth(th, text) <= w {
		return text
	}
	r := []rune(text)
	lo, hi := 0, len(r) // the longest prefix that fits with "…"
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if textWidth(th, string(r[:mid])+"…") <= w {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return string(r[:lo]) + "…"
}

// nameLayout lays out the name cell: the badges at the right at their
// width, the "rolled from/to" link before them, the name in what is left.
// When the name and link do not both fit, they share the room (each gets at
// least half unless the other needs less) and both cut with an ellipsis:
// nothing is ever drawn on top of anything else.
type nameLayout struct{ cell *keyCell }

// Layout places the name (objects[0]), link ([1]) and badges ([2]).
func (n *nameLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	name, link, badges := objects[0], objects[1], objects[2]
	th := n.cell.link.Theme()
	pad := th.Size(theme.SizeNamePadding)
	right := size.Width
	if badges.Visible() {
		bw := min(badges.MinSize().Width, size.Width)
		right = size.Width - bw
		badges.Resize(fyne.NewSize(bw, size.Height))
		badges.Move(fyne.NewPos(right, 0))
		if right > 0 {
			right = max(right-pad, 0)
		}
	}
	lw := float32(0)
	if link.Visible() {
		all := n.cell.linkAll
		full := textWidth(th, all)
		need := textWidth(th, n.cell.name)
		lw = max(min(full, max(right/2, right-need)), 0)
		// A hyperlink draws its whole text whatever its width: cut it here.
		if cut := fitText(th, all, lw); n.cell.link.Text != cut {
			n.cell.link.SetText(cut)
		}
		link.Resize(fyne.NewSize(lw, size.Height))
		link.Move(fyne.NewPos(right-lw, 0))
	}
	name.Resize(fyne.NewSize(max(right-lw, 0), size.Height))
	name.Move(fyne.NewPos(0, 0))
}

// MinSize is the tallest object's height; the width is the table's.
func (n *nameLayout) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var h float32
	for _, o := range objects {
		if o.Visible() {
			h = max(h, o.MinSize().Height)
		}
	}
	return fyne.NewSize(0, h)
}
