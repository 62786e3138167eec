package gui

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
)

// kvWalk visits every visible object under o.
func kvWalk(o fyne.CanvasObject, visit func(fyne.CanvasObject)) {
	if o == nil || !o.Visible() {
		return
	}
	visit(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			kvWalk(c, visit)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			kvWalk(c, visit)
		}
	}
}

// kvCells returns the table cells currently laid out.
func (f *kvFixture) cells() []*keyCell {
	var out []*keyCell
	kvWalk(f.keys.table, func(o fyne.CanvasObject) {
		if c, ok := o.(*keyCell); ok && c.row != nil {
			out = append(out, c)
		}
	})
	return out
}

// cell returns the laid-out cell of the key named name in column col.
func (f *kvFixture) cell(name string, col column) *keyCell {
	f.t.Helper()
	for _, c := range f.cells() {
		if c.row.key.Name == name && c.col == col {
			return c
		}
	}
	f.t.Fatalf("no cell for %q in column %d", name, col)
	return nil
}

// shownNames returns the names of the rows that match the search, in order.
func (f *kvFixture) shownNames() []string {
	var out []string
	for _, r := range f.keys.model.shown {
		out = append(out, r.key.Name)
	}
	return out
}

// overlayButton finds a button by its text in the top overlay (dialog).
// asButton is o's button: a widget.Button, or the one an Esc-aware
// button embeds; nil when o is not a button.
func asButton(o fyne.CanvasObject) *widget.Button {
	switch b := o.(type) {
	case *widget.Button:
		return b
	case *widgets.EscButton:
		return &b.Button
	case *widgets.TipButton:
		return &b.Button
	}
	return nil
}

func (f *kvFixture) overlayButton(text string) *widget.Button {
	f.t.Helper()
	top := f.win.Canvas().Overlays().Top()
	if top == nil {
		f.t.Fatalf("no dialog is open (looking for %q)", text)
	}
	var found *widget.Button
	kvWalk(top, func(o fyne.CanvasObject) {
		if b := asButton(o); b != nil && b.Text == text {
			found = b
		}
	})
	if found == nil {
		f.t.Fatalf("no button %q in the open dialog", text)
	}
	return found
}

// overlayText reports whether the top overlay shows a label containing s.
func (f *kvFixture) overlayText(s string) bool {
	top := f.win.Canvas().Overlays().Top()
	found := false
	kvWalk(top, func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			found = found || strings.Contains(x.Text, s)
		case *widget.RichText:
			found = found || strings.Contains(x.String(), s)
		}
	})
	return found
}

// shortcut types Ctrl+k on the window canvas. The test canvas hides the
// shortcut handler of the software canvas it wraps, so reach it by its
// embedded field.
func (f *kvFixture) shortcut(k fyne.KeyName) {
	f.t.Helper()
	sc := &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}
	c := any(f.win.Canvas())
	if _, ok := c.(fyne.Shortcutable); !ok {
		c = reflect.ValueOf(c).Elem().FieldByName("WindowlessCanvas").Interface()
	}
	sh, ok := c.(fyne.Shortcutable)
	if !ok {
		f.t.Fatal("the test canvas takes no shortcuts")
	}
	sh.TypedShortcut(sc)
}

func (f *kvFixture) key(name string) *core.Key {
	for _, k := range f.svc.List() {
		if k.Name == name {
			return k
		}
	}
	return nil
}

