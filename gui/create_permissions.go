package gui

// The create dialog's permissions: the type, the three tabs, the request
// they make and the summary of what it grants.

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
)

func (d *createDialog) globalTab() fyne.CanvasObject {
	d.global = d.v.env.check("Grant Global Development Access (scope *:*)", func(on bool) {
		if on {
			d.beforeGlobal = d.choice
			d.choice = globalPreset()
			d.chooseKind(tabGlobal)
		} else if d.choice == globalPreset() {
			d.choice = d.beforeGlobal
		}
		d.update()
	})
	warn := widget.NewLabel("For development only, never in production. A key with Global Development Access " +
		"can call every operation of every API. It lasts at most 7 days: choosing it sets the expiration to 7 days.")
	warn.Wrapping = fyne.TextWrapWord
	warn.Importance = widget.WarningImportance
	return container.NewVBox(d.global, newBorder(nil, nil, widget.NewIcon(theme.WarningIcon()), nil, warn))
}

func (d *createDialog) sectionsTab() fyne.CanvasObject {
	list := container.NewVBox()
	for i, s := range d.cat.Sections {
		radio := d.v.env.radio([]string{accessNone, accessRead, accessFull}, func(a string) {
			if a != accessNone {
				d.chooseKind(tabSections)
			}
			d.update()
		})
		radio.Horizontal = true
		radio.Required = true
		radio.OnFocus = d.follow
		radio.Selected = accessNone
		d.sections = append(d.sections, sectionChoice{sec: s, radio: radio})
		info := widget.NewLabel(sectionInfo(s))
		info.Truncation = fyne.TextTruncateEllipsis // the radios keep their room
		if i > 0 {
			list.Add(widget.NewSeparator())
		}
		list.Add(container.NewBorder(nil, nil, nil, container.NewCenter(radio), info))
	}
	scroll := container.NewVScroll(list)
	d.scrolls = append(d.scrolls, scroll)
	return scroll
}

// follow scrolls the list holding o, if any, so that o shows: Tab can
// move the focus to a section or operation scrolled out of view.
func (d *createDialog) follow(o fyne.CanvasObject) {
	for _, s := range d.scrolls {
		widgets.ScrollIntoView(s, o)
	}
}

func (d *createDialog) operationsTab() fyne.CanvasObject {
	d.opSearch = widgets.NewEscEntry()
	d.opSearch.OnEscape = d.v.env.escKey
	d.opSearch.SetPlaceHolder("Search operations by id, name, summary, method or path")
	d.opSearch.ActionItem = widget.NewIcon(theme.SearchIcon())
	d.opSearch.OnChanged = d.filterOps
	d.opCount = widget.NewLabel("")
	d.opClear = d.v.env.button("Clear", nil, func() {
		for _, g := range d.groups {
			for _, o := range g.ops {
				o.check.SetChecked(false)
			}
		}
	})
	d.opClear.Importance = widget.LowImportance
	d.opNone = widget.NewLabel("")
	d.opNone.Hide()
	list := container.NewVBox()
	for _, s := range d.cat.Sections {
		g := &opGroup{header: boldLabel(s.Title)}
		list.Add(g.header)
		for _, op := range s.Operations {
			id := op.ID
			c := d.v.env.check(opLabel(op), func(on bool) {
				if on {
					d.picked[id] = true
					d.chooseKind(tabOperations)
				} else {
					delete(d.picked, id)
				}
				d.update()
			})
			c.OnFocus = d.follow
			g.ops = append(g.ops, opChoice{op: op, check: c})
			list.Add(c)
		}
		d.groups = append(d.groups, g)
	}
	list.Add(d.opNone)
	top := newBorder(nil, nil, nil, container.NewHBox(d.opCount, d.opClear), d.opSearch)
	// Scrolled both ways: an imported catalog's operation can be long, and
	// the list must not widen the dialog past the smallest window.
	scroll := container.NewScroll(list)
	d.scrolls = append(d.scrolls, scroll)
	return newBorder(top, nil, nil, nil, scroll)
}

