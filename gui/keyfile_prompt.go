package gui

import (
	"fmt"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/workspace"
)

// The key file in the window: without an OS keyring, the data folder's
// signing key can be kept in the folder's passphrase-protected keydesk.key
// (workspace.Options.KeyFile). The window offers that choice (and the demo)
// when the keyring is missing, and asks for the passphrase itself: twice
// for a new keydesk.key, once for an existing one, once per session. The
// passphrase stays in this process's memory (keyFileState) and is never
// written anywhere.
//
// No goroutine waits for the person: opening runs in the background and,
// lacking the passphrase, fails with needPassphraseError; the window then
// shows the passphrase dialog on the UI goroutine, and its Open button
// starts the open again in the background with what was typed.

// needPassphraseError means the key file needs a passphrase the window has
// not been given yet (create: a new keydesk.key is about to be made), or
// was given a wrong one (wrong).
type needPassphraseError struct{ create, wrong bool }

func (e *needPassphraseError) Error() string { return e.Unwrap().Error() }

func (e *needPassphraseError) Unwrap() error {
	if e.wrong {
		return envelope.ErrWrongPassphrase
	}
	return workspace.ErrNoPassphrase
}

// keyFileState is the session's key file: whether the person chose it in
// the window, and its passphrase once typed (memory only).
type keyFileState struct {
	mu     sync.Mutex
	chosen bool
	pass   string
	have   bool
	// givenFailed: the passphrase the window started with (the command
	// line's opts.Passphrase) was wrong; ask instead.
	givenFailed bool
}

func (k *keyFileState) choose() {
	k.mu.Lock()
	k.chosen = true
	k.mu.Unlock()
}

func (k *keyFileState) isChosen() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.chosen
}

// set keeps a typed passphrase for the session.
func (k *keyFileState) set(p string) {
	k.mu.Lock()
	k.pass, k.have = p, true
	k.mu.Unlock()
}

// source returns the passphrase to try: the typed one, else given (the
// command line's) unless it failed before.
func (k *keyFileState) source(given func(bool) (string, error)) (pass string, have bool, from func(bool) (string, error)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.givenFailed {
		given = nil
	}
	return k.pass, k.have, given
}

// wrong forgets the passphrase that was just refused.
func (k *keyFileState) wrong(typed bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if typed {
		k.pass, k.have = "", false
	} else {
		k.givenFailed = true
	}
}

// keyFileExplained says what keeping the signing key in a file means, for a
// stolen folder above all.
const keyFileExplained = "Keep the signing key in a file: Keydesk keeps this folder's signing key in keydesk.key, " +
	"inside the folder, locked with a passphrase you type each time Keydesk starts and that is never saved. " +
	"Anyone who copies the folder and learns the passphrase can issue keys that your services accept, " +
	"so choose a long passphrase and keep it apart from the folder."

// demoExplained says what the demo is.
const demoExplained = "Open the demo: sample keys to look around, thrown away when the window closes."

// keyChoice is the dialog offering the key file and the demo when the data
// folder could not be opened with the OS keyring.
type keyChoice struct {
	dlg                  *dialog.CustomDialog
	keyFile, demo, quitB *widget.Button
}

// showKeyChoice says in one sentence (reason) why the data folder is not
// open and offers the key file and the demo; Quit quits. existing says the
// folder already has keydesk.key (the choice is then its passphrase).
func (s *session) showKeyChoice(title, reason string, existing bool) *keyChoice {
	c := &keyChoice{}
	msg := widget.NewLabel(reason)
	msg.Wrapping = fyne.TextWrapWord
	msg.Importance = widget.DangerImportance
	explained := widget.NewLabel(keyFileExplained)
	explained.Wrapping = fyne.TextWrapWord
	demo := widget.NewLabel(demoExplained)
	demo.Wrapping = fyne.TextWrapWord
	label := "Keep the signing key in a file"
	if existing {
		label = "Type the passphrase"
	}
	c.keyFile = widget.NewButtonWithIcon(label, theme.FileIcon(), func() {
		c.dlg.Hide()
		s.useKeyFile()
	})
	c.keyFile.Importance = widget.HighImportance
	c.demo = widget.NewButtonWithIcon("Open the demo", theme.MediaPlayIcon(), func() {
		c.dlg.Hide()
		s.openDemo()
	})
	c.quitB = widget.NewButtonWithIcon("Quit", theme.CancelIcon(), func() {
		c.dlg.Hide()
		s.env.quit()
	})
	c.dlg = dialog.NewCustomWithoutButtons(title, container.NewVBox(msg, explained, demo), s.w)
	c.dlg.SetButtons([]fyne.CanvasObject{c.quitB, c.demo, c.keyFile})
	fitDialog(c.dlg, 600)
	c.dlg.Show()
	s.choice = c
	return c
}