func TestKeysTableShowsKeysNewestFirstWithCounts(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	want := []string{"Partner portal (read-only)", "Status page checker", "Edited in the data file (edited)",
		"Debug session (ticket 4821)", "Hackathon sandbox", "Billing export", "Voice bot staging", "CRM sync (production)", "Old webhook relay"}
	if got := f.shownNames(); !slices.Equal(got, want) {
		t.Fatalf("rows = %q, want %q", got, want)
	}
	if got, want := f.keys.counts.Text, "9 keys · 2 expired · 2 expiring within 7 days"; got != want {
		t.Errorf("counts = %q, want %q", got, want)
	}
	if f.keys.empty.Visible() || !f.keys.table.Visible() {
		t.Error("the empty state is shown although there are keys")
	}

	crm := f.cell("CRM sync (production)", colScopes)
	if crm.text.Text != "2" {
		t.Errorf("CRM scope count = %q, want 2", crm.text.Text)
	}
	if c := f.cell("CRM sync (production)", colExpires); c.text.Text != "18 Oct 2027 · in 10 months" {
		t.Errorf("CRM expires = %q", c.text.Text)
	}
	if c := f.cell("CRM sync (production)", colLastUsed); c.text.Text != "2 hours ago" {
		t.Errorf("CRM last used = %q", c.text.Text)
	}
	if c := f.cell("Partner portal (read-only)", colLastUsed); c.text.Text != "never" {
		t.Errorf("never-used key shows %q", c.text.Text)
	}
	key := f.cell("CRM sync (production)", colKey)
	if !key.text.TextStyle.Monospace || !strings.HasPrefix(key.text.Text, "kdk_") || len([]rune(key.text.Text)) != 8 {
		t.Errorf("key column = %q (monospace %v), want kdk_ + 3 characters + …", key.text.Text, key.text.TextStyle.Monospace)
	}

	// The expired row: badge on the name, every cell in the danger colour.
	for col := colName; col < colActions; col++ {
		if col == colRequests {
			continue // shown only with a usage store (usage_keys_test.go)
		}
		c := f.cell("Hackathon sandbox", col)
		if c.text.Importance != widget.DangerImportance {
			t.Errorf("expired key, column %d: importance %v, want danger", col, c.text.Importance)
		}
	}
	if name := f.cell("Hackathon sandbox", colName); !name.expired.Visible() || !name.badges.Visible() {
		t.Error("the Expired badge is not shown on the expired key")
	}
	if name := f.cell("CRM sync (production)", colName); name.badges.Visible() || name.text.Importance != widget.MediumImportance {
		t.Error("an active key is marked expired")
	}
	if c := f.cell("Debug session (ticket 4821)", colExpires); c.text.Importance != widget.WarningImportance || c.text.Text != "27 Nov 2026 · in 4 hours" {
		t.Errorf("expiring-soon key: %q importance %v", c.text.Text, c.text.Importance)
	}
	tampered := f.cell("Edited in the data file (edited)", colName)
	if !tampered.flag.Visible() || tampered.expired.Visible() {
		t.Error("the Tampered flag is not shown on the edited record")
	}
	if a := f.cell("Edited in the data file (edited)", colActions); !a.edit.Disabled() || a.del.Disabled() {
		t.Error("a tampered key must be deletable but not renamable")
	}
}

func TestKeysRecycledCellsKeepDangerAfterScrolling(t *testing.T) {
	var seeds []kvSeed
	for i := range 300 {
		life := core.Lifetime{Months: 12}
		if i%3 == 0 {
			life = core.Lifetime{Duration: 2 * time.Hour} // created i hours ago: expired for i >= 2
		}
		seeds = append(seeds, kvSeed{name: fmt.Sprintf("Key %03d", i), age: time.Duration(i+1) * time.Hour, life: life,
			perms: kvOps("users.list")})
	}
	f := newKVFixture(t, theme.VariantLight, seeds, 1180, 520)
	check := func(when string) {
		t.Helper()
		cells := f.cells()
		if len(cells) < 20 {
			t.Fatalf("%s: only %d cells laid out", when, len(cells))
		}
		for _, c := range cells {
			expired := c.row.key.Expired(kvNow)
			if c.col == colActions {
				continue
			}
			wantDanger := expired
			if got := c.text.Importance == widget.DangerImportance; got != wantDanger {
				t.Fatalf("%s: %s column %d: danger %v, want %v", when, c.row.key.Name, c.col, got, wantDanger)
			}
			if c.col == colName && c.expired.Visible() != expired {
				t.Fatalf("%s: %s: Expired badge %v, want %v", when, c.row.key.Name, c.expired.Visible(), expired)
			}
		}
	}
	check("top")
	for _, off := range []float32{900, 4000, 2500, 12000} {
		f.keys.table.ScrollToOffset(fyne.NewPos(0, off))
		check(fmt.Sprintf("scrolled to %v", off))
	}
	f.keys.table.ScrollToBottom()
	check("bottom")
	// Sorting recycles every cell again.
	test.Tap(f.headerButton(colExpires))
	check("sorted by expiry")
}

// headerButton returns the header button of a column.
func (f *kvFixture) headerButton(c column) *headerCell {
	f.t.Helper()
	var found *headerCell
	kvWalk(f.keys.table, func(o fyne.CanvasObject) {
		if h, ok := o.(*headerCell); ok && h.shown.col == c {
			found = h
		}
	})
	if found == nil {
		f.t.Fatalf("no header for column %d", c)
	}
	return found
}

