package gui

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/workspace"
)

// The window's store-opening flow, in one place: a session is one run of
// the window over one store. It opens the store the window starts with
// (the last one, the data folder with the OS keyring or its key file, the
// demo, or a shared store), shows the screens or the error, retries after a
// passphrase or a choice, suspends and resumes them around a restore, and
// reopens after a switch. The dialogs it shows are in keyfile_prompt.go
// (the key file and the demo) and shared_open.go (a shared store).

// session is one run of the window over one store.
type session struct {
	opened chan struct{} // closed once open has returned (b and err are set)
	shown  chan struct{} // closed once the screens or the error are shown
	b      *workspace.Workspace
	err    error

	mu     sync.Mutex
	stop   func() // stops the background work started with the screens
	closed bool   // finish has run: show nothing more

	// open, w and env reopen the data folder after a restore.
	open func() (*workspace.Workspace, error)
	w    fyne.Window
	env  *uiEnv
	// flow is File → Back Up… and Restore… of the screens shown.
	flow *backupFlow
	// catalog is File → Import API Catalog… of the screens shown.
	catalog *catalogFlow

	// opts are the options the window started with (startWindow); the
	// key file, the demo and the local data folder open with them, and a
	// restored signing key goes into opts.Keyring (nil: the OS keyring).
	opts workspace.Options
	// kf is the key file chosen in the window and its passphrase, in
	// memory for this session only (see keyfile_prompt.go).
	kf keyFileState
	// prompt and choice are the passphrase dialog and the key-file
	// choice last shown (UI goroutine; tests drive them).
	prompt *passphraseDialog
	choice *keyChoice

	// signatures, when set, tells the screens of the data folder's
	// signature check instead of its store (tests; see signaturesOf).
	signatures signatureWatcher
}

// openFirst opens the window's first store (off the UI goroutine): the
// shared store at last (the one shown last), else the one opts name,
// else the data folder. It keeps the opener for a later reopen.
func (s *session) openFirst(sw *storeSwitcher, last string) (*workspace.Workspace, error) {
	var open func() (*workspace.Workspace, error)
	switch {
	case last != "":
		open = sw.sharedOpener(last)
	case s.opts.StoreURL != "":
		open = sw.sharedOpener(s.opts.StoreURL)
	default:
		open = s.openLocal
	}
	s.mu.Lock()
	s.open = open
	s.mu.Unlock()
	b, err := open()
	if err != nil && last != "" {
		return nil, &lastSharedError{err: err}
	}
	return b, err
}

// start shows the placeholder and opens the store with s.open in the
// background.
func (s *session) start() {
	s.w.SetContent(openingPlaceholder())
	s.env.bg.run(func() func() {
		s.b, s.err = s.open()
		trace("opened")
		close(s.opened)
		return func() {
			defer close(s.shown)
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.closed {
				return
			}
			if s.err != nil {
				s.showOpenError(s.err)
				return
			}
			s.stop = showMainUI(s.w, s.env, s.b, s)
		}
	})
}

// showOpenError says in one sentence why the store did not open, and what
// can be done (UI goroutine): the data folder's key file asks for its
// passphrase; without an OS keyring the window offers the key file and the
// demo; a shared store shown last that does not open again offers the
// local data folder. Otherwise dismissing the sentence quits.
func (s *session) showOpenError(err error) {
	var (
		need   *needPassphraseError
		last   *lastSharedError
		shared *sharedError
	)
	switch {
	case errors.As(err, &last):
		s.showLastSharedError(last.err)
	case errors.As(err, &shared):
		// A shared store has no key file to offer.
		s.showFatal(err)
	case errors.As(err, &need):
		s.askPassphrase(need)
	case errors.Is(err, workspace.ErrKeyringUnavailable):
		s.showKeyChoice("The OS keyring is not available", sentence(err), false)
	case errors.Is(err, workspace.ErrNotKeyFileFolder) && s.kf.isChosen():
		// The key file was chosen in the window for a folder whose
		// signing key is in the OS keyring: only the demo is left.
		c := s.showKeyChoice("The data folder is not open",
			"This data folder keeps its signing key in the OS keyring, so it opens only once the keyring is available.", false)
		c.keyFile.Hide()
	default:
		s.showFatal(err)
	}
}

// showFatal says in one sentence why the store did not open; dismissing it
// quits.
func (s *session) showFatal(err error) {
	d := dialog.NewError(errors.New(sentence(err)), s.w)
	d.SetOnClosed(s.env.quit)
	d.Show()
}

// workspace returns the opened workspace, or nil while a restore has it
// closed.
func (s *session) workspace() *workspace.Workspace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b
}

// suspendUI replaces the screens by the placeholder while a restore has
// the store closed; it runs on the UI goroutine.
func (s *session) suspendUI() {
	s.w.SetMainMenu(nil)
	s.w.SetContent(restoringPlaceholder())
}

