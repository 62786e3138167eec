package gui

import (
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
)

// customLayout is how tests and the default spell a custom expiry, in the
// local time zone; the dialog shows it as a date picker and a time.
const customLayout = "2006-01-02 15:04"

// customTimeLayout is how the create dialog reads a custom expiry's time.
const customTimeLayout = "15:04"

// Errors shown when the custom expiry cannot be read.
var (
	errCustomDate = errors.New("choose the expiry date with the calendar button beside it")
	errCustomTime = errors.New("enter the expiry time as hour:minute, for example 17:00")
)

// Section access choices on the Sections tab.
const (
	accessNone = "None"
	accessRead = "Read-only"
	accessFull = "Full access"
)

// customChoice is the expiry choice index of "Custom date and time".
const customChoice = -1

// createDialog is the Create API Key dialog: name, expiration, permissions
// on three tabs and a live summary of what will be granted. The rules are
// core's: the dialog asks core (Plan, CleanName, Scopes, CheckExpiry) and
// shows each reason next to the field at fault.
type createDialog struct {
	v   *keysView
	svc keysService
	cat *core.Catalog
	dlg *dialog.CustomDialog

	name        *widgets.EscEntry
	nameMsg     *widget.Label
	nameTouched bool

	presets      []*widgets.EscButton
	customBtn    *widgets.EscButton
	choice       int // index in core.Presets, or customChoice
	beforeGlobal int
	// customDate and customTime are the custom expiry, shown in
	// customRow when Custom… is chosen.
	customDate *widgets.EscDateEntry
	customTime *widgets.EscEntry
	customRow  *fyne.Container
	expiryBox  *fyne.Container // the presets, customRow and expiryMsg
	left       *fyne.Container // the form above the permission tabs
	expiryMsg  *widget.Label

	global   *widgets.EscCheck
	sections []sectionChoice
	opSearch *widgets.EscEntry
	groups   []*opGroup
	picked   map[string]bool
	opCount  *widget.Label
	opClear  *widgets.EscButton
	opNone   *widget.Label
	tabs     *container.AppTabs
	tabItems [3]*container.TabItem
	// kind is the key's permission type, chosen explicitly above the tabs
	// (the tabs follow it; the tab in view never decides it).
	kind    *widgets.RadioGroup
	permMsg *widget.Label

	summary *fyne.Container
	side    *fyne.Container // the summary's title, status and kind
	// sidePanel holds side above the summary.
	sidePanel *fyne.Container
	status    *widget.Label
	create    *widgets.EscButton
	cancel    *widgets.EscButton

	plan *core.Key
	busy bool
	// from is the key duplicated, or nil; opened is the snapshot taken
	// when the dialog opened; confirm is the discard question, once asked.
	from    *core.Key
	opened  string
	confirm *confirmDialog
	ready   bool // every widget exists; update may run
	// scrolls are the dialog's scrolled lists: a widget in one that gains
	// the keyboard focus is scrolled into view (follow).
	scrolls []*container.Scroll
}

type sectionChoice struct {
	sec   *core.Section
	radio *widgets.RadioGroup
}

type opGroup struct {
	header *widget.Label
	ops    []opChoice
}

type opChoice struct {
	op    *core.Operation
	check *widgets.EscCheck
}

// openCreate opens the create dialog, pre-filled from a key when duplicating.
func (v *keysView) openCreate(from *core.Key) *createDialog {
	if v.refused {
		return nil // the store refuses every change (refuseChanges)
	}
	if v.creating != nil || v.secret != nil {
		return v.creating // one at a time (Ctrl+N twice opens one dialog)
	}
	d := newCreateDialog(v, from)
	v.creating = d
	done := v.env.onEscape(d.escape)
	d.dlg.SetOnClosed(func() {
		v.creating = nil
		done()
	})
	d.dlg.Resize(d.size())
	d.dlg.Show()
	// Wrapped labels know their height once laid out at their width:
	// lay the dialog out again so the status line takes its real height.
	d.dlg.Refresh()
	v.env.win.Canvas().Focus(d.name)
	return d
}

func (d *createDialog) size() fyne.Size {
	s := d.v.env.win.Canvas().Size()
	return fyne.NewSize(min(1000, s.Width-16), min(700, s.Height-16))
}

