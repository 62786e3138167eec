package gui

import (
	"strings"
	"testing"

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

// overlayTexts returns every label text of the top overlay.
func (f *kvFixture) overlayTexts() []string {
	var out []string
	kvWalk(f.win.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *widget.Hyperlink:
			out = append(out, x.Text)
		}
	})
	return out
}

// TestClickSelectsRowAndOpensDetails: a click on one cell selects the whole
// row (every cell of that row highlighted, no other) and opens the key's
// details: id with Copy, scopes with their titles, dates and the key's own
// audit entries, never a secret.
func TestClickSelectsRowAndOpensDetails(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1280, 800)
	probe, secret, err := f.svc.Create(core.CreateRequest{Name: "Details probe", Lifetime: core.Lifetime{Duration: 7 * day}, Permissions: kvGlobal})
	if err != nil {
		t.Fatal(err)
	}
	f.keys.reload()
	f.clickRow(probe.Name, colName)
	if all := strings.Join(f.overlayTexts(), "\n"); !strings.Contains(all, probe.ID) || strings.Contains(all, secret) || strings.Contains(all, secret[len(secret)-12:]) {
		t.Fatalf("the probe's details show no id or show its secret:\n%s", all)
	}
	f.pressEsc()

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
		t.Fatal("no details dialog for the clicked row")
	}
	all := strings.Join(f.overlayTexts(), "\n")
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

	// Esc closes it; the row's actions are in it.
	f.overlayButton("Edit name")
	f.overlayButton("Delete")
	f.pressEsc()
	if f.win.Canvas().Overlays().Top() != nil {
		t.Error("Esc does not close the details")
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
	test.Tap(f.overlayButton("Delete"))
	test.Tap(f.overlayButton("Delete")) // the confirmation
	if f.key("Billing export") != nil {
		t.Error("Delete in the details did not delete the key")
	}
}

func TestGoldenDetails(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newKVFixture(t, v.variant, kvDemo, 1280, 800)
			f.clickRow("CRM sync (production)", colName)
			test.AssertImageMatches(t, "details_"+v.name+".png", f.win.Canvas().Capture())
		})
	}
}