// suspend stops the background work and closes the data folder, so that a
// restore can replace it; it runs off the UI goroutine, after suspendUI.
func (s *session) suspend() {
	s.mu.Lock()
	stop, b := s.stop, s.b
	s.stop, s.b = func() {}, nil
	s.mu.Unlock()
	stop()
	if b != nil {
		if err := b.Close(); err != nil {
			slog.Error("close the data folder for a restore", "error", err)
		}
	}
}

// resume opens the data folder again, off the UI goroutine, and returns
// what shows the screens (or the error, whose dismissal quits) on the UI
// goroutine.
func (s *session) resume() func() {
	s.mu.Lock()
	open := s.open
	s.mu.Unlock()
	b, err := open()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			if b != nil {
				b.Close()
			}
			return
		}
		if err != nil {
			s.err = err
			s.showOpenError(err)
			return
		}
		s.b = b
		s.stop = showMainUI(s.w, s.env, b, s)
	}
}

// finish runs after the window has closed: it waits for open to return,
// stops the background work, closes the data folder and returns open's
// error, if any.
func (s *session) finish() error {
	<-s.opened
	s.mu.Lock()
	s.closed = true
	stop, b := s.stop, s.b
	s.b = nil
	s.mu.Unlock()
	stop()
	if b != nil {
		if err := b.Close(); err != nil {
			return fmt.Errorf("close the data folder: %w", err)
		}
	}
	return s.err
}

// localOptions are the window's options for its data folder (or the demo).
func (s *session) localOptions() workspace.Options {
	o := s.opts
	o.StoreURL = ""
	// The table first; the folder's checks run after it (see
	// watchChecks).
	o.CheckLater = true
	return o
}

// openLocal opens the window's data folder (off the UI goroutine): with the
// key file when it was chosen (--keyfile, or in the window) or when the
// folder already keeps its signing key in keydesk.key, else with the OS
// keyring.
func (s *session) openLocal() (*workspace.Workspace, error) {
	o := s.localOptions()
	if o.Demo {
		return workspace.Open(o)
	}
	if o.KeyFile || s.kf.isChosen() {
		return s.openKeyFile()
	}
	dir := o.Dir
	if dir == "" {
		d, err := workspace.DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if ok, err := workspace.KeyFileExists(dir); err == nil && ok {
		return s.openKeyFile()
	}
	return workspace.Open(o)
}

// openKeyFile opens the window's data folder with its signing key in
// keydesk.key (off the UI goroutine). Without a passphrase (none typed yet,
// none from the command line) it fails with needPassphraseError, as it does
// after a wrong one, which it forgets.
func (s *session) openKeyFile() (*workspace.Workspace, error) {
	o := s.localOptions()
	o.Keyring, o.KeyFile, o.Demo = nil, true, false
	pass, have, given := s.kf.source(o.Passphrase)
	o.Passphrase = func(create bool) (string, error) {
		switch {
		case have:
			return pass, nil
		case given != nil:
			return given(create)
		}
		return "", &needPassphraseError{create: create}
	}
	b, err := workspace.Open(o)
	if errors.Is(err, envelope.ErrWrongPassphrase) {
		s.kf.wrong(have)
		return nil, fmt.Errorf("open the key file: %w", &needPassphraseError{wrong: true})
	}
	return b, err
}

// useKeyFile opens the data folder with its signing key in keydesk.key,
// asking for the passphrase (UI goroutine).
func (s *session) useKeyFile() {
	s.kf.choose()
	s.retry(s.openLocal)
}

// openDemo opens the demo store in place of a data folder that could not
// be opened.
func (s *session) openDemo() {
	o := s.localOptions()
	s.retry(func() (*workspace.Workspace, error) {
		return workspace.Open(workspace.Options{Demo: true, Now: o.Now, CatalogFile: o.CatalogFile})
	})
}

// retry opens the store again in the background after its error was shown
// (UI goroutine): with open from now on, or with the same opener when open
// is nil (a passphrase was typed).
func (s *session) retry(open func() (*workspace.Workspace, error)) {
	s.mu.Lock()
	s.err = nil
	if open != nil {
		s.open = open
	}
	s.mu.Unlock()
	s.env.bg.run(s.resume)
}

// reopen opens another store with open off the UI goroutine; once it is
// open, the background work of the current one stops, its store closes and
// the new screens are shown. then runs on the UI goroutine with open's
// error (the current store then stays).
func (s *session) reopen(w fyne.Window, env *uiEnv, open func() (*workspace.Workspace, error), then func(error)) {
	env.bg.run(func() func() {
		b, err := open()
		if err != nil {
			return func() { then(err) }
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = b.Close()
			return nil
		}
		old, stop := s.b, s.stop
		s.b, s.stop, s.open = b, func() {}, open
		s.mu.Unlock()
		stop()
		if old != nil {
			if err := old.Close(); err != nil {
				slog.Error("could not close the store", "error", err)
			}
		}
		return func() {
			s.mu.Lock()
			if !s.closed {
				s.stop = showMainUI(w, env, b, s)
			}
			s.mu.Unlock()
			then(nil)
		}
	})
}
