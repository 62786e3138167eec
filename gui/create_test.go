package gui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
)

// openCreate opens the create dialog with Ctrl+N.
func (f *kvFixture) openCreate() *createDialog {
	f.t.Helper()
	f.shortcut(fyne.KeyN)
	if f.keys.creating == nil {
		f.t.Fatal("Ctrl+N opened no create dialog")
	}
	return f.keys.creating
}

func (d *createDialog) section(id string) *widgets.RadioGroup {
	for _, s := range d.sections {
		if s.sec.ID == id {
			return s.radio
		}
	}
	return nil
}

func (d *createDialog) opCheck(id string) *widgets.EscCheck {
	for _, g := range d.groups {
		for _, o := range g.ops {
			if o.op.ID == id {
				return o.check
			}
		}
	}
	return nil
}

func (d *createDialog) presetButton(label string) *widgets.EscButton {
	for i, p := range core.Presets {
		if p.Label == label {
			return d.presets[i]
		}
	}
	return nil
}

// createAndClose taps Create API Key, checks the secret dialog and closes
// it after copying; it returns the new key and its secret.
func (f *kvFixture) createAndClose(d *createDialog, name string) (*core.Key, string) {
	f.t.Helper()
	if d.create.Disabled() {
		f.t.Fatalf("Create API Key is disabled: %q", d.status.Text)
	}
	before := len(f.svc.List())
	test.Tap(d.create)
	if got := len(f.svc.List()); got != before+1 {
		f.t.Fatalf("keys after create = %d, want %d", got, before+1)
	}
	if f.keys.creating != nil {
		f.t.Fatal("the create dialog stays open after creating")
	}
	s := f.keys.secret
	if s == nil {
		f.t.Fatal("no secret dialog after creating")
	}
	secret := s.field.Label().Text
	if err := core.CheckKey(secret); err != nil {
		f.t.Fatalf("the secret dialog shows no valid key: %v", err)
	}
	if !f.overlayText(name) || !f.overlayText("only time") {
		f.t.Error("the secret dialog lacks the name or the only-once warning")
	}
	test.Tap(s.copyBtn)
	test.Tap(s.done)
	if f.keys.secret != nil {
		f.t.Fatal("Done after Copy does not close the secret dialog")
	}
	k := f.key(name)
	if k == nil {
		f.t.Fatalf("no key named %q after create", name)
	}
	if !slices.Contains(f.shownNames(), name) {
		f.t.Errorf("the table does not list %q", name)
	}
	return k, secret
}

func TestCreateSectionsKey(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	d := f.openCreate()
	if f.win.Canvas().Focused() != d.name {
		t.Error("the name field has no focus")
	}
	if d.choice != defaultPreset() || d.presets[defaultPreset()].Importance != widget.HighImportance {
		t.Error("12 months is not preselected")
	}
	test.Type(d.name, "Reporting job")
	d.tabs.Select(d.tabItems[1])
	d.section("users").SetSelected(accessRead)
	d.section("messaging").SetSelected(accessFull)
	if d.tabItems[1].Text != "Sections (2)" {
		t.Errorf("sections tab title %q", d.tabItems[1].Text)
	}
	if d.plan == nil || !slices.Equal(d.plan.Scopes, []string{"messaging:*", "users:read"}) {
		t.Fatalf("plan = %+v", d.plan)
	}
	var summary []string
	kvWalk(d.summary, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok {
			summary = append(summary, l.Text)
		}
	})
	for _, want := range []string{"messaging:*", "Messaging · Full access", "users:read", "Users · Read-only"} {
		if !slices.Contains(summary, want) {
			t.Errorf("summary lacks %q: %q", want, summary)
		}
	}
	k, _ := f.createAndClose(d, "Reporting job")
	if k.Permissions.Kind != core.KindSections || !k.ExpiresAt.Equal(kvNow.AddDate(0, 12, 0)) {
		t.Errorf("created %+v expiring %v", k.Permissions, k.ExpiresAt)
	}
}