// filterOps shows the operations matching a search, grouped by section.
func (d *createDialog) filterOps(q string) {
	match := map[*core.Operation]bool{}
	for _, op := range d.cat.Search(q) {
		match[op] = true
	}
	for _, g := range d.groups {
		any := false
		for _, o := range g.ops {
			o.check.Hidden = !match[o.op]
			any = any || match[o.op]
		}
		g.header.Hidden = !any
	}
	if len(match) == 0 {
		d.opNone.SetText(fmt.Sprintf("No operation matches “%s”.", strings.TrimSpace(q)))
		d.opNone.Show()
	} else {
		d.opNone.Hide()
	}
	d.tabItems[2].Content.Refresh()
}

func (d *createDialog) prefill(k *core.Key) {
	d.name.SetText(copyName(k.Name))
	switch k.Permissions.Kind {
	case core.KindGlobal:
		d.global.SetChecked(true)
		d.chooseKind(tabGlobal)
	case core.KindSections:
		for _, s := range d.sections {
			switch k.Permissions.Sections[s.sec.ID] {
			case core.AccessRead:
				s.radio.SetSelected(accessRead)
			case core.AccessFull:
				s.radio.SetSelected(accessFull)
			}
		}
		d.chooseKind(tabSections)
	case core.KindOperations:
		for _, g := range d.groups {
			for _, o := range g.ops {
				if slices.Contains(k.Permissions.Operations, o.op.ID) {
					o.check.SetChecked(true)
				}
			}
		}
		d.chooseKind(tabOperations)
	}
}

// Permission tabs of the create dialog, in the order of kindOptions.
const (
	tabGlobal = iota
	tabSections
	tabOperations
)

// kindOptions are the permission types offered above the tabs, in the
// order of the tabs.
var kindOptions = [3]string{"Global", "Sections", "Operations"}

// kindIndex is the permission type chosen (tabGlobal, tabSections or
// tabOperations), or -1 before one is.
func (d *createDialog) kindIndex() int {
	if d.kind == nil {
		return -1
	}
	for i, o := range kindOptions {
		if d.kind.Selected == o {
			return i
		}
	}
	return -1
}

// request returns what the dialog would submit: the permissions of the
// type chosen above the tabs (a key has exactly one kind; the tab in view
// does not decide it), and a note naming the selections of the other types
// that are not used ("" when there are none).
func (d *createDialog) request() (core.CreateRequest, string, error) {
	req := core.CreateRequest{Name: d.name.Text}
	sections := map[string]core.Access{}
	for _, s := range d.sections {
		switch s.radio.Selected {
		case accessRead:
			sections[s.sec.ID] = core.AccessRead
		case accessFull:
			sections[s.sec.ID] = core.AccessFull
		}
	}
	var ops []string
	for _, g := range d.groups {
		for _, o := range g.ops {
			if d.picked[o.op.ID] {
				ops = append(ops, o.op.ID)
			}
		}
	}
	tab := d.kindIndex()
	p := &req.Permissions
	var unused []string
	switch tab {
	case tabGlobal:
		if d.global.Checked {
			p.Kind = core.KindGlobal
		}
	case tabSections:
		if len(sections) > 0 {
			p.Kind, p.Sections = core.KindSections, sections
		}
	case tabOperations:
		if len(ops) > 0 {
			p.Kind, p.Operations = core.KindOperations, ops
		}
	}
	if tab != tabGlobal && d.global.Checked {
		unused = append(unused, "Global Development Access")
	}
	if tab != tabSections && len(sections) > 0 {
		unused = append(unused, plural(len(sections), "section", "sections"))
	}
	if tab != tabOperations && len(ops) > 0 {
		unused = append(unused, plural(len(ops), "operation", "operations"))
	}
	note := ""
	if len(unused) > 0 {
		note = "Not used (not the chosen type): " + strings.Join(unused, ", ") + "."
	}
	var lifeErr error
	if d.choice == customChoice {
		t, err := d.customExpiry()
		if err != nil {
			lifeErr = err
		}
		req.Lifetime = core.Lifetime{At: t.UTC()}
	} else {
		req.Lifetime = core.Presets[d.choice].Lifetime
	}
	return req, note, lifeErr
}