// askPassphrase shows the passphrase dialog for need; Open retries with
// the passphrase, Cancel goes back to the choice (UI goroutine).
func (s *session) askPassphrase(need *needPassphraseError) {
	s.prompt = showPassphraseDialog(s.env, need, func(p string, ok bool) {
		s.prompt = nil
		if ok {
			s.kf.set(p)
			s.retry(nil)
			return
		}
		if need.create {
			s.showKeyChoice("The data folder is not open",
				"The data folder was not opened: without an OS keyring its signing key needs a passphrase-protected file.", false)
			return
		}
		s.showKeyChoice("The data folder is not open",
			"The data folder was not opened: its signing key is in keydesk.key, which opens only with its passphrase.", true)
	})
}

// passphraseDialog asks for the key file's passphrase: twice for a new
// keydesk.key, once for an existing one.
type passphraseDialog struct {
	dlg         *dialog.CustomDialog
	pass, again *widgets.EscEntry // again is nil for an existing key file
	msg         *widget.Label
	ok, cancel  *widgets.EscButton
}

// showPassphraseDialog asks for the key file's passphrase for need (wrong:
// saying so first); then gets it, or ok false on Cancel. A new passphrase
// must pass envelope.CheckNewPassphrase (length, and not easy to guess) and
// be typed twice the same; an existing one is only tried.
func showPassphraseDialog(env *uiEnv, need *needPassphraseError, then func(pass string, ok bool)) *passphraseDialog {
	d := &passphraseDialog{pass: passwordEntry(), msg: widget.NewLabel("")}
	d.msg.Wrapping = fyne.TextWrapWord
	title := "Passphrase of keydesk.key"
	intro := "This data folder keeps its signing key in keydesk.key: type its passphrase to open it (Keydesk never saves it)."
	items := []*widget.FormItem{widget.NewFormItem("Passphrase", d.pass)}
	if need.create {
		title = "Choose a passphrase for keydesk.key"
		intro = fmt.Sprintf("The signing key goes into keydesk.key in the data folder, locked with this passphrase of at least %d characters: "+
			"anyone who copies the folder and learns it can issue keys, so keep it apart from the folder.", envelope.MinPassphrase)
		d.again = passwordEntry()
		items = append(items, widget.NewFormItem("Again", d.again))
	}
	label := widget.NewLabel(intro)
	label.Wrapping = fyne.TextWrapWord
	setMessage(d.msg, "", widget.MediumImportance)
	if need.wrong {
		setMessage(d.msg, wrongPassphrase, widget.DangerImportance)
	}
	done, finished := func() {}, false
	finish := func(p string, ok bool) {
		if finished {
			return
		}
		finished = true
		d.pass.SetText("")
		if d.again != nil {
			d.again.SetText("")
		}
		d.dlg.Hide()
		done()
		then(p, ok)
	}
	var content *fyne.Container
	refuse := func(text string) {
		setMessage(d.msg, text, widget.DangerImportance)
		content.Refresh()
		d.dlg.Resize(fyne.NewSize(560, d.dlg.MinSize().Height+20))
	}
	submit := func() {
		p := d.pass.Text
		var weak error
		if d.again != nil && p != "" {
			// A new keydesk.key: long enough and not easy to guess.
			weak = envelope.CheckNewPassphrase(p)
		}
		switch {
		case p == "":
			refuse("Type the passphrase.")
		case weak != nil:
			refuse(sentence(weak))
		case d.again != nil && d.again.Text != p:
			refuse("The two passphrases differ; type the same one twice.")
		default:
			finish(p, true)
		}
	}
	d.ok = env.button("Open", theme.ConfirmIcon(), submit)
	d.ok.Importance = widget.HighImportance
	d.cancel = env.button("Cancel", theme.CancelIcon(), func() { finish("", false) })
	d.pass.OnSubmitted = func(string) {
		if d.again != nil && d.again.Text == "" {
			env.win.Canvas().Focus(d.again)
			return
		}
		submit()
	}
	esc := func() { env.escape() }
	d.pass.OnEscape = esc
	if d.again != nil {
		d.again.OnSubmitted = func(string) { submit() }
		d.again.OnEscape = esc
	}
	content = container.NewVBox(label, widget.NewForm(items...), d.msg)
	d.dlg = dialog.NewCustomWithoutButtons(title, content, env.win)
	d.dlg.SetButtons([]fyne.CanvasObject{d.cancel, d.ok})
	done = env.onEscape(func() { finish("", false) })
	fitDialog(d.dlg, 560)
	d.dlg.Show()
	env.win.Canvas().Focus(d.pass)
	return d
}

// wrongPassphrase says that the passphrase typed did not open keydesk.key.
const wrongPassphrase = "The passphrase is wrong; type it again."

// fitDialog sizes d to its content at width w: word-wrapped labels know
// their height only once laid out at that width, so it is sized twice.
func fitDialog(d dialog.Dialog, w float32) {
	d.Resize(fyne.NewSize(w, d.MinSize().Height))
	d.Resize(fyne.NewSize(w, d.MinSize().Height+20))
}

// passwordEntry returns an entry that hides what is typed and hands Esc to
// the dialog.
func passwordEntry() *widgets.EscEntry {
	e := widgets.NewEscEntry()
	e.Password = true
	return e
}