func TestCreateGlobalKeyLimitsExpiration(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	d := f.openCreate()
	test.Type(d.name, "Local dev")
	test.Tap(d.presetButton("90 days"))
	test.Tap(d.global)
	if d.choice != globalPreset() {
		t.Fatalf("Global Development Access did not reset the expiration to 7 days (choice %d)", d.choice)
	}
	for _, p := range core.Presets {
		b := d.presetButton(p.Label)
		want := p.Lifetime.ExpiresAt(kvNow, core.KindGlobal).Sub(kvNow) <= 7*24*time.Hour
		if b.Disabled() == want || !b.Visible() {
			t.Errorf("with global access, preset %s: disabled %v visible %v", p.Label, b.Disabled(), b.Visible())
		}
	}
	k, _ := f.createAndClose(d, "Local dev")
	if !slices.Equal(k.Scopes, []string{"*:*"}) || !k.ExpiresAt.Equal(kvNow.Add(7*24*time.Hour)) {
		t.Errorf("global key: scopes %q, expires %v", k.Scopes, k.ExpiresAt)
	}

	// Unchecking brings the earlier choice back.
	d = f.openCreate()
	test.Tap(d.presetButton("90 days"))
	test.Tap(d.global)
	test.Tap(d.global)
	if d.choice != 4 || d.presetButton("12 months").Disabled() {
		t.Errorf("unchecking global: choice %d", d.choice)
	}
}

func TestCreateOperationsKeyWithSearch(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	d := f.openCreate()
	test.Type(d.name, "Channel reader")
	d.tabs.Select(d.tabItems[2])
	test.Type(d.opSearch, "channels get")
	var visible []string
	var headers []string
	for _, g := range d.groups {
		if g.header.Visible() {
			headers = append(headers, g.header.Text)
		}
		for _, o := range g.ops {
			if o.check.Visible() {
				visible = append(visible, o.op.ID)
				if !strings.Contains(o.check.Text, o.op.Method+" "+o.op.Path) || !strings.Contains(o.check.Text, o.op.Title()) {
					t.Errorf("check text %q lacks method, path or name", o.check.Text)
				}
			}
		}
	}
	if !slices.Contains(visible, "messaging.channels.get") || slices.Contains(visible, "users.list") || len(visible) == 0 {
		t.Fatalf("search \"channels get\" shows %q", visible)
	}
	if !slices.Equal(headers, []string{"Messaging"}) {
		t.Errorf("section headers shown: %q", headers)
	}
	test.Tap(d.opCheck("messaging.channels.get"))
	d.opSearch.SetText("")
	test.Type(d.opSearch, "GET /v2/users")
	test.Tap(d.opCheck("users.list"))
	if d.opCount.Text != "2 operations picked" || d.tabItems[2].Text != "Operations (2)" {
		t.Errorf("count %q, tab %q", d.opCount.Text, d.tabItems[2].Text)
	}
	d.opSearch.SetText("")
	test.Type(d.opSearch, "no-such-operation")
	if !d.opNone.Visible() {
		t.Error("no message when no operation matches")
	}
	k, _ := f.createAndClose(d, "Channel reader")
	if k.Permissions.Kind != core.KindOperations || !slices.Equal(k.Permissions.Operations, []string{"messaging.channels.get", "users.list"}) {
		t.Errorf("operations key: %+v", k.Permissions)
	}
	cat := f.svc.Catalog()
	op, _ := cat.Operation("users.list")
	if !slices.Contains(k.Scopes, op.Scope()) {
		t.Errorf("scopes %q lack %q", k.Scopes, op.Scope())
	}

	// Clear unpicks everything.
	d = f.openCreate()
	test.Tap(d.opCheck("users.list"))
	test.Tap(d.opClear)
	if len(d.picked) != 0 || d.opCheck("users.list").Checked {
		t.Error("Clear keeps picked operations")
	}
}

