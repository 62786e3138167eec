package gui

// The Create API Key dialog: its widgets, opening and closing, the
// validation after each change and the submission. Its expiry is in
// create_expiry.go, its permissions and summary in create_permissions.go.

import (
	"cmp"
	"fmt"
	"image/color"
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