func TestKeysSearchFiltersByNameHintAndScope(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	hint := f.key("Billing export").Hint
	cases := []struct {
		query string
		want  []string
	}{
		{"hackathon", []string{"Hackathon sandbox"}},
		{"  CRM   PRODUCTION ", []string{"CRM sync (production)"}},
		{strings.ToUpper(hint), []string{"Billing export"}},
		{"kite:", []string{"Partner portal (read-only)", "Old webhook relay"}},
		{"*:*", []string{"Debug session (ticket 4821)", "Hackathon sandbox"}},
		{"users:read portal", []string{"Partner portal (read-only)"}},
		{"", nil},
	}
	for _, c := range cases {
		f.keys.search.SetText("")
		test.Type(f.keys.search, c.query)
		got := f.shownNames()
		if c.query == "" {
			if len(got) != len(kvDemo) {
				t.Errorf("empty search shows %d rows, want all %d", len(got), len(kvDemo))
			}
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("search %q = %q, want %q", c.query, got, c.want)
		}
		if want := fmt.Sprintf("%d shown of 9 keys", len(c.want)); !strings.HasPrefix(f.keys.counts.Text, want) {
			t.Errorf("search %q: counts %q, want prefix %q", c.query, f.keys.counts.Text, want)
		}
	}
	test.Type(f.keys.search, "zzz-nothing")
	if !f.keys.noMatch.Visible() || !strings.Contains(f.keys.noMatch.Text, "zzz-nothing") {
		t.Errorf("no-match message: visible %v, %q", f.keys.noMatch.Visible(), f.keys.noMatch.Text)
	}
}

func TestKeysSortByColumnHeaders(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	test.Tap(f.headerButton(colName))
	names := f.shownNames()
	if !slices.IsSortedFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) {
		t.Fatalf("sorted by name ascending: %q", names)
	}
	if !f.headerButton(colName).Arrow().Visible() || f.headerButton(colName).Arrow().Resource != theme.MenuDropUpIcon() {
		t.Error("no ascending arrow on the sorted column")
	}
	test.Tap(f.headerButton(colName))
	if got := f.shownNames(); got[0] != "Voice bot staging" || f.headerButton(colName).Arrow().Resource != theme.MenuDropDownIcon() {
		t.Fatalf("sorted by name descending: %q", got)
	}
	if f.headerButton(colCreated).Arrow().Visible() {
		t.Error("an unsorted column shows an arrow")
	}

	test.Tap(f.headerButton(colExpires))
	var prev time.Time
	for _, r := range f.keys.model.shown {
		if r.key.ExpiresAt.Before(prev) {
			t.Fatalf("not sorted by expiry: %q", f.shownNames())
		}
		prev = r.key.ExpiresAt
	}
	test.Tap(f.headerButton(colScopes))
	if got := f.shownNames()[0]; got != "Partner portal (read-only)" && got != "Billing export" {
		t.Errorf("most scopes first: got %q", got)
	}
	// The sort survives a restart (preferences).
	if c, desc := f.env.prefs.sort(); c != colScopes || !desc {
		t.Errorf("saved sort = %d desc %v, want scopes descending", c, desc)
	}
	// Filtering keeps the sort.
	test.Type(f.keys.search, "a")
	shown := f.keys.model.shown
	for i := 1; i < len(shown); i++ {
		if len(shown[i].key.Scopes) > len(shown[i-1].key.Scopes) {
			t.Fatalf("filtered rows lost the sort: %q", f.shownNames())
		}
	}
}