func TestCreateValidationMessages(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	d := f.openCreate()
	if !d.create.Disabled() || !strings.Contains(d.status.Text, "enter a name for the key") {
		t.Fatalf("fresh dialog: create disabled %v, status %q", d.create.Disabled(), d.status.Text)
	}
	if d.nameMsg.Importance == widget.DangerImportance {
		t.Error("the untouched name is shown as an error")
	}
	test.Type(d.name, " ")
	if d.nameMsg.Text != "Enter a name for the key." || d.nameMsg.Importance != widget.DangerImportance {
		t.Errorf("blank name: %q (%v)", d.nameMsg.Text, d.nameMsg.Importance)
	}
	d.name.SetText(strings.Repeat("é", core.MaxNameLength+1))
	if d.nameMsg.Text != "The name is longer than 100 characters." || !d.create.Disabled() {
		t.Errorf("long name: %q", d.nameMsg.Text)
	}
	d.name.SetText("tab\there")
	if d.nameMsg.Text != "The name contains control characters." {
		t.Errorf("control character: %q", d.nameMsg.Text)
	}
	// A duplicate name is a warning, not an error.
	d.name.SetText("CRM sync (production)")
	if d.nameMsg.Importance != widget.WarningImportance || !strings.Contains(d.nameMsg.Text, "already has this name") {
		t.Errorf("duplicate name: %q (%v)", d.nameMsg.Text, d.nameMsg.Importance)
	}
	if !strings.Contains(d.permMsg.Text, "Grant Global Development Access") || !d.create.Disabled() ||
		!strings.Contains(d.status.Text, "Grant Global Development Access") {
		t.Errorf("no permission: %q / %q", d.permMsg.Text, d.status.Text)
	}
	d.section("kite").SetSelected(accessRead)
	if d.create.Disabled() {
		t.Fatalf("valid form with a duplicate name is not creatable: %q", d.status.Text)
	}

	// One kind at a time: the type chosen above the tabs is the choice; a
	// selection of another type is named as not used, never mixed in.
	test.Tap(d.global)
	req, _, _ := d.request()
	if d.tabs.SelectedIndex() != tabGlobal || req.Permissions.Kind != core.KindGlobal || req.Permissions.Sections != nil {
		t.Errorf("ticking Global: tab %d, permissions %+v", d.tabs.SelectedIndex(), req.Permissions)
	}
	if d.create.Disabled() || d.permMsg.Importance != widget.WarningImportance || !d.permMsg.Visible() ||
		!strings.Contains(d.permMsg.Text, "Not used (not the chosen type): 1 section.") {
		t.Errorf("Global with a section on another tab: create disabled %v, %q", d.create.Disabled(), d.permMsg.Text)
	}
	d.kind.SetSelected(kindOptions[tabSections])
	if req, _, _ := d.request(); req.Permissions.Kind != core.KindSections || req.Permissions.Sections["kite"] != core.AccessRead {
		t.Errorf("back on Sections: %+v", req.Permissions)
	}
	if !strings.Contains(d.permMsg.Text, "Not used (not the chosen type): Global Development Access.") {
		t.Errorf("Sections with Global ticked: %q", d.permMsg.Text)
	}
	test.Tap(d.global) // untick: it selects nothing
	d.section("kite").SetSelected(accessNone)
	test.Tap(d.opCheck("users.list"))
	if d.tabs.SelectedIndex() != tabOperations || d.create.Disabled() {
		t.Fatalf("operations only: tab %d, %q", d.tabs.SelectedIndex(), d.status.Text)
	}
	// What is chosen shows even while Create is disabled.
	d.name.SetText("")
	if d.summary.Objects == nil || !strings.Contains(summaryText(d), "users:ListUsers") || !strings.Contains(d.status.Text, "name") {
		t.Errorf("no name: summary %q, status %q", summaryText(d), d.status.Text)
	}
	d.name.SetText("CRM sync (production)")

	// Custom dates.
	test.Tap(d.customBtn)
	if !d.customRow.Visible() || d.customDate.Date == nil || d.customTime.Text != "11:00" {
		t.Fatal("Custom… shows no pre-filled date and time")
	}
	if d.customRow.Size().Height == 0 || d.customDate.Size().Width <= 0 {
		t.Errorf("the date and time are not laid out: row %v, date %v", d.customRow.Size(), d.customDate.Size())
	}
	if want := time.Date(2027, 11, 27, 0, 0, 0, 0, time.UTC); !d.customDate.Date.Equal(want) || d.customDate.PlaceHolder != d.customDate.Text {
		t.Errorf("the picker starts at %v (placeholder %q, text %q), want %v, a real date as the example", d.customDate.Date, d.customDate.PlaceHolder, d.customDate.Text, want)
	}
	for _, c := range []struct{ date, time, want string }{
		{"2027-01-31", "5pm", sentence(errCustomTime)},
		{"2027-01-31", "25:00", sentence(errCustomTime)},
		{"", "17:00", sentence(errCustomDate)},
		{"2026-11-27", "11:30", "A key must live at least 1 hour."},
		{"2027-11-28", "11:00", "A key can live at most 12 months."},
	} {
		if c.date == "" {
			d.customDate.SetDate(nil)
		} else {
			d.setCustomText(c.date + " 00:00")
		}
		d.customTime.SetText("")
		test.Type(d.customTime, c.time)
		if !strings.Contains(d.status.Text, lowerFirst(c.want)) {
			t.Errorf("custom %q %q: the status %q does not say why Create is disabled", c.date, c.time, d.status.Text)
		}
		if d.expiryMsg.Text != c.want || d.expiryMsg.Importance != widget.DangerImportance || !d.create.Disabled() {
			t.Errorf("custom %q %q: %q (%v), create disabled %v", c.date, c.time, d.expiryMsg.Text, d.expiryMsg.Importance, d.create.Disabled())
		}
	}
	// A date typed that does not parse: the picker's last date is not used.
	d.setCustomText("2027-01-31 17:00")
	d.customDate.SetText("")
	test.Type(d.customDate, "31/13/2027")
	if d.expiryMsg.Text != sentence(errCustomDate) || !d.create.Disabled() || !strings.Contains(d.status.Text, lowerFirst(sentence(errCustomDate))) {
		t.Errorf("date typed %q: %q, status %q, create disabled %v", d.customDate.Text, d.expiryMsg.Text, d.status.Text, d.create.Disabled())
	}
	d.setCustomText("2027-01-31 17:00")
	if d.create.Disabled() || !strings.Contains(d.expiryMsg.Text, "Sun 31 Jan 2027 17:00 UTC") {
		t.Errorf("valid custom date: %q / %q", d.expiryMsg.Text, d.status.Text)
	}
	// Global access with a custom date beyond 7 days.
	test.Tap(d.opCheck("users.list"))
	test.Tap(d.global)
	test.Tap(d.customBtn)
	d.setCustomText("2026-12-10 11:00")
	if d.expiryMsg.Text != "A key with Global Development Access can live at most 7 days." || !d.create.Disabled() {
		t.Errorf("global + 13 days: %q", d.expiryMsg.Text)
	}
	k, _ := f.createAndCloseAfter(d, "2026-12-01 09:00", "CRM sync (production)")
	if !k.ExpiresAt.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("custom expiry = %v", k.ExpiresAt)
	}
}

