package gui

import (
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// focusables are the visible, enabled widgets under o that take the focus.
func focusables(o fyne.CanvasObject) []fyne.Focusable {
	var out []fyne.Focusable
	kvWalk(o, func(x fyne.CanvasObject) {
		f, ok := x.(fyne.Focusable)
		if !ok {
			return
		}
		if d, ok := x.(fyne.Disableable); ok && d.Disabled() {
			return
		}
		out = append(out, f)
	})
	return out
}

// typeEsc types Esc as the driver does: to the focused widget, or to the
// canvas when nothing has the focus.
func typeEsc(win fyne.Window) {
	ev := &fyne.KeyEvent{Name: fyne.KeyEscape}
	if o := win.Canvas().Focused(); o != nil {
		o.TypedKey(ev)
		return
	}
	win.Canvas().OnTypedKey()(ev)
}

// escFromEveryFocus checks that Esc closes what open opens whatever has
// the focus. With nothing focused, Esc must close it (done reports it
// closed). Then, opened again, each focusable widget of the top overlay
// (or of panel, when not nil) is focused in turn and typed Esc: with env,
// a probe pushed on the window's Esc actions must hear each one (the
// widget handed Esc on to the window, whose top action closes the dialog;
// this keeps the test fast); without env, each widget is tried on a dialog
// opened afresh, which must close. Last, Esc from the last widget must
// close it. It returns how many widgets it tried.
func escFromEveryFocus(t *testing.T, win fyne.Window, env *uiEnv, what string, open func(), panel func() fyne.CanvasObject, done func() bool) int {
	t.Helper()
	root := func() fyne.CanvasObject {
		if panel != nil {
			return panel()
		}
		return win.Canvas().Overlays().Top()
	}
	open()
	if done() {
		t.Fatalf("%s did not open", what)
	}
	win.Canvas().Unfocus()
	typeEsc(win)
	if !done() {
		t.Fatalf("%s: Esc with nothing focused did not close it", what)
	}
	open()
	fs := focusables(root())
	if len(fs) == 0 {
		t.Fatalf("%s: nothing in it takes the focus", what)
	}
	focus := func(w fyne.Focusable) {
		win.Canvas().Focus(w)
		if win.Canvas().Focused() != w {
			t.Fatalf("%s: %T %+v did not take the focus", what, w, w)
		}
	}
	if env != nil {
		heard := 0
		stop := env.onEscape(func() { heard++ })
		for i, w := range fs {
			focus(w)
			typeEsc(win)
			if heard != i+1 {
				t.Errorf("%s: Esc while %T (focusable %d of %d) had the focus did not reach the window", what, w, i+1, len(fs))
				heard = i + 1
			}
		}
		stop()
	} else {
		for i := range fs[:len(fs)-1] {
			focus(fs[i])
			typeEsc(win)
			if !done() {
				t.Fatalf("%s: Esc while %T (focusable %d of %d) had the focus did not close it", what, fs[i], i+1, len(fs))
			}
			open()
			fs = focusables(root())
		}
	}
	focus(fs[len(fs)-1])
	typeEsc(win)
	if !done() {
		t.Fatalf("%s: Esc while %T had the focus did not close it", what, fs[len(fs)-1])
	}
	return len(fs)
}

// TestEscClosesKeysDialogsFromAnyFocus: Create (untouched), Duplicate,
// Edit name, Roll, the Delete confirmation, the secret dialog once copied,
// an error dialog with its Details open and the details panel all close
// on Esc whichever of their buttons, boxes, radio buttons, links or
// fields has the focus (Fyne's own keep Esc to themselves).
func TestEscClosesKeysDialogsFromAnyFocus(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	noDialog := func() bool { return f.win.Canvas().Overlays().Top() == nil }
	row := func() *keyRow { return f.cell("CRM sync (production)", colName).row }

	tried := escFromEveryFocus(t, f.win, f.env, "Create", func() {
		d := f.openCreate()
		d.chooseKind(tabSections) // the sections' radio buttons in view
	}, nil, noDialog)
	if tried < 10 {
		t.Errorf("Create: only %d focusable widgets tried", tried)
	}
	escFromEveryFocus(t, f.win, f.env, "Duplicate", func() { f.keys.duplicateKey(row()) }, nil, noDialog)
	escFromEveryFocus(t, f.win, f.env, "Edit name", func() { f.keys.editKey(row()) }, nil, noDialog)
	escFromEveryFocus(t, f.win, f.env, "Roll", func() { f.keys.openRoll(row()) }, nil, noDialog)
	escFromEveryFocus(t, f.win, nil, "Delete confirmation", func() { f.keys.confirmDelete(row()) }, nil, noDialog)
	if f.key("CRM sync (production)") == nil {
		t.Fatal("Esc on the Delete confirmation deleted the key")
	}
	escFromEveryFocus(t, f.win, f.env, "secret dialog (copied)", func() {
		s := f.createGlobal("Escaped")
		test.Tap(s.copyBtn)
	}, nil, func() bool { return noDialog() && f.keys.secret == nil })
	escFromEveryFocus(t, f.win, nil, "error dialog", func() {
		d := f.keys.showError("The key was not deleted", errTest)
		test.Tap(d.details)
	}, nil, noDialog)

	// The details panel is not an overlay: Esc from any of its widgets
	// closes it.
	escFromEveryFocus(t, f.win, f.env, "details panel", func() {
		f.keys.showDetails(f.keys.model.find(f.key("CRM sync (production)").ID))
	}, func() fyne.CanvasObject {
		if f.keys.details == nil {
			return nil
		}
		return f.keys.details.content
	}, func() bool { return f.keys.details == nil })
	if len(f.env.escapes) != 0 {
		t.Fatalf("%d Esc actions left after every dialog closed", len(f.env.escapes))
	}
}

// TestEscAsksFromAnyFocusWhereWorkWouldBeLost: with a name typed, Esc in
// Create asks whatever has the focus, and Esc on the question (whichever
// button has the focus) goes back to the dialog; in the secret dialog,
// Esc before Copy asks "Close without copying?".
func TestEscAsksFromAnyFocusWhereWorkWouldBeLost(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1180, 720)
	d := f.openCreate()
	test.Type(d.name, "Half done")
	d.chooseKind(tabSections)
	for i, w := range focusables(f.win.Canvas().Overlays().Top()) {
		f.win.Canvas().Focus(w)
		typeEsc(f.win)
		if d.confirm == nil || f.keys.creating != d || !f.overlayText("The name, expiration and permissions you chose are lost") {
			t.Fatalf("Esc while %T (%d) had the focus did not ask before discarding", w, i)
		}
		q := focusables(f.win.Canvas().Overlays().Top())
		f.win.Canvas().Focus(q[i%len(q)])
		typeEsc(f.win)
		if f.overlayText("The name, expiration and permissions you chose are lost") || f.keys.creating != d || d.name.Text != "Half done" {
			t.Fatalf("Esc on the question (focus on %T) did not go back to the dialog", q[i%len(q)])
		}
		d.confirm = nil
	}
	d.dlg.Hide()

	s := f.createGlobal("Not copied")
	for _, w := range focusables(f.win.Canvas().Overlays().Top()) {
		f.win.Canvas().Focus(w)
		typeEsc(f.win)
		if !f.overlayText("You have not copied the key") {
			t.Fatalf("Esc while %T had the focus closed the secret dialog without asking", w)
		}
		for _, b := range focusables(f.win.Canvas().Overlays().Top()) {
			f.win.Canvas().Focus(b)
			break
		}
		typeEsc(f.win)
		if f.overlayText("You have not copied the key") || f.keys.secret != s {
			t.Fatal("Esc on the question did not go back to the key")
		}
	}
}

