package gui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
)

// clickRow selects the cell of key name in column col, as a click does.
func (f *kvFixture) clickRow(name string, col column) {
	f.t.Helper()
	for i, r := range f.keys.model.shown {
		if r.key.Name == name {
			for j, c := range f.keys.cols {
				if c == col {
					f.keys.table.Select(widget.TableCellID{Row: i, Col: j})
					return
				}
			}
		}
	}
	f.t.Fatalf("no row %q with column %d", name, col)
}

// panelTexts returns every text the details panel shows, "" when it is
// closed.
func (f *kvFixture) panelTexts() []string {
	var out []string
	if !f.keys.panelSlot.Visible() {
		return nil
	}
	kvWalk(f.keys.panelSlot, func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *widget.Hyperlink:
			out = append(out, x.Text)
		case *widget.RichText:
			out = append(out, x.String())
		}
	})
	return out
}

// panelButton returns the button labelled text in the details panel.
func (f *kvFixture) panelButton(text string) *widget.Button {
	f.t.Helper()
	var found *widget.Button
	kvWalk(f.keys.panelSlot, func(o fyne.CanvasObject) {
		if b := asButton(o); b != nil && b.Text == text {
			found = b
		}
	})
	if found == nil {
		f.t.Fatalf("no button %q in the details panel", text)
	}
	return found
}

// TestClickSelectsRowAndOpensDetails: a click on one cell selects the whole
// row (every cell of that row highlighted, no other) and opens the key's
// details in the side panel: id with Copy, scopes with their titles, dates
// and the key's own audit entries, never a secret. Esc and the close button
// close the panel; no dialog covers the table.
func TestClickSelectsRowAndOpensDetails(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1280, 800)
	probe, secret, err := f.svc.Create(core.CreateRequest{Name: "Details probe", Lifetime: core.Lifetime{Duration: 7 * day}, Permissions: kvGlobal})
	if err != nil {
		t.Fatal(err)
	}
	f.keys.reload()
	f.clickRow(probe.Name, colName)
	if f.win.Canvas().Overlays().Top() != nil {
		t.Fatal("the details opened as a dialog over the table")
	}
	if all := strings.Join(f.panelTexts(), "\n"); !strings.Contains(all, probe.ID) || strings.Contains(all, secret) || strings.Contains(all, secret[len(secret)-12:]) {
		t.Fatalf("the probe's details show no id or show its secret:\n%s", all)
	}
	f.pressEsc()
	if f.keys.details != nil || f.keys.panelSlot.Visible() {
		t.Fatal("Esc did not close the details panel")
	}

	k := f.key("CRM sync (production)")
	f.svc.Rename(k.ID, "CRM sync (prod)")
	f.keys.reload()
	k = f.key("CRM sync (prod)")

	f.clickRow(k.Name, colScopes)
	if f.keys.selected != k.ID {
		t.Fatalf("selected %q, want %q", f.keys.selected, k.ID)
	}
	lit := 0
	for _, c := range f.cells() {
		_, _, _, a := c.bg.FillColor.RGBA()
		on := a != 0
		if c.row.key.ID == k.ID {
			if !on {
				t.Errorf("cell of column %d of the selected row is not highlighted", c.col)
			}
			lit++
		} else if on {
			t.Errorf("cell of %q (column %d) is highlighted", c.row.key.Name, c.col)
		}
	}
	if lit < len(f.keys.cols) {
		t.Errorf("%d cells of the selected row highlighted, want %d", lit, len(f.keys.cols))
	}

	d := f.keys.details
	if d == nil || d.key.ID != k.ID {
		t.Fatal("no details panel for the clicked row")
	}
	all := strings.Join(f.panelTexts(), "\n")
	cat := f.svc.Catalog()
	want := []string{k.ID, k.Hint + "…", "27 Nov 2026", "18 Oct 2026"}
	for _, s := range k.Scopes {
		info := cat.Describe(s)
		want = append(want, s, info.Section+" · "+info.Access)
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("the details do not show %q:\n%s", w, all)
		}
	}
	if len(d.entries) != 2 || d.entries[0].Action != core.ActionRename || d.entries[1].Action != core.ActionCreate {
		t.Errorf("audit entries %+v, want the rename then the create", d.entries)
	}
	for _, ev := range d.entries {
		if ev.KeyID != k.ID {
			t.Errorf("entry of another key: %+v", ev)
		}
	}
	if !strings.Contains(all, "Key renamed") || !strings.Contains(all, "Key created") {
		t.Errorf("the activity is not listed:\n%s", all)
	}

	test.Tap(d.copyID)
	if got := f.app.Clipboard().Content(); got != k.ID {
		t.Errorf("Copy put %q on the clipboard, want the id %q", got, k.ID)
	}

	// The row's actions are in it; a dialog opened from it takes Esc
	// first, then Esc closes the panel.
	test.Tap(f.panelButton("Edit name"))
	if f.keys.details == nil || f.win.Canvas().Overlays().Top() == nil {
		t.Fatal("Edit name in the details opened no dialog")
	}
	f.win.Canvas().Unfocus()
	f.pressEsc()
	if f.win.Canvas().Overlays().Top() != nil || f.keys.details == nil {
		t.Fatal("Esc did not close the rename dialog alone")
	}
	f.pressEsc()
	if f.keys.details != nil || f.keys.panelSlot.Visible() {
		t.Error("Esc does not close the details")
	}
	if f.keys.selected != k.ID {
		t.Error("closing the details unselected the row")
	}

	// The close button closes it too.
	f.clickRow(k.Name, colName)
	test.Tap(f.keys.details.closeBtn)
	if f.keys.details != nil || f.keys.panelSlot.Visible() {
		t.Error("the close button does not close the details")
	}
}