// setCustomText sets the custom expiry to s (customLayout) as the date
// picker and the time entry would.
func (d *createDialog) setCustomText(s string) {
	t, err := time.ParseInLocation(customLayout, s, d.v.env.loc)
	if err != nil {
		panic(err)
	}
	d.setCustom(t)
}

// createAndCloseAfter sets the custom date, then creates the key.
func (f *kvFixture) createAndCloseAfter(d *createDialog, custom, name string) (*core.Key, string) {
	f.t.Helper()
	d.setCustomText(custom)
	before := map[string]bool{}
	for _, k := range f.svc.List() {
		before[k.ID] = true
	}
	f.createAndCloseNamed(d)
	for _, k := range f.svc.List() {
		if !before[k.ID] {
			if k.Name != name {
				f.t.Errorf("created %q, want %q", k.Name, name)
			}
			return k, ""
		}
	}
	f.t.Fatal("no key created")
	return nil, ""
}

func (f *kvFixture) createAndCloseNamed(d *createDialog) {
	f.t.Helper()
	if d.create.Disabled() {
		f.t.Fatalf("Create API Key is disabled: %q", d.status.Text)
	}
	test.Tap(d.create)
	if f.keys.secret == nil {
		f.t.Fatal("no secret dialog")
	}
	test.Tap(f.keys.secret.copyBtn)
	test.Tap(f.keys.secret.done)
}

