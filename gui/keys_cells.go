package gui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
)

// maxTipScopes is how many scopes a tooltip lists before "and N more".
const maxTipScopes = 12

// keyCell is the template of every cell of the keys table. The table
// recycles cells across columns and rows, so update sets every property each
// time.
type keyCell struct {
	widget.BaseWidget
	text    *tipLabel
	expired *badge
	flag    *badge
	badges  *fyne.Container
	nameBox *fyne.Container
	actions *fyne.Container
	edit    *widget.Button
	dup     *widget.Button
	del     *widget.Button
	content *fyne.Container

	row *keyRow
	col column
}

func newKeyCell(v *KeysView) *keyCell {
	c := &keyCell{
		text:    newTipLabel(v.tips),
		expired: newBadge("Expired", theme.ColorNameError),
		flag:    newBadge("Tampered", theme.ColorNameWarning),
	}
	c.text.Truncation = fyne.TextTruncateEllipsis
	c.badges = container.NewHBox(c.expired, c.flag)
	c.edit = &widget.Button{Icon: theme.DocumentCreateIcon(), Importance: widget.LowImportance,
		OnTapped: func() { v.editKey(c.row) }}
	c.dup = &widget.Button{Icon: theme.ContentCopyIcon(), Importance: widget.LowImportance,
		OnTapped: func() { v.duplicateKey(c.row) }}
	c.del = &widget.Button{Icon: theme.DeleteIcon(), Importance: widget.LowImportance,
		OnTapped: func() { v.confirmDelete(c.row) }}
	c.actions = container.NewHBox(c.edit, c.dup, c.del)
	c.nameBox = container.NewBorder(nil, nil, nil, c.badges, c.text)
	c.content = container.NewStack(c.nameBox, c.actions)
	c.ExtendBaseWidget(c)
	return c
}

func (c *keyCell) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(c.content) }

// update shows column col of row r.
func (c *keyCell) update(v *KeysView, r *keyRow, col column) {
	c.row, c.col = r, col
	k := r.key
	now := v.now
	expired := k.Expired(now)

	c.text.Importance = widget.MediumImportance
	if expired {
		c.text.Importance = widget.DangerImportance
	}
	c.text.TextStyle = fyne.TextStyle{}
	c.text.Alignment = fyne.TextAlignLeading
	var tip func() fyne.CanvasObject
	showBadges := false
	showActions := false
	text := ""

	switch col {
	case colName:
		text = k.Name
		setVisible(c.expired, expired)
		setVisible(c.flag, k.Tampered)
		showBadges = expired || k.Tampered
		if k.Tampered {
			tip = func() fyne.CanvasObject {
				return widget.NewLabel("This key's stored record does not match its signature:\nthe data file was edited, so the key never verifies. Delete it.")
			}
		}
	case colScopes:
		text = fmt.Sprint(len(k.Scopes))
		c.text.Alignment = fyne.TextAlignCenter
		cat := v.svc.Catalog()
		tip = func() fyne.CanvasObject { return scopesTip(cat, k.Scopes) }
	case colKey:
		text = k.Hint + "…"
		c.text.TextStyle = fyne.TextStyle{Monospace: true}
	case colCreated:
		text = formatDate(k.CreatedAt, v.env.loc)
		tip = timeTip("Created", k.CreatedAt, v.env.loc)
	case colExpires:
		text = formatDate(k.ExpiresAt, v.env.loc) + " · " + core.FormatRelative(k.ExpiresAt, now)
		if !expired && k.ExpiresWithin(now, core.ExpiringSoonWindow) {
			c.text.Importance = widget.WarningImportance
		}
		tip = timeTip("Expires", k.ExpiresAt, v.env.loc)
	case colLastUsed:
		text = "never"
		if !k.LastUsedAt.IsZero() {
			text = core.FormatRelative(k.LastUsedAt, now)
			tip = timeTip("Last used", k.LastUsedAt, v.env.loc)
		} else if !expired {
			c.text.Importance = widget.LowImportance
		}
	case colActions:
		showActions = true
		if k.Tampered != c.edit.Disabled() {
			if k.Tampered {
				c.edit.Disable()
			} else {
				c.edit.Enable()
			}
		}
	}
	c.text.Text = text
	c.text.setTip(tip)
	// Only what changed is refreshed: a keystroke in the search box
	// updates every visible cell, and refreshing the icon buttons each time
	// would cost more than the filtering itself.
	setVisible(c.badges, showBadges)
	setVisible(c.actions, showActions)
	setVisible(c.text, !showActions)
	if !showActions {
		// Lays out the label beside the badges again and redraws both.
		c.nameBox.Refresh()
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

// timeTip shows a time in the local time zone and in UTC.
func timeTip(what string, t time.Time, loc *time.Location) func() fyne.CanvasObject {
	return func() fyne.CanvasObject {
		return widget.NewLabel(what + " " + t.In(loc).Format("Mon 2 Jan 2006 15:04 MST") + "\n" + formatUTC(t))
	}
}

// scopesTip lists scopes with their section and operation titles.
func scopesTip(cat *core.Catalog, scopes []string) fyne.CanvasObject {
	title := fmt.Sprintf("%d scopes", len(scopes))
	if len(scopes) == 1 {
		title = "1 scope"
	}
	grid := container.New(layout.NewFormLayout())
	for i, s := range scopes {
		if i == maxTipScopes {
			grid.Add(widget.NewLabel(""))
			grid.Add(widget.NewLabel(fmt.Sprintf("and %d more", len(scopes)-maxTipScopes)))
			break
		}
		info := cat.Describe(s)
		grid.Add(widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}))
		grid.Add(widget.NewLabel(info.Section + " · " + info.Access))
	}
	return container.NewVBox(widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), grid)
}