func TestKeysScopesHoverShowsDetails(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	c := f.cell("CRM sync (production)", colScopes)
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(c.text).Add(fyne.NewPos(5, 5))
	test.MoveMouse(f.win.Canvas(), pos)
	tip := f.keys.tips.Tip()
	if tip == nil {
		t.Fatal("hovering the scope count shows no tooltip")
	}
	var texts []string
	kvWalk(tip, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok {
			texts = append(texts, l.Text)
		}
	})
	for _, want := range []string{"2 scopes", "messaging:*", "Messaging · Full access", "users:read", "Users · Read-only"} {
		if !slices.Contains(texts, want) {
			t.Errorf("tooltip lacks %q: %q", want, texts)
		}
	}
	test.MoveMouse(f.win.Canvas(), fyne.NewPos(5, 5))
	if f.keys.tips.Tip() != nil {
		t.Error("the tooltip stays after the mouse left")
	}
	// Dates show UTC on hover.
	e := f.cell("CRM sync (production)", colExpires)
	test.MoveMouse(f.win.Canvas(), fyne.CurrentApp().Driver().AbsolutePositionForObject(e.text).Add(fyne.NewPos(5, 5)))
	if tip := f.keys.tips.Tip(); tip == nil || !strings.Contains(tip.(*widget.Label).Text, "2027-10-18 11:00:00 UTC") {
		t.Errorf("expiry tooltip = %v", tip)
	}
}

func TestKeysEmptyStateOffersCreate(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, nil, 1180, 720)
	if !f.keys.empty.Visible() || f.keys.table.Visible() {
		t.Fatal("no empty state without keys")
	}
	var btn *widget.Button
	var explains bool
	kvWalk(f.keys.empty, func(o fyne.CanvasObject) {
		if b := asButton(o); b != nil {
			btn = b
		}
		switch x := o.(type) {
		case *widget.Label:
			explains = explains || strings.Contains(x.Text, "without a user login")
		}
	})
	if btn == nil || btn.Text != "Create API Key" || !explains {
		t.Fatalf("empty state: button %v, explanation %v", btn, explains)
	}
	test.Tap(btn)
	if f.keys.creating == nil {
		t.Fatal("Create API Key in the empty state opens no dialog")
	}
}

func TestKeysShortcuts(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	f.shortcut(fyne.KeyF)
	if f.win.Canvas().Focused() != f.keys.search {
		t.Error("Ctrl+F does not focus the search box")
	}
	f.shortcut(fyne.KeyN)
	d := f.keys.creating
	if d == nil {
		t.Fatal("Ctrl+N opens no create dialog")
	}
	f.shortcut(fyne.KeyN)
	if f.keys.creating != d || len(f.win.Canvas().Overlays().List()) != 1 {
		t.Error("a second Ctrl+N opened a second dialog")
	}
	test.Tap(d.cancel)
	if f.keys.creating != nil || f.win.Canvas().Overlays().Top() != nil {
		t.Error("Cancel does not close the create dialog")
	}
	// Delete on the selected row asks to delete that key.
	f.keys.table.Select(widget.TableCellID{Row: 1, Col: int(colName)})
	f.keys.table.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDelete})
	if !f.overlayText("Delete “Status page checker”") {
		t.Fatal("Delete on the selected row does not ask to delete it")
	}
	test.Tap(f.overlayButton("Cancel"))
	if f.key("Status page checker") == nil {
		t.Fatal("cancelled delete removed the key")
	}
}

func TestKeysRenameDeleteFromRowActions(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)

	// Rename.
	d := f.keys.editKey(f.cell("Billing export", colActions).row)
	d.name.SetText("")
	test.Type(d.name, "   ")
	if !d.save.Disabled() || d.msg.Text != "Enter a name for the key." || d.msg.Importance != widget.DangerImportance {
		t.Errorf("empty rename: save disabled %v, message %q", d.save.Disabled(), d.msg.Text)
	}
	d.name.SetText("")
	test.Type(d.name, "Billing export v2")
	test.Tap(d.save)
	if f.key("Billing export v2") == nil || f.key("Billing export") != nil {
		t.Fatal("rename did not reach the service")
	}
	if f.win.Canvas().Overlays().Top() != nil {
		t.Error("the edit dialog stays open after saving")
	}
	if !slices.Contains(f.shownNames(), "Billing export v2") {
		t.Error("the table does not show the new name")
	}

	// The pencil button opens the same dialog.
	test.Tap(f.cell("Status page checker", colActions).edit)
	if !f.overlayText("Only the name can be changed") {
		t.Fatal("the pencil opens no edit dialog")
	}
	test.Tap(f.overlayButton("Cancel"))

	// Delete, cancelled then confirmed.
	test.Tap(f.cell("Old webhook relay", colActions).del)
	if !f.overlayText("Delete “Old webhook relay”") || !f.overlayText("cannot be undone") {
		t.Fatal("the delete confirmation does not name the key")
	}
	test.Tap(f.overlayButton("Cancel"))
	if f.key("Old webhook relay") == nil {
		t.Fatal("cancelled delete removed the key")
	}
	test.Tap(f.cell("Old webhook relay", colActions).del)
	del := f.overlayButton("Delete")
	if del.Importance != widget.DangerImportance {
		t.Error("the Delete button is not styled as dangerous")
	}
	test.Tap(del)
	if f.key("Old webhook relay") != nil {
		t.Fatal("confirmed delete kept the key")
	}
	if slices.Contains(f.shownNames(), "Old webhook relay") || f.keys.counts.Text != "8 keys · 1 expired · 2 expiring within 7 days" {
		t.Errorf("after delete: rows %q, counts %q", f.shownNames(), f.keys.counts.Text)
	}
}