func newCreateDialog(v *keysView, from *core.Key) *createDialog {
	d := &createDialog{v: v, svc: v.svc, cat: v.svc.Catalog(), picked: map[string]bool{}, from: from}
	d.choice = defaultPreset()
	d.beforeGlobal = d.choice

	d.name = widgets.NewEscEntry()
	d.name.OnEscape = v.env.escKey
	d.name.SetPlaceHolder("e.g. CRM sync (production)")
	d.name.OnChanged = func(string) { d.nameTouched = true; d.update() }
	d.name.OnSubmitted = func(string) { d.submit() }
	d.nameMsg = widget.NewLabel("")
	d.nameMsg.Wrapping = fyne.TextWrapWord

	presetGrid := container.NewGridWithColumns(4)
	for i, p := range core.Presets {
		b := v.env.button(p.Label, nil, func() { d.choose(i) })
		d.presets = append(d.presets, b)
		presetGrid.Add(b)
	}
	d.customBtn = v.env.button("Custom…", theme.CalendarIcon(), func() { d.choose(customChoice) })
	presetGrid.Add(d.customBtn)
	d.customDate = widgets.NewEscDateEntry()
	// The calendar's today is the window's clock's, in its time zone.
	d.customDate.Now = func() time.Time { return d.svc.Now().In(v.env.loc) }
	d.customDate.RegisterEscape = v.env.onEscape
	d.customDate.OnEscape = v.env.escKey
	d.customDate.OnChanged = func(*time.Time) { d.update() }
	d.customDate.SetOnValidationChanged(func(error) { d.update() })
	d.customTime = widgets.NewEscEntry()
	d.customTime.OnEscape = v.env.escKey
	d.customTime.SetPlaceHolder("17:00")
	d.customTime.OnChanged = func(string) { d.update() }
	timeBox := container.NewGridWrap(fyne.NewSize(110, d.customTime.MinSize().Height), d.customTime)
	d.customRow = newBorder(nil, nil, nil, container.NewHBox(widget.NewLabel("at"), timeBox), d.customDate)
	d.customRow.Hide()
	d.expiryMsg = widget.NewLabel("")
	d.expiryMsg.Wrapping = fyne.TextWrapWord

	d.kind = v.env.radio(kindOptions[:], func(string) {
		if i := d.kindIndex(); i >= 0 && d.tabs != nil && d.tabs.SelectedIndex() != i {
			d.tabs.SelectIndex(i)
		}
		if d.ready {
			d.update()
		}
	})
	d.kind.Horizontal = true
	d.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Global", theme.WarningIcon(), d.globalTab()),
		container.NewTabItem("Sections", d.sectionsTab()),
		container.NewTabItemWithIcon("Operations", theme.SearchIcon(), d.operationsTab()),
	)
	copy(d.tabItems[:], d.tabs.Items)
	d.tabs.OnSelected = func(*container.TabItem) { d.update() }
	d.permMsg = widget.NewLabel("")
	d.permMsg.Wrapping = fyne.TextWrapWord

	d.summary = container.NewVBox()
	d.status = widget.NewLabel("")
	d.status.Wrapping = fyne.TextWrapWord

	if from != nil {
		d.prefill(from)
	}

	d.expiryBox = container.NewVBox(presetGrid, d.customRow, secondaryText(d.expiryMsg))
	form := container.New(layout.NewFormLayout(),
		boldLabel("Name"), container.NewVBox(d.name, secondaryText(d.nameMsg)),
		boldLabel("Expires"), d.expiryBox,
	)
	// The permission tabs take all the height the name and expiration
	// leave; their kind, what the key would grant and why it cannot be
	// created yet sit in the panel beside them, so a small window (800×500)
	// still shows several rows of each list.
	kindRow := newBorder(nil, nil, boldLabel("Type"), nil, d.kind)
	left := newBorder(container.NewVBox(form, kindRow), nil, nil, nil, d.tabs)
	d.left = left
	// The side panel's title and scopes shorten with an ellipsis, so that
	// its minimum width does not push the dialog past the smallest window.
	summaryTitle := boldLabel("What this key will grant")
	summaryTitle.Truncation = fyne.TextTruncateEllipsis
	d.side = container.NewVBox(summaryTitle, d.status, secondaryText(d.permMsg))
	d.sidePanel = newBorder(d.side, nil, nil, nil, container.NewVScroll(d.summary))
	// The split keeps the side panel readable at the smallest window:
	// the tabs' bar fits beside sideMinWidth.
	sideFloor := canvas.NewRectangle(color.Transparent)
	sideFloor.SetMinSize(fyne.NewSize(sideMinWidth, 0))
	split := container.NewHSplit(left, container.NewStack(sideFloor, d.sidePanel))
	split.Offset = 0.68
	content := split

	d.cancel = v.env.button("Cancel", theme.CancelIcon(), func() { d.dlg.Hide() })
	d.create = v.env.button("Create API Key", theme.ConfirmIcon(), d.submit)
	d.create.Importance = widget.HighImportance
	title := "Create API Key"
	if from != nil {
		title = "Duplicate API Key"
	}
	d.dlg = dialog.NewCustomWithoutButtons(title, content, v.env.win)
	d.dlg.SetButtons([]fyne.CanvasObject{d.cancel, d.create})
	d.nameTouched = from != nil
	d.ready = true
	d.update()
	d.opened = d.snapshot()
	return d
}