func TestDuplicatePrefillsNameAndPermissions(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	src := f.key("Partner portal (read-only)")
	test.Tap(f.cell(src.Name, colActions).dup)
	d := f.keys.creating
	if d == nil {
		t.Fatal("duplicate opens no create dialog")
	}
	if d.name.Text != src.Name+" (copy)" || d.nameMsg.Importance == widget.WarningImportance || d.section("users").Selected != accessRead || d.section("kite").Selected != accessRead ||
		d.section("messaging").Selected != accessNone || d.tabs.Selected() != d.tabItems[1] {
		t.Fatalf("duplicate not pre-filled: name %q", d.name.Text)
	}
	test.Tap(d.create)
	test.Tap(f.keys.secret.copyBtn)
	test.Tap(f.keys.secret.done)
	var copies []*core.Key
	for _, k := range f.svc.List() {
		if k.Name == src.Name || k.Name == src.Name+" (copy)" {
			copies = append(copies, k)
		}
	}
	if len(copies) != 2 || !slices.Equal(copies[0].Scopes, copies[1].Scopes) || copyName(strings.Repeat("x", 200)) != strings.Repeat("x", core.MaxNameLength-7)+" (copy)" {
		t.Fatalf("duplicate: %d keys named %q", len(copies), src.Name)
	}
	// Duplicating an operations key ticks its operations.
	test.Tap(f.cell("Billing export", colActions).dup)
	d = f.keys.creating
	if len(d.picked) != 3 || !d.opCheck("users.list").Checked || d.tabs.Selected() != d.tabItems[2] {
		t.Errorf("operations duplicate: picked %v", d.picked)
	}
}

func TestCreateFailureKeepsDialogOpen(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	d := f.openCreate()
	test.Type(d.name, "Will fail")
	test.Tap(d.global)
	f.svc.Rand = failingReader{}
	test.Tap(d.create)
	if f.keys.creating != d || f.keys.secret != nil {
		t.Fatal("a failed create closed the dialog")
	}
	if d.status.Importance != widget.DangerImportance || !strings.HasPrefix(d.status.Text, "The key was not created: ") {
		t.Errorf("failure status %q", d.status.Text)
	}
	if f.key("Will fail") != nil {
		t.Error("a failed create left a key")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errEntropy }

var errEntropy = &entropyError{}

type entropyError struct{}

func (*entropyError) Error() string { return "no entropy" }

// TestCreateDialogSmallWindow: at the smallest window the create dialog
// fits inside it and each permission list shows several rows.
func TestCreateDialogSmallWindow(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, minWindowWidth, minWindowHeight)
	d := f.openCreate()
	drv := fyne.CurrentApp().Driver()
	win := f.win.Canvas().Size()
	for i, item := range d.tabItems {
		d.tabs.Select(item)
		var list *container.Scroll
		kvWalk(item.Content, func(o fyne.CanvasObject) {
			if s, ok := o.(*container.Scroll); ok && (list == nil || s.Size().Height > list.Size().Height) {
				list = s // the list, not the search entry's own scroller
			}
		})
		// The explicit type above the tabs takes one row of the height
		// the lists had: three rows of sections still show.
		if i > 0 && (list == nil || list.Size().Height < 130) {
			t.Errorf("tab %d: the list is %v tall at %v×%v, want room for several rows", i, list.Size(), win.Width, win.Height)
		}
	}
	p := drv.AbsolutePositionForObject(d.create)
	if p.Y+d.create.Size().Height > win.Height || p.X+d.create.Size().Width > win.Width {
		t.Errorf("the Create button at %v is outside the %v window", p, win)
	}
}

