package gui

import (
	"slices"
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

// kvIdleSeeds holds one idle key (unused for 100 days), one never used and
// created 120 days ago (idle too) and one used yesterday.
var kvIdleSeeds = []kvSeed{
	{"Nightly report", 200 * day, core.Lifetime{Months: 12}, kvOps("users.list"), 100 * day, false},
	{"Forgotten integration", 120 * day, core.Lifetime{Months: 12}, kvOps("info.company.get"), 0, false},
	{"Busy integration", 30 * day, core.Lifetime{Months: 6}, kvOps("users.get"), day, false},
}

func TestRollFromWindowShowsSecretAndRolledRows(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	old := f.key("CRM sync (production)")
	d := f.keys.openRoll(f.keys.model.find(old.ID))
	if d.grace.Selected != graceLabel(core.DefaultGrace) {
		t.Fatalf("default grace %q, want 24 hours", d.grace.Selected)
	}
	if len(d.grace.Options) != len(core.GraceChoices) {
		t.Fatalf("grace choices %v, want %d", d.grace.Options, len(core.GraceChoices))
	}
	if !f.overlayText("must switch to the new key") || !strings.Contains(d.plan.Text, "keeps working until 28 Nov 2026 11:00") {
		t.Fatalf("the dialog does not say who must switch and when the old key stops: %q", d.plan.Text)
	}
	// PlanRoll only tells: nothing changed yet.
	if k := f.key("CRM sync (production)"); k.RolledTo != "" || !k.ExpiresAt.Equal(old.ExpiresAt) {
		t.Fatal("opening the roll dialog changed the key")
	}
	d.grace.SetSelected(graceLabel(0))
	if !strings.Contains(d.plan.Text, "stops working at once") {
		t.Fatalf("grace 0: %q", d.plan.Text)
	}
	d.grace.SetSelected(graceLabel(time.Hour))
	test.Tap(d.roll)

	if f.keys.secret == nil {
		t.Fatal("no secret dialog after the roll")
	}
	got, _ := f.store.GetKey(old.ID)
	if got.RolledTo == "" || !got.ExpiresAt.Equal(kvNow.Add(time.Hour)) {
		t.Fatalf("old key after roll: rolledTo %q, expires %v", got.RolledTo, got.ExpiresAt)
	}
	nk, _ := f.store.GetKey(got.RolledTo)
	if nk == nil || nk.RolledFrom != old.ID || nk.Name != old.Name {
		t.Fatalf("new key %+v", nk)
	}
	if sec := f.keys.secret.secret; !strings.HasPrefix(sec, nk.Hint) {
		t.Fatalf("the secret dialog shows a key that is not the new one (hint %s)", nk.Hint)
	}
	f.keys.secret.copy()
	f.keys.secret.close()

	exp := f.cellText(old.ID, colExpires)
	if exp != "Rolled · stops in 1 hour" {
		t.Fatalf("old row expires column %q", exp)
	}
	oc := f.cellByID(old.ID, colName)
	if !oc.link.Visible() || oc.linkAll != "rolled to "+nk.Hint+"…" {
		t.Fatalf("old row link %q", oc.linkAll)
	}
	nc := f.cellByID(nk.ID, colName)
	if !nc.link.Visible() || nc.linkAll != "rolled from "+old.Hint+"…" {
		t.Fatalf("new row link %q", nc.linkAll)
	}
	// The link selects the new key.
	oc.link.OnTapped()
	if f.keys.selected != nk.ID {
		t.Fatalf("link selected %q, want %q", f.keys.selected, nk.ID)
	}
	// The Roll… button has a hover label.
	rb := f.cellByID(nk.ID, colActions).roll
	rb.MouseIn(&desktop.MouseEvent{PointEvent: fyne.PointEvent{AbsolutePosition: fyne.NewPos(1000, 200)}})
	if l, ok := f.keys.tips.Tip().(*widget.Label); !ok || !strings.HasPrefix(l.Text, "Roll…") {
		t.Fatalf("Roll… hover label %v", f.keys.tips.Tip())
	}
	rb.MouseOut()
	if f.keys.tips.Tip() != nil {
		t.Fatal("the hover label stays after the mouse left")
	}
	// The rolled key cannot be rolled again: its Roll… button is off.
	if ac := f.cellByID(old.ID, colActions); !ac.roll.Disabled() {
		t.Fatal("the rolled key's Roll… button is enabled")
	}
	if ac := f.cellByID(nk.ID, colActions); ac.roll.Disabled() {
		t.Fatal("the new key's Roll… button is disabled")
	}
}

func TestRollRefusedSaysOneSentence(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	k := f.key("Billing export")
	d := f.keys.openRoll(f.keys.model.find(k.ID))
	// Someone else rolls it meanwhile (the command line).
	if _, err := f.svc.Roll(k.ID, 0); err != nil {
		t.Fatal(err)
	}
	test.Tap(d.roll)
	if f.keys.secret != nil {
		t.Fatal("a secret dialog opened for a refused roll")
	}
	if !d.msg.Visible() || d.msg.Text != "The key was not rolled: the key has already been rolled." {
		t.Fatalf("message %q", d.msg.Text)
	}
}

func TestIdleBadgeAndFilter(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvIdleSeeds, 1180, 720)
	for name, want := range map[string]bool{"Nightly report": true, "Forgotten integration": true, "Busy integration": false} {
		if got := f.cell(name, colName).idle.Visible(); got != want {
			t.Errorf("%s: Idle badge shown %v, want %v", name, got, want)
		}
	}
	// "idl" matches no name; typing on to "idle" must not only refine it.
	test.Type(f.keys.search, "idl")
	if n := len(f.shownNames()); n != 0 {
		t.Fatalf("idl shows %d keys", n)
	}
	test.Type(f.keys.search, "e")
	names := f.shownNames()
	slices.Sort(names)
	if !slices.Equal(names, []string{"Forgotten integration", "Nightly report"}) {
		t.Fatalf("typing idle shows %v", names)
	}
}