// kvFilterNames is the brute-force search: the names of keys whose name,
// hint or a scope contains every word, case-insensitively, in rows' order.
func kvFilterNames(rows []*keyRow, q string) []string {
	words := strings.Fields(strings.ToLower(q))
	var out []string
next:
	for _, r := range rows {
		fields := append([]string{r.key.Name, r.key.Hint}, r.key.Scopes...)
		for _, w := range words {
			if !slices.ContainsFunc(fields, func(f string) bool { return strings.Contains(strings.ToLower(f), w) }) {
				continue next
			}
		}
		out = append(out, r.key.Name)
	}
	return out
}

func TestKeyModelSearchBeforeAndAfterSearchStrings(t *testing.T) {
	keys := kvManyKeys(30_000)
	keys[7].Name = "ÉCOLE Billing" // not ASCII: lower-cased by strings.ToLower
	typing := []string{"b", "bi", "bil", "billing", "billing p", "billing po", "billing", "po billing", "kdk_1a",
		"USERS:READ", "users:read 12", "école", "zzz", "", "crm 1"}
	for _, mode := range []string{"ready before typing", "background not started", "background running"} {
		t.Run(mode, func(t *testing.T) {
			var m keyModel
			m.sortCol, m.sortDesc = colCreated, true
			m.setRows(newKeyRows(keys))
			job := newSearchJob(m.rows)
			m.search = job
			var bg sync.WaitGroup
			switch mode {
			case "ready before typing":
				job.run()
				job.apply()
			case "background running":
				bg.Go(job.run)
			}
			for _, q := range typing {
				m.setQuery(q)
				var got []string
				for _, r := range m.shown {
					got = append(got, r.key.Name)
				}
				if want := kvFilterNames(m.rows, q); !slices.Equal(got, want) {
					t.Fatalf("query %q: %d rows, want %d (%.3q…)", q, len(got), len(want), want[:min(3, len(want))])
				}
			}
			bg.Wait()
			if m.search != nil || !job.applied {
				t.Error("typing did not finish the search strings")
			}
			job.apply() // the background's own apply comes later: harmless
			for _, r := range m.rows {
				if r.search != searchString(r.key) {
					t.Fatalf("row %q: search %q", r.key.Name, r.search)
				}
			}
		})
	}
}

func TestKeyModelSortsOnlyWhenNeeded(t *testing.T) {
	keys := kvManyKeys(500) // newest first, as core.Service.List returns them
	for _, c := range []struct {
		col  column
		desc bool
	}{{colCreated, true}, {colCreated, false}, {colName, false}, {colName, true}, {colScopes, true}, {colExpires, false}, {colKey, false}} {
		m := keyModel{rows: newKeyRows(keys), sortCol: c.col, sortDesc: c.desc}
		m.sort()
		got := m.keys()
		want := slices.Clone(keys)
		slices.SortStableFunc(want, func(a, b *core.Key) int {
			var x int
			switch c.col {
			case colName:
				x = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
			case colScopes:
				x = len(a.Scopes) - len(b.Scopes)
			case colKey:
				x = strings.Compare(a.Hint, b.Hint)
			case colExpires:
				x = a.ExpiresAt.Compare(b.ExpiresAt)
			default:
				x = a.CreatedAt.Compare(b.CreatedAt)
			}
			if c.desc {
				x = -x
			}
			return x // ties keep List's order: newest first, then id
		})
		if !slices.Equal(got, want) {
			t.Errorf("sort by %d desc %v: order differs from the reference", c.col, c.desc)
		}
		if c.col == colCreated && c.desc && !slices.Equal(got, keys) {
			t.Error("the default sort changed List's order")
		}
	}
}