// summaryText is the text of the create dialog's summary.
func summaryText(d *createDialog) string {
	var b strings.Builder
	kvWalk(d.summary, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok {
			b.WriteString(l.Text + "\n")
		}
	})
	return b.String()
}

// pressEsc types Esc as the driver does: to the focused widget, or to the
// canvas when nothing has the focus.
func (f *kvFixture) pressEsc() {
	ev := &fyne.KeyEvent{Name: fyne.KeyEscape}
	if o := f.win.Canvas().Focused(); o != nil {
		o.TypedKey(ev)
		return
	}
	f.win.Canvas().OnTypedKey()(ev)
}

func TestEscClosesDialogsAskingWhenWorkWouldBeLost(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)

	// Untouched: Esc closes at once, the cursor being in the name.
	f.openCreate()
	f.pressEsc()
	if f.keys.creating != nil || f.win.Canvas().Overlays().Top() != nil {
		t.Fatal("Esc did not close an untouched create dialog")
	}

	// Something entered: Esc asks; Esc again keeps editing; Discard closes.
	d := f.openCreate()
	test.Type(d.name, "Half done")
	f.pressEsc()
	if f.keys.creating == nil || d.confirm == nil || f.win.Canvas().Overlays().Top() == nil {
		t.Fatal("Esc closed a create dialog with a name typed, without asking")
	}
	f.win.Canvas().Unfocus()
	f.pressEsc() // answers the question: keep editing
	if f.keys.creating != d || d.name.Text != "Half done" {
		t.Fatal("Esc on the question lost the work")
	}
	f.win.Canvas().Focus(d.name)
	f.pressEsc()
	test.Tap(f.overlayButton("Discard"))
	if f.keys.creating != nil {
		t.Fatal("Discard did not close the create dialog")
	}

	// The duplicate dialog, unchanged: closes at once.
	test.Tap(f.cell("Billing export", colActions).dup)
	if f.keys.creating == nil {
		t.Fatal("no duplicate dialog")
	}
	f.pressEsc()
	if f.keys.creating != nil {
		t.Fatal("Esc did not close an unchanged duplicate dialog")
	}

	// Rename and delete.
	e := f.keys.editKey(f.keys.model.find(f.key("Billing export").ID))
	f.pressEsc()
	if _ = e; f.win.Canvas().Overlays().Top() != nil {
		t.Error("Esc did not close the rename dialog")
	}
	test.Tap(f.cell("Billing export", colActions).del)
	f.pressEsc()
	if f.win.Canvas().Overlays().Top() != nil || f.key("Billing export") == nil {
		t.Error("Esc did not dismiss the delete question (or deleted the key)")
	}
}

// TestCreateDialogFocusOrder: Tab walks the name, the expiry presets, then
// the permission tab's controls, then Cancel and Create.
func TestCreateDialogFocusOrder(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	d := f.openCreate()
	c := f.win.Canvas()
	if c.Focused() != d.name {
		t.Fatalf("focus on open = %T, want the name", c.Focused())
	}
	test.Type(d.name, "Focus walk")
	test.Tap(d.global) // Create is enabled, so it takes the focus too
	c.Focus(d.name)
	var order []fyne.Focusable
	for range 12 {
		c.FocusNext()
		order = append(order, c.Focused())
	}
	idx := func(o fyne.Focusable) int { return slices.Index(order, o) }
	var want []fyne.Focusable
	for _, b := range d.presets {
		if !b.Disabled() { // presets longer than Global's 7 days are off
			want = append(want, b)
		}
	}
	want = append(want, d.customBtn)
	if !slices.Equal(order[:len(want)], want) {
		t.Errorf("after the name: %v, want the enabled expiry presets, Custom…", order[:len(want)])
	}
	// Then the three permission types, so that the keyboard reaches every
	// type (the tabs themselves take no focus), then Global's checkbox.
	for i, o := range order[len(want) : len(want)+3] {
		if _, ok := o.(fyne.Widget); !ok || !isUnder(o.(fyne.CanvasObject), d.kind) {
			t.Errorf("focus %d after Custom…: %T, want the type choice", i+1, o)
		}
	}
	if order[len(want)+3] != d.global {
		t.Errorf("after the types: %T, want Global's checkbox", order[len(want)+3])
	}
	if ca, cr := idx(d.cancel), idx(d.create); ca < 0 || cr != ca+1 || ca < idx(d.global) {
		t.Errorf("Cancel at %d, Create at %d (after the permissions at %d)", ca, cr, idx(d.global))
	}
}