// TestEscClosesOtherDialogsFromAnyFocus: Back Up, Restore, Import API
// Catalog and its preview, Open Shared Store, the digest preview and Send
// API Request's confirmation close on Esc from any focus.
func TestEscClosesOtherDialogsFromAnyFocus(t *testing.T) {
	s, bg := backupSession(t)
	w := s.w
	noDialog := func() bool { return w.Canvas().Overlays().Top() == nil }
	escFromEveryFocus(t, w, s.env, "Back Up", func() { s.flow.openBackup(filepath.Join(t.TempDir(), "k.kdbackup")) }, nil, noDialog)
	escFromEveryFocus(t, w, s.env, "Restore", func() { s.flow.openRestore(filepath.Join(t.TempDir(), "k.kdbackup")) }, nil, noDialog)
	escFromEveryFocus(t, w, s.env, "Import API Catalog", func() { s.catalog.showChooser() }, nil, noDialog)
	escFromEveryFocus(t, w, s.env, "Open Shared Store", func() { (&storeSwitcher{}).showOpenDialog(s.env) }, nil, noDialog)
	escFromEveryFocus(t, w, s.env, "information", func() { s.env.showInfo("Restored", "Restored 3 keys.") }, nil, noDialog)
	bg.wait()
}

// TestEscClosesPanelDialogsFromAnyFocus: Send API Request's confirmation
// (on the Try a key screen) closes on Esc from any focus, and with nothing
// focused once the window's Esc actions know it (app.go sets its
// onEscape). (The digest preview's is gui/settings' test.)
func TestEscClosesPanelDialogsFromAnyFocus(t *testing.T) {
	f := newRQFixture(t, theme.VariantLight, 1000, 900)
	renv := &uiEnv{win: f.win}
	f.win.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) { renv.escape() })
	f.v.req.onEscape = renv.onEscape
	tkPick(t, f.v, "order", "createOrder")
	test.Type(f.v.token, rqSecret)
	noDialog := func() bool { return f.win.Canvas().Overlays().Top() == nil }
	escFromEveryFocus(t, f.win, nil, "Send API Request confirmation", func() {
		test.Tap(f.v.req.send)
		f.bg.wait()
	}, nil, noDialog)
	if f.api.requests() != 0 {
		t.Fatal("Esc on the confirmation sent the request")
	}
}

// errTest is an error for the error dialog.
var errTest = widgetError("connect: connection refused")

type widgetError string

func (e widgetError) Error() string { return string(e) }