func TestKeysCellsFollowTheSearch(t *testing.T) {
	long := "A very long key name that cannot fit in the name column of the table at all"
	seeds := append(slices.Clone(kvDemo), kvSeed{long, 3 * day, core.Lifetime{Duration: day}, kvOps("users.list"), 0, false})
	f := newKVFixture(t, theme.VariantLight, seeds, 1180, 720)
	check := func(when string) {
		t.Helper()
		cells := f.cells()
		if len(cells) == 0 {
			t.Fatalf("%s: no cells", when)
		}
		for _, c := range cells {
			if c.col != colName {
				continue
			}
			k := c.row.key
			if c.text.Text != k.Name {
				t.Errorf("%s: name cell shows %q for %q", when, c.text.Text, k.Name)
			}
			expired := k.Expired(kvNow)
			if c.expired.Visible() != expired || c.badges.Visible() != (expired || k.Tampered) {
				t.Errorf("%s: %q: Expired badge %v, want %v", when, k.Name, c.expired.Visible(), expired)
			}
			if (c.text.Importance == widget.DangerImportance) != expired {
				t.Errorf("%s: %q: importance %v", when, k.Name, c.text.Importance)
			}
			// A name that does not fit ends in an ellipsis.
			wantTrunc := fyne.TextTruncateOff
			if k.Name == long {
				wantTrunc = fyne.TextTruncateEllipsis
			}
			if c.text.Truncation != wantTrunc {
				t.Errorf("%s: %q: truncation %v, want %v", when, k.Name, c.text.Truncation, wantTrunc)
			}
		}
	}
	check("all keys")
	for _, q := range []string{"a", "a ver", "hackathon", "e", "edited", "", "o"} {
		f.keys.search.SetText(q)
		if want := kvFilterNames(f.keys.model.rows, q); !slices.Equal(f.shownNames(), want) {
			t.Fatalf("search %q shows %q, want %q", q, f.shownNames(), want)
		}
		check(fmt.Sprintf("search %q", q))
	}
	// Narrowing the name column makes short names end in an ellipsis too.
	f.keys.table.SetColumnWidth(int(colName), 90)
	if c := f.cell("Billing export", colName); c.text.Truncation != fyne.TextTruncateEllipsis {
		t.Errorf("a 90-wide name column does not truncate %q", c.text.Text)
	}
}

// A cell that last showed the actions had its label hidden when the table
// resized it for another column; the layout skips hidden objects, so the
// label kept an earlier column's width. Shown again, it must be laid out at
// the cell's width before it is measured (it was measured narrow and cut
// with an ellipsis about one run in 25, as the table recycles cells in map
// order).
func TestKeysCellRecycledFromActionsMeasuresAtItsNewWidth(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	r := f.keys.model.find(f.key("Voice bot staging").ID)
	c := newKeyCell(f.keys)
	c.Resize(fyne.NewSize(columnWidths[colScopes], 36))
	c.update(f.keys, r, colName) // too narrow here: no badges, an ellipsis
	c.update(f.keys, r, colActions)
	c.Resize(fyne.NewSize(columnWidths[colName], 36))
	c.update(f.keys, r, colName)
	if got, want := c.text.Size().Width, c.nameBox.Size().Width; got != want {
		t.Errorf("name label is %v wide in a %v-wide cell", got, want)
	}
	if c.text.Truncation != fyne.TextTruncateOff {
		t.Errorf("%q: truncation %v, want off: it fits its column", c.text.Text, c.text.Truncation)
	}
}