// TestCreatedKeyIsSelectedAndInView: many keys, a search typed; the new
// key's row is selected and scrolled into view.
func TestCreatedKeyIsSelectedAndInView(t *testing.T) {
	var seeds []kvSeed
	for i := range 40 {
		seeds = append(seeds, kvSeed{name: fmt.Sprintf("Batch key %02d", i), age: day, life: core.Lifetime{Months: 6}, perms: kvOps("users.get")})
	}
	f := newKVFixture(t, theme.VariantLight, seeds, 1180, 720)
	if f.keys.model.sortCol != colName {
		f.keys.sortBy(colName) // A to Z: the new key is the last row
	}
	test.Type(f.keys.search, "Batch key 0")
	d := f.openCreate()
	test.Type(d.name, "Zulu last by name")
	test.Tap(d.global)
	k, _ := f.createAndClose(d, "Zulu last by name")
	if f.keys.selected != k.ID {
		t.Fatalf("selected %q, want the new key %q", f.keys.selected, k.ID)
	}
	c := f.cell("Zulu last by name", colName)
	d2 := fyne.CurrentApp().Driver()
	p, tp := d2.AbsolutePositionForObject(c), d2.AbsolutePositionForObject(f.keys.table)
	if p.Y < tp.Y || p.Y+c.Size().Height > tp.Y+f.keys.table.Size().Height {
		t.Errorf("the new key's row at y %v is outside the table (%v..%v)", p.Y, tp.Y, tp.Y+f.keys.table.Size().Height)
	}
}

// The permission type is an explicit choice above the tabs: tick Global,
// look at the Sections tab, press Create, and the key is Global (issue 22:
// Global was silently dropped because the Sections tab was in view);
// choosing a type selects its tab and says what is not used.
func TestCreateKindIsChosenNotTheTabInView(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	d := f.openCreate()
	if d.kind.Selected != "" {
		t.Fatalf("a type is chosen before the user chose one: %q", d.kind.Selected)
	}
	test.Type(d.name, "Explicit kind")
	test.Tap(d.global)
	if d.kind.Selected != kindOptions[tabGlobal] {
		t.Fatalf("ticking Global chose %q", d.kind.Selected)
	}
	d.tabs.SelectIndex(tabSections) // only looking
	if req, _, _ := d.request(); req.Permissions.Kind != core.KindGlobal {
		t.Fatalf("looking at the Sections tab changed the key to %+v", req.Permissions)
	}
	d.kind.SetSelected(kindOptions[tabOperations])
	if d.tabs.SelectedIndex() != tabOperations {
		t.Errorf("choosing Operations shows tab %d", d.tabs.SelectedIndex())
	}
	if !strings.Contains(d.permMsg.Text, "Not used (not the chosen type): Global Development Access.") {
		t.Errorf("switching type with Global ticked says %q", d.permMsg.Text)
	}
	d.kind.SetSelected(kindOptions[tabGlobal])
	d.tabs.SelectIndex(tabSections)
	test.Tap(d.create)
	s := f.keys.secret
	if s == nil {
		t.Fatal("no key was created")
	}
	if k := f.key("Explicit kind"); k == nil || k.Permissions.Kind != core.KindGlobal {
		t.Fatalf("created %+v, want a Global key", k)
	}
}

// isUnder reports whether o is root or drawn inside it.
func isUnder(o, root fyne.CanvasObject) bool {
	found := false
	kvWalk(root, func(x fyne.CanvasObject) { found = found || x == o })
	return found
}