// plural is "1 section" or "3 sections".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// chooseKind makes tab the key's kind: choosing a section, an operation or
// Global Development Access chooses its type above the tabs, where it
// shows, and its tab.
func (d *createDialog) chooseKind(tab int) {
	if d.kind != nil && d.kind.Selected != kindOptions[tab] {
		d.kind.SetSelected(kindOptions[tab])
	}
}

// updatePermissions shows the permissions' message: their kind (the tab
// selected) and the selections on other tabs that are not used, or why
// they cannot be used. It returns the permissions' error.
func (d *createDialog) updatePermissions(req core.CreateRequest, unused string) error {
	_, permErr := d.cat.Scopes(req.Permissions)
	switch {
	case permErr != nil:
		msg := sentence(permErr)
		if k := d.kindIndex(); k < 0 || (k == tabGlobal && !d.global.Checked) {
			msg = "Choose the type above the tabs: tick “Grant Global Development Access”, or choose sections or operations."
		}
		imp := widget.LowImportance
		if unused != "" {
			msg += " " + unused
			imp = widget.WarningImportance
		}
		setMessage(d.permMsg, msg, imp)
		if k := d.kindIndex(); k < 0 || (k == tabGlobal && !d.global.Checked) {
			return errors.New(msg)
		}
	case unused != "":
		setMessage(d.permMsg, "Type: "+req.Permissions.Kind.Label()+" (chosen above the tabs). "+unused, widget.WarningImportance)
	default:
		setMessage(d.permMsg, "Type: "+req.Permissions.Kind.Label()+".", widget.LowImportance)
	}
	return permErr
}

func (d *createDialog) updateTabTitles() {
	// Short titles: the tabs' bar fits beside the summary at 800×500
	// (the type chosen above them names each in full).
	g := "Global"
	if d.global.Checked {
		g += " (ticked)"
	}
	n := 0
	for _, s := range d.sections {
		if s.radio.Selected != accessNone && s.radio.Selected != "" {
			n++
		}
	}
	sec := "Sections"
	if n > 0 {
		sec = fmt.Sprintf("Sections (%d)", n)
	}
	ops := "Operations"
	if len(d.picked) > 0 {
		ops = fmt.Sprintf("Operations (%d)", len(d.picked))
	}
	switch len(d.picked) {
	case 0:
		d.opCount.SetText("No operations picked")
	case 1:
		d.opCount.SetText("1 operation picked")
	default:
		d.opCount.SetText(fmt.Sprintf("%d operations picked", len(d.picked)))
	}
	if d.tabItems[0].Text != g || d.tabItems[1].Text != sec || d.tabItems[2].Text != ops {
		d.tabItems[0].Text, d.tabItems[1].Text, d.tabItems[2].Text = g, sec, ops
		d.tabs.Refresh()
	}
}

func (d *createDialog) updateSummary(plan *core.Key, req core.CreateRequest) {
	d.summary.RemoveAll()
	var head string
	var scopes []string
	if plan != nil {
		head = fmt.Sprintf("%s, until %s.", plan.Permissions.Kind.Label(), formatDateTime(plan.ExpiresAt, d.v.env.loc))
		scopes = plan.Scopes
	} else if sc, err := d.cat.Scopes(req.Permissions); err == nil {
		// What is chosen so far; the status line above says what
		// else is missing.
		head = req.Permissions.Kind.Label() + "."
		scopes = sc
	} else {
		d.summary.Refresh()
		return
	}
	l := widget.NewLabel(head)
	l.Wrapping = fyne.TextWrapWord
	d.summary.Add(l)
	for _, s := range scopes {
		info := d.cat.Describe(s)
		l := widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		l.Truncation = fyne.TextTruncateEllipsis
		desc := widget.NewLabel(scopeTitles(info))
		desc.Wrapping = fyne.TextWrapWord
		d.summary.Add(container.NewVBox(l, desc))
	}
	d.summary.Refresh()
}