// TestKeysSmallWindowKeepsActions: at the smallest window size the table's
// columns fit its width: the row actions are inside the visible width (not
// scrolled off to the right), Created folds first, and an edit button there
// opens the rename dialog.
func TestKeysSmallWindowKeepsActions(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, minWindowWidth, minWindowHeight)
	d := fyne.CurrentApp().Driver()
	tablePos := d.AbsolutePositionForObject(f.keys.table)
	right := tablePos.X + f.keys.table.Size().Width
	last := f.keys.model.shown[len(f.keys.model.shown)-1].key.Name
	a := f.cell(last, colActions)
	for _, b := range []*widgets.TipButton{a.edit, a.dup, a.del} {
		if !b.Visible() {
			t.Fatal("an action button is hidden")
		}
		p := d.AbsolutePositionForObject(b)
		if p.X < tablePos.X || p.X+b.Size().Width > right {
			t.Fatalf("action button at x %v..%v, outside the table's visible width %v..%v", p.X, p.X+b.Size().Width, tablePos.X, right)
		}
	}
	if slices.Contains(f.keys.cols, colCreated) {
		t.Errorf("at %d wide the Created column is still shown: %v", minWindowWidth, f.keys.cols)
	}
	if f.keys.cols[0] != colName || f.keys.cols[len(f.keys.cols)-1] != colActions {
		t.Errorf("columns %v: Name first and the actions last", f.keys.cols)
	}
	if !slices.Contains(f.keys.cols, colExpires) {
		t.Errorf("the Expires column folded at %d wide: %v", minWindowWidth, f.keys.cols)
	}
	// A sorted header keeps its whole title.
	for i, c := range f.keys.cols {
		if c == colActions {
			continue
		}
		f.keys.sortBy(c)
		if h := f.headerButton(c); h.Label().Truncation != fyne.TextTruncateOff {
			t.Errorf("header %q (column %d) is cut when sorted", columnTitles[c], i)
		}
	}
	test.Tap(f.cell(last, colActions).edit)
	if top := f.win.Canvas().Overlays().Top(); top == nil {
		t.Fatal("the edit button at 800×500 opened no dialog")
	}
	f.win.Canvas().Overlays().Top().Hide()
}

// TestKeysRowActionsNameThemselves: each row action shows what it does on
// hover; Duplicate does not use the clipboard's copy icon.
func TestKeysRowActionsNameThemselves(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	a := f.cell("Billing export", colActions)
	for _, c := range []struct {
		b    *widgets.TipButton
		want string
	}{{a.edit, "Edit the name"}, {a.dup, "Duplicate"}, {a.del, "Delete"}} {
		p := fyne.CurrentApp().Driver().AbsolutePositionForObject(c.b)
		test.MoveMouse(f.win.Canvas(), p.Add(fyne.NewPos(5, 5)))
		l, ok := f.keys.tips.Tip().(*widget.Label)
		if !ok || !strings.HasPrefix(l.Text, c.want) {
			t.Errorf("hovering the button: tip %v, want %q…", f.keys.tips.Tip(), c.want)
		}
	}
	if a.dup.Icon == theme.ContentCopyIcon() {
		t.Error("Duplicate uses the clipboard's copy icon")
	}

	// The window gets as small as that and no smaller: its content's minimum plus
	// what the window puts around it (padding; a menu bar on a desktop).
	chrome := f.win.Canvas().Size().Subtract(f.win.Content().Size())
	if m := f.win.Content().MinSize().Add(chrome); m.Width != minWindowWidth || m.Height != minWindowHeight {
		t.Errorf("window minimum %v, want %dx%d", m, minWindowWidth, minWindowHeight)
	}
}

// TestFitColumns: Name takes what is left; columns shrink, then fold in order.
func TestFitColumns(t *testing.T) {
	minOf := func(c column) float32 { return columnMinWidths[c] }
	cols, widths := fitColumns(2000, 4, minOf)
	if len(cols) != int(numColumns) || widths[0] <= columnWidths[colName] {
		t.Fatalf("wide: %v %v", cols, widths)
	}
	var sum float32
	for _, w := range widths {
		sum += w
	}
	if got := sum + 4*float32(len(cols)-1); got < 1999 || got > 2000 {
		t.Errorf("wide: columns take %v of 2000", got)
	}
	cols, _ = fitColumns(700, 4, minOf)
	for _, c := range []column{colCreated, colKey} {
		if slices.Contains(cols, c) {
			t.Errorf("700 wide: column %d still shown: %v", c, cols)
		}
	}
	cols, _ = fitColumns(520, 4, minOf)
	if !slices.Contains(cols, colExpires) {
		t.Errorf("520 wide: Expires folded before it had to: %v", cols)
	}
	cols, widths = fitColumns(300, 4, minOf)
	if cols[0] != colName || cols[len(cols)-1] != colActions || widths[len(widths)-1] != columnWidths[colActions] {
		t.Errorf("narrow: %v %v", cols, widths)
	}
	if len(cols) != 2 || widths[0]+widths[1]+4 > 340 {
		t.Errorf("narrow: %v %v, want Name and the actions only, within 340", cols, widths)
	}
}
