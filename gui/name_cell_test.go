package gui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
)

// rollInWindow rolls the key named name from the window and closes the
// secret dialog, leaving the rolled pair in the table.
func (f *kvFixture) rollInWindow(name string) {
	f.t.Helper()
	d := f.keys.openRoll(f.keys.model.find(f.key(name).ID))
	test.Tap(d.roll)
	f.keys.secret.copy()
	f.keys.secret.close()
}

// TestNameAndLinkNeverOverlap: with the details panel open on a rolled
// pair, at the default and the smallest window, each name cell's name and
// "rolled from/to" link share the cell side by side: neither is drawn over
// the other or the badges, neither is squeezed to nothing, and a cut name
// has a tooltip with the full name.
func TestNameAndLinkNeverOverlap(t *testing.T) {
	for _, size := range []fyne.Size{{Width: 1280, Height: 800}, {Width: minWindowWidth, Height: minWindowHeight}} {
		t.Run(fmtSize(size), func(t *testing.T) {
			f := newKVFixture(t, theme.VariantLight, kvDemo, size.Width, size.Height)
			f.rollInWindow("Partner portal (read-only)")
			f.clickRow("Partner portal (read-only)", colName)
			if len(f.panelTexts()) == 0 {
				t.Fatal("the details panel did not open")
			}
			links := 0
			for _, c := range f.cells() {
				if c.col != colName || !c.link.Visible() {
					continue
				}
				links++
				cell := c.nameBox.Size().Width
				name := rect{c.textBox.Position().X, c.textBox.Size().Width}
				link := rect{c.link.Position().X, c.link.Size().Width}
				if name.overlaps(link) {
					t.Errorf("%q: name %v overlaps link %q %v", c.row.key.Name, name, c.link.Text, link)
				}
				if c.badges.Visible() {
					b := rect{c.badges.Position().X, c.badges.Size().Width}
					if b.overlaps(name) || b.overlaps(link) {
						t.Errorf("%q: badges %v overlap name %v or link %v", c.row.key.Name, b, name, link)
					}
				}
				if name.x < 0 || link.x < 0 || link.x+link.w > cell+0.5 {
					t.Errorf("%q: name %v or link %v outside the cell (width %v)", c.row.key.Name, name, link, cell)
				}
				// Neither is squeezed to an ellipsis alone.
				if ew := textWidth(c.link.Theme(), "Partner…"); name.w < ew || link.w < ew {
					t.Errorf("%q: name %v or link %v squeezed below %v", c.row.key.Name, name, link, ew)
				}
				// The link's text, cut to fit, stays in its rectangle.
				if tw := textWidth(c.link.Theme(), c.link.Text); tw > link.w+0.5 {
					t.Errorf("%q: link text %q needs %v, has %v", c.row.key.Name, c.link.Text, tw, link.w)
				}
				cut := c.text.Label.Truncation == fyne.TextTruncateEllipsis || c.link.Text != c.linkAll
				if cut {
					c.text.MouseIn(&desktop.MouseEvent{})
					l, _ := f.keys.tips.Tip().(*widget.Label)
					if l == nil || !strings.Contains(l.Text, c.row.key.Name) || !strings.Contains(l.Text, c.linkAll) {
						t.Errorf("%q is cut but its tooltip is %v", c.row.key.Name, f.keys.tips.Tip())
					}
					c.text.MouseOut()
				}
			}
			if links != 2 {
				t.Fatalf("%d name cells with a link, want the rolled pair's 2", links)
			}
		})
	}
}

// rect is an object's horizontal extent in its cell.
type rect struct{ x, w float32 }

func (a rect) overlaps(b rect) bool {
	return a.w > 0 && b.w > 0 && a.x < b.x+b.w-0.5 && b.x < a.x+a.w-0.5
}

func fmtSize(s fyne.Size) string {
	if s.Width == minWindowWidth {
		return "small"
	}
	return "default"
}

// TestGoldenDetailsRolledPair: the details panel open on the new key of a
// rolled pair, both rows' names and links in view, at both window sizes.
func TestGoldenDetailsRolledPair(t *testing.T) {
	goldenAtBothSizes(t, "details_rolled_pair", func(t *testing.T, f *kvFixture) {
		f.rollInWindow("Partner portal (read-only)")
		f.clickRow("Partner portal (read-only)", colName)
	})
}

// TestDetailsActivityOfRolledPair: the new key of a roll lists the roll it
// came from (it was "No entries"), and the old key's roll entry gives the
// time it stops like the rest of the window, not in RFC 3339.
func TestDetailsActivityOfRolledPair(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1280, 800)
	old := f.key("Partner portal (read-only)")
	f.rollInWindow(old.Name)
	got, _ := f.store.GetKey(old.ID)
	f.keys.showDetails(f.keys.model.find(got.RolledTo))
	all := strings.Join(f.panelTexts(), "\n")
	if len(f.keys.details.entries) == 0 || !strings.Contains(all, "rolled from "+old.ID) {
		t.Errorf("the new key's activity does not show where it was rolled from (%d entries):\n%s", len(f.keys.details.entries), all)
	}
	f.keys.showDetails(f.keys.model.find(old.ID))
	all = strings.Join(f.panelTexts(), "\n")
	if rfc3339.MatchString(all) || !strings.Contains(all, formatDateTime(got.ExpiresAt, time.UTC)) {
		t.Errorf("the old key's roll entry does not give its end like the window does:\n%s", all)
	}
}

// wholeLogRefused is an audit source whose whole log must not be read.
type wholeLogRefused struct {
	keyAuditSource
	t *testing.T
}

func (w wholeLogRefused) Audit() ([]core.AuditEvent, error) {
	w.t.Error("the details panel read the whole audit log")
	return nil, nil
}

// TestDetailsReadsOnlyTheKeysAudit: the details panel reads the entries of
// the key (and of the key it was rolled from), not the whole log.
func TestDetailsReadsOnlyTheKeysAudit(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1280, 800)
	old := f.key("Partner portal (read-only)")
	f.rollInWindow(old.Name)
	f.keys.audit = wholeLogRefused{f.store, t}
	got, _ := f.store.GetKey(old.ID)
	f.keys.showDetails(f.keys.model.find(got.RolledTo))
	d := f.keys.details
	if len(d.entries) != 1 || d.entries[0].Detail != "rolled from "+old.ID {
		t.Errorf("the new key's entries: %+v, want the roll that made it", d.entries)
	}
}