// snapshot is what the user has entered, to tell whether closing the
// dialog would lose work.
func (d *createDialog) snapshot() string {
	req, _, _ := d.request()
	return fmt.Sprintf("%q %v %v %d %q %v", req.Name, req.Permissions.Sections, req.Permissions.Operations,
		d.choice, d.customDate.Text+" "+d.customTime.Text, d.global.Checked)
}

// escape closes the dialog on Esc, asking first when something was entered
// since it opened; nothing happens while the key is being created.
func (d *createDialog) escape() {
	if d.busy {
		return
	}
	if d.snapshot() == d.opened {
		d.dlg.Hide()
		return
	}
	what := "key"
	if d.from != nil {
		what = "copy"
	}
	c := d.v.env.newConfirm("Discard this "+what+"?", "The name, expiration and permissions you chose are lost.", func(ok bool) {
		if ok {
			d.dlg.Hide()
		}
	})
	c.SetConfirmText("Discard")
	c.SetDismissText("Keep editing")
	c.Show()
	d.confirm = c
}

func boldLabel(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// sideMinWidth is the narrowest the create dialog's summary panel gets.
const sideMinWidth = 220

// defaultPreset is the index of the 12-month preset, the default.
func defaultPreset() int { return len(core.Presets) - 1 }

// globalPreset is the index of the 7-day preset, Global Development Access's
// maximum.
func globalPreset() int {
	for i, p := range core.Presets {
		if p.Lifetime == (core.Lifetime{Duration: core.GlobalMaxLifetime}) {
			return i
		}
	}
	return 0
}

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

// choose selects an expiry preset, or the custom date.
func (d *createDialog) choose(i int) {
	d.choice = i
	if i == customChoice && d.customDate.Date == nil && d.customDate.Text == "" {
		def := d.svc.Now().Add(30 * 24 * time.Hour)
		if d.plan != nil {
			def = d.plan.ExpiresAt
		}
		d.setCustom(def.In(d.v.env.loc))
	}
	d.update()
}

// setCustom shows t (in the local time zone) as the custom expiry.
func (d *createDialog) setCustom(t time.Time) {
	ready := d.ready
	d.ready = false // one update, below
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	d.customDate.SetDate(&day)
	// The example is a real date: the one the picker starts at.
	d.customDate.SetPlaceHolder(d.customDate.Text)
	d.customTime.SetText(t.Format(customTimeLayout))
	d.ready = ready
	d.update()
}

// customExpiry reads the custom expiry: the picked date at the time typed,
// in the local time zone.
func (d *createDialog) customExpiry() (time.Time, error) {
	day := d.customDate.Date
	// The picker keeps its last date while the text typed does not parse:
	// check the text with its own validator (not Validate, which reports
	// back here through the validation callback).
	valid := d.customDate.Validator == nil || d.customDate.Validator(d.customDate.Text) == nil
	if day == nil || strings.TrimSpace(d.customDate.Text) == "" || !valid {
		return time.Time{}, errCustomDate
	}
	tm, err := time.Parse(customTimeLayout, strings.TrimSpace(d.customTime.Text))
	if err != nil {
		return time.Time{}, errCustomTime
	}
	return time.Date(day.Year(), day.Month(), day.Day(), tm.Hour(), tm.Minute(), 0, 0, d.v.env.loc), nil
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

// update re-validates after any change: each section's message (name,
// expiration, permissions), the tab titles, the summary, and whether Create
// API Key is enabled.
func (d *createDialog) update() {
	if !d.ready {
		return
	}
	req, unused, lifeErr := d.request()
	now := d.svc.Now()
	created := now.UTC().Truncate(time.Second)

	nameErr := d.updateName(req)
	_, expErr := d.updateExpiration(req, created, lifeErr)
	permErr := d.updatePermissions(req, unused)
	d.updateTabTitles()

	// The plan is the authority: Create is enabled only when core accepts
	// the request.
	plan, planErr := d.svc.Plan(req, now)
	if planErr == nil && lifeErr != nil {
		// An unreadable custom date must not fall back to the default.
		plan, planErr = nil, lifeErr
	}
	d.plan = plan
	d.updateSummary(plan, req)
	if d.busy {
		d.create.Disable()
		return
	}
	if planErr != nil {
		d.create.Disable()
		reason := cmp.Or(nameErr, expErr, permErr, planErr)
		setMessage(d.status, "To create the key: "+lowerFirst(sentence(reason)), widget.MediumImportance)
	} else {
		d.create.Enable()
		setMessage(d.status, "", widget.MediumImportance)
	}
	d.compact()
}

// compactHeight is the window height under which the create dialog hides
// its informational lines (the name's length, the expiry date: the summary
// shows it) to leave the permission lists room; errors still show.
const compactHeight = 640

// compact hides the informational messages in a short window, and the
// permissions' message unless it is an error (the summary and the status
// line say the same).
func (d *createDialog) compact() {
	if d.permMsg.Importance == widget.LowImportance {
		// The kind heads the summary; what is missing is the status.
		d.permMsg.Hide()
	}
	d.side.Refresh()
	d.sidePanel.Refresh()
	if d.v.env.win.Canvas().Size().Height >= compactHeight {
		return
	}
	for _, l := range []*widget.Label{d.nameMsg, d.expiryMsg} {
		if l.Importance == widget.LowImportance && l.Visible() {
			l.Hide()
		}
	}
}

// updateName shows the name's message: what is wrong with it, that another
// key has it, or how many characters it has. It returns the name's error.
func (d *createDialog) updateName(req core.CreateRequest) error {
	_, nameErr := core.CleanName(req.Name)
	switch {
	case nameErr != nil:
		setMessage(d.nameMsg, sentence(nameErr), widget.DangerImportance)
		if !d.nameTouched {
			d.nameMsg.Importance = widget.LowImportance
		}
	case d.svc.NameInUse(req.Name):
		setMessage(d.nameMsg, "Another key already has this name. Names need not be unique, but a distinct one is easier to find.", widget.WarningImportance)
	default:
		setMessage(d.nameMsg, fmt.Sprintf("%d of %d characters.", len([]rune(strings.TrimSpace(req.Name))), core.MaxNameLength), widget.LowImportance)
	}
	return nameErr
}

// updateExpiration enables the presets allowed for the permissions' kind
// (a preset that breaks a rule is disabled), highlights the chosen one and
// shows when the key would expire. It returns that time and the
// expiration's error (lifeErr: the custom date could not be read).
func (d *createDialog) updateExpiration(req core.CreateRequest, created time.Time, lifeErr error) (time.Time, error) {
	kind := req.Permissions.Kind
	for i, b := range d.presets {
		if core.Presets[i].Allowed(created, kind) {
			b.Enable()
		} else {
			b.Disable()
		}
		imp := widget.MediumImportance
		if i == d.choice {
			imp = widget.HighImportance
		}
		b.Importance = imp
		b.Refresh()
	}
	d.customBtn.Importance = widget.MediumImportance
	if d.choice == customChoice {
		d.customBtn.Importance = widget.HighImportance
	}
	if show := d.choice == customChoice; show != d.customRow.Visible() {
		setVisible(d.customRow, show)
		// Lay the form out again: its height changed.
		d.expiryBox.Refresh()
		if d.left != nil {
			d.left.Refresh()
		}
	}
	d.customBtn.Refresh()
	expires := req.Lifetime.ExpiresAt(created, kind)
	expErr := lifeErr
	if expErr == nil {
		expErr = core.CheckExpiry(created, expires, kind)
	}
	if expErr != nil {
		setMessage(d.expiryMsg, sentence(expErr), widget.DangerImportance)
	} else {
		setMessage(d.expiryMsg, fmt.Sprintf("Expires %s (%s).", formatLong(expires, d.v.env.loc),
			core.FormatRelative(expires, created)), widget.LowImportance)
	}
	return expires, expErr
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

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// submit creates the key off the UI goroutine, then shows its secret.
func (d *createDialog) submit() {
	if d.plan == nil || d.busy {
		return
	}
	req, _, _ := d.request()
	d.busy = true
	d.create.Disable()
	d.cancel.Disable()
	setMessage(d.status, "Creating the key…", widget.MediumImportance)
	d.v.env.bg.run(func() func() {
		k, secret, err := d.svc.Create(req)
		return func() {
			d.busy = false
			d.cancel.Enable()
			if err != nil {
				d.update()
				setMessage(d.status, "The key was not created: "+lowerFirst(sentence(err)), widget.DangerImportance)
				return
			}
			d.dlg.Hide()
			d.v.keyCreated(k, secret)
		}
	})
}

// copySuffix ends the name of a duplicate.
const copySuffix = " (copy)"

// copyName is the name a duplicate of a key named name starts with:
// "<name> (copy)", the name shortened to keep within the length limit.
func copyName(name string) string {
	r := []rune(name)
	if room := core.MaxNameLength - len([]rune(copySuffix)); len(r) > room {
		r = []rune(strings.TrimSpace(string(r[:room])))
	}
	return string(r) + copySuffix
}