// TestDetailsPanelFollowsClicksAndChanges: clicking another row shows that
// key; renaming the key updates the panel; deleting it closes the panel.
func TestDetailsPanelFollowsClicksAndChanges(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1280, 800)
	f.clickRow("Billing export", colName)
	f.clickRow("Voice bot staging", colExpires)
	if d := f.keys.details; d == nil || d.key.Name != "Voice bot staging" || d.title.Text != "Voice bot staging" {
		t.Fatalf("a click on another row does not show that key: %+v", d)
	}
	k := f.key("Voice bot staging")
	if _, err := f.svc.Rename(k.ID, "Voice bot (staging)"); err != nil {
		t.Fatal(err)
	}
	f.keys.reload()
	if d := f.keys.details; d == nil || d.title.Text != "Voice bot (staging)" || len(d.entries) != 2 {
		t.Fatalf("the panel does not follow the rename: %+v", d)
	}
	if _, err := f.svc.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	f.keys.reload()
	if f.keys.details != nil || f.keys.panelSlot.Visible() {
		t.Error("the panel of a deleted key stays open")
	}
}

// TestDetailsPanelKeepsRowActionsInView: with the panel open at the
// smallest window, the table folds columns so that the Name and the row
// actions stay on screen, and the last row's edit button still works.
func TestDetailsPanelKeepsRowActionsInView(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, minWindowWidth, minWindowHeight)
	f.clickRow("CRM sync (production)", colName)
	if f.keys.details == nil {
		t.Fatal("no details panel")
	}
	if f.keys.cols[0] != colName || f.keys.cols[len(f.keys.cols)-1] != colActions {
		t.Fatalf("columns with the panel open: %v", f.keys.cols)
	}
	d := fyne.CurrentApp().Driver()
	panelX := d.AbsolutePositionForObject(f.keys.panelSlot).X
	if panelX+f.keys.panelSlot.Size().Width > minWindowWidth+0.5 {
		t.Errorf("the panel ends at %v, beyond the window", panelX+f.keys.panelSlot.Size().Width)
	}
	var last *keyCell
	for _, c := range f.cells() {
		if c.col == colActions && (last == nil || c.row == f.keys.model.shown[len(f.keys.model.shown)-1]) {
			last = c
		}
	}
	if last == nil {
		t.Fatal("no actions cell laid out")
	}
	right := d.AbsolutePositionForObject(last.del).X + last.del.Size().Width
	if right > panelX {
		t.Errorf("the row actions end at %v, under the panel at %v", right, panelX)
	}
	test.Tap(last.edit)
	if f.win.Canvas().Overlays().Top() == nil {
		t.Error("the edit button beside the panel opened no rename dialog")
	}
}

// TestDetailsActionsAndRevealDoNotOpen: the Delete button of the details
// asks to delete that key; a row selected by the window itself (a new key
// revealed) opens no details.
func TestDetailsActionsAndRevealDoNotOpen(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1280, 800)
	f.keys.revealKey(f.key("Billing export").ID)
	if f.keys.details != nil || f.win.Canvas().Overlays().Top() != nil {
		t.Fatal("revealing a key opened its details")
	}
	f.clickRow("Billing export", colName)
	test.Tap(f.panelButton("Delete"))
	test.Tap(f.overlayButton("Delete")) // the confirmation
	if f.key("Billing export") != nil {
		t.Error("Delete in the details did not delete the key")
	}
}

// TestGoldenDetails: the details panel beside the table, at the default
// and at the smallest window.
func TestGoldenDetails(t *testing.T) {
	goldenAtBothSizes(t, "details", func(t *testing.T, f *kvFixture) {
		f.clickRow("CRM sync (production)", colName)
	})
}

// TestDetailTimeShowsUTCOnlyWhenLocalIsNot: the details show UTC beside a
// local time, not twice when the local zone is UTC.
func TestDetailTimeShowsUTCOnlyWhenLocalIsNot(t *testing.T) {
	at := kvNow.Add(-2 * time.Hour)
	if got := detailTime(at, kvNow, time.FixedZone("UTC", 0)); strings.Contains(got, "(") {
		t.Errorf("local zone UTC: %q shows UTC twice", got)
	}
	if got := detailTime(at, kvNow, time.FixedZone("CET", 3600)); !strings.Contains(got, "10:00") || !strings.Contains(got, "(2026-11-27 09:00") {
		t.Errorf("local zone CET: %q", got)
	}
	if got := detailTime(time.Time{}, kvNow, time.UTC); got != "never" {
		t.Errorf("zero time: %q", got)
	}
}