// cellByID returns the laid-out cell of key id in column col.
func (f *kvFixture) cellByID(id string, col column) *keyCell {
	f.t.Helper()
	for _, c := range f.cells() {
		if c.row.key.ID == id && c.col == col {
			return c
		}
	}
	f.t.Fatalf("no cell for key %s in column %d", id, col)
	return nil
}

func (f *kvFixture) cellText(id string, col column) string {
	return f.cellByID(id, col).text.Text
}

func TestGoldenRollDialogAndRows(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newKVFixture(t, v.variant, kvIdleSeeds, 1180, 720)
			k := f.key("Busy integration")
			f.keys.openRoll(f.keys.model.find(k.ID))
			test.AssertImageMatches(t, "roll_dialog_"+v.name+".png", f.win.Canvas().Capture())
			test.Tap(f.overlayButton("Roll key"))
			// The secret dialog is not in the golden: close it first.
			f.keys.secret.copy()
			f.keys.secret.close()
			test.AssertImageMatches(t, "rows_rolled_idle_"+v.name+".png", f.win.Canvas().Capture())
		})
	}
}

// newKeyRows resolves each rolled key's link once: to the row of the key it
// was rolled to or from when that key is loaded, else a deleted key's text
// (rolled from) or none (rolled to).
func TestKeyRowsResolveRollLinks(t *testing.T) {
	keys := []*core.Key{
		{ID: "old", Hint: "kd_old", RolledTo: "new"},
		{ID: "new", Hint: "kd_new", RolledFrom: "old"},
		{ID: "orphan", Hint: "kd_orp", RolledFrom: "gone"},
		{ID: "lost", Hint: "kd_lost", RolledTo: "gone"},
		{ID: "plain", Hint: "kd_pln"},
	}
	want := map[string][2]string{
		"old":    {"rolled to kd_new…", "new"},
		"new":    {"rolled from kd_old…", "old"},
		"orphan": {"rolled from a deleted key", ""},
		"lost":   {"", ""},
		"plain":  {"", ""},
	}
	for _, r := range newKeyRows(keys) {
		text, to := r.linkText()
		if w := want[r.key.ID]; text != w[0] || to != w[1] {
			t.Errorf("%s: link %q to %q, want %q to %q", r.key.ID, text, to, w[0], w[1])
		}
	}
}
