package gui

import (
	"errors"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/workspace"
)

// prefSharedStoreURL is the preference holding the URL of the shared store
// last opened from the window, without its password (which is kept in the
// OS keyring): the Open Shared Store dialog offers it again.
const prefSharedStoreURL = "store.shared.url"

func (u uiPrefs) sharedStoreURL() string {
	if u.p == nil {
		return ""
	}
	return u.p.String(prefSharedStoreURL)
}

func (u uiPrefs) setSharedStoreURL(s string) {
	if u.p != nil {
		u.p.SetString(prefSharedStoreURL, s)
	}
}

// prefLastStore is the preference saying which kind of store the window
// showed last: lastShared (the one at prefSharedStoreURL) or lastLocal. A
// window started without naming a store reopens a shared one.
const prefLastStore = "store.last"

// Values of prefLastStore.
const (
	lastShared = "shared"
	lastLocal  = "local"
)

// lastSharedURL returns the URL (without its password) of the shared store
// the window showed last, or "" when it showed a data folder last.
func (u uiPrefs) lastSharedURL() string {
	if u.p == nil || u.p.String(prefLastStore) != lastShared {
		return ""
	}
	return u.sharedStoreURL()
}

// rememberShown keeps which store the window shows: a shared store's URL
// (never its password) or that it is a data folder; the demo changes
// nothing.
func rememberShown(env *uiEnv, b *workspace.Workspace) {
	if env.prefs.p == nil || b.Kind() == workspace.KindDemo {
		return
	}
	if b.Kind() != workspace.KindShared {
		env.prefs.p.SetString(prefLastStore, lastLocal)
		return
	}
	clean, _, err := splitPassword(b.URL())
	if err != nil {
		return
	}
	env.prefs.setSharedStoreURL(clean)
	env.prefs.p.SetString(prefLastStore, lastShared)
}

// chosen reports whether opts name a store (--store, KEYDESK_STORE, --data,
// KEYDESK_DATA, --demo or --keyfile): otherwise the window may reopen the
// shared store it showed last.
func chosen(opts workspace.Options) bool {
	return opts.Dir != "" || opts.StoreURL != "" || opts.Demo || opts.KeyFile
}

// lastSharedError is the failure to reopen the shared store the window
// showed last: its dialog offers the local data folder.
type lastSharedError struct{ err error }

func (e *lastSharedError) Error() string { return e.err.Error() }
func (e *lastSharedError) Unwrap() error { return e.err }

// splitPassword returns the store URL raw without its password (in the user
// part or the password parameter) and that password.
func splitPassword(raw string) (clean, password string, err error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return "", "", workspace.ErrBadURL
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			password = pw
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	if q.Has("password") {
		if password == "" {
			password = q.Get("password")
		}
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String(), password, nil
}

// withPassword returns the clean store URL with password set in its user
// part, or in its password parameter when it names no user (which is then
// the OS user's name, as without a password).
func withPassword(clean, password string) string {
	if password == "" {
		return clean
	}
	u, err := url.Parse(clean)
	if err != nil {
		return clean
	}
	if u.User == nil || u.User.Username() == "" {
		q := u.Query()
		q.Set("password", password)
		u.RawQuery = q.Encode()
		return u.String()
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

// passwordNotKept says that a store's password could not go into the
// keyring (the store is open all the same).
const passwordNotKept = "The store's password could not be kept in the OS keyring; type it again next time, or use PGPASSWORD or ~/.pgpass."

// storePasswordEntry names the keyring entry holding the password of the
// store at the clean URL.
func storePasswordEntry(clean string) string { return "store-password:" + clean }

// storeSwitcher opens another store in the running window: File → Open
// Shared Store… and File → Local Data Folder.
type storeSwitcher struct {
	s       *session
	keyring workspace.KeyringBackend
	// initial, when set (tests), is the opener the window started with;
	// local opens the data folder: initial when the window started on
	// one, else the default folder ($KEYDESK_DATA or the OS's per-user
	// one). Without initial, local opens the session's data folder
	// (session.openLocal).
	initial      func() (*workspace.Workspace, error)
	initialLocal bool
	known        bool // initialLocal is set (the first store was shown)
	// shown, if set, is called on the UI goroutine after another store
	// is shown (tests).
	shown func()
}

// local opens the data folder to go back to.
func (sw *storeSwitcher) local() (*workspace.Workspace, error) {
	if sw.initial == nil {
		return sw.s.openLocal()
	}
	if sw.initialLocal {
		return sw.initial()
	}
	return workspace.Open(workspace.Options{Dir: os.Getenv("KEYDESK_DATA"), Keyring: sw.keyringBackend()})
}

// sharedOptions are the options opening the shared store at storeURL: the
// ones the window started with (catalog, clock), their store replaced.
func (sw *storeSwitcher) sharedOptions(storeURL string) workspace.Options {
	o := sw.s.opts
	o.StoreURL, o.Dir, o.Demo, o.KeyFile, o.Passphrase = storeURL, "", false, false, nil
	o.Keyring = sw.keyring
	return o
}

// withSavedPassword returns the store URL raw with the password File → Open
// Shared Store… kept in the keyring for it, when raw has none and one is
// kept; otherwise raw as it is (PGPASSWORD and ~/.pgpass then apply). It
// asks the keyring: call it off the UI goroutine.
func (sw *storeSwitcher) withSavedPassword(raw string) string {
	clean, password, err := splitPassword(raw)
	if err != nil || password != "" {
		return raw
	}
	kept, err := sw.keyringBackend().Get(storePasswordEntry(clean))
	if err != nil || kept == "" {
		return raw
	}
	return withPassword(clean, kept)
}

// sharedOpener opens the shared store at raw with the password kept for
// it when raw has none; its errors are sharedError.
func (sw *storeSwitcher) sharedOpener(raw string) func() (*workspace.Workspace, error) {
	return func() (*workspace.Workspace, error) {
		b, err := workspace.Open(sw.sharedOptions(sw.withSavedPassword(raw)))
		if err != nil {
			return nil, &sharedError{err: err}
		}
		return b, nil
	}
}

// sharedError is the failure to open a shared store: unlike a data folder,
// it has no key file to offer when the OS keyring is missing.
type sharedError struct{ err error }

func (e *sharedError) Error() string { return e.err.Error() }
func (e *sharedError) Unwrap() error { return e.err }

// showLastSharedError says why the shared store shown last did not open
// again and offers the local data folder; Quit quits.
func (s *session) showLastSharedError(err error) *dialog.CustomDialog {
	msg := widget.NewLabel(sentence(err))
	msg.Wrapping = fyne.TextWrapWord
	var d *dialog.CustomDialog
	local := widget.NewButtonWithIcon("Open the local data folder", theme.FolderIcon(), func() {
		d.Hide()
		s.retry(s.openLocal)
	})
	local.Importance = widget.HighImportance
	quit := widget.NewButtonWithIcon("Quit", theme.CancelIcon(), func() {
		d.Hide()
		s.env.quit()
	})
	d = dialog.NewCustomWithoutButtons("The shared store did not open", msg, s.w)
	d.SetButtons([]fyne.CanvasObject{quit, local})
	fitDialog(d, 560)
	d.Show()
	return d
}

func (sw *storeSwitcher) keyringBackend() workspace.KeyringBackend {
	if sw.keyring == nil {
		return workspace.OSKeyring()
	}
	return sw.keyring
}

// addMenuItems adds Open Shared Store… and Local Data Folder to the File
// menu of the screens over b (before the separator above Quit, the only
// one newMainUI puts there).
func addMenuItems(menu *fyne.MainMenu, env *uiEnv, b *workspace.Workspace) {
	sw := env.stores
	if sw == nil || menu == nil || len(menu.Items) == 0 {
		return
	}
	if !sw.known {
		sw.known, sw.initialLocal = true, b.Kind() != workspace.KindShared
	}
	openItem := fyne.NewMenuItem("Open Shared Store…", func() { sw.showOpenDialog(env) })
	openItem.Icon = theme.StorageIcon()
	localItem := fyne.NewMenuItem("Local Data Folder", func() { sw.switchTo(env, sw.local, nil) })
	localItem.Icon = theme.FolderIcon()
	if b.Kind() == workspace.KindDemo {
		localItem.Action = func() { sw.leaveDemo(env) }
	}
	localItem.Disabled = b.Kind() == workspace.KindFolder
	addFileItems(menu, fyne.NewMenuItemSeparator(), openItem, localItem)
}

// leaveDemo opens the data folder in place of the demo ($KEYDESK_DATA or
// the OS's per-user folder, with its key file when it keeps one); if it
// cannot be opened the window says why and stays on the demo.
func (sw *storeSwitcher) leaveDemo(env *uiEnv) {
	s := sw.s
	s.opts.Demo = false
	sw.switchTo(env, s.openLocal, nil)
}

// sharedPasswordHint is the hint under Open Shared Store's password.
const sharedPasswordHint = "Kept in the OS keyring. Empty: the saved one, PGPASSWORD or ~/.pgpass."

// showOpenDialog asks for the shared store's URL (offering the last one)
// and an optional password, then opens it.
func (sw *storeSwitcher) showOpenDialog(env *uiEnv) {
	// Esc-aware fields and buttons (env.entry, env.button): Esc cancels
	// whatever has the focus.
	urlEntry := env.entry()
	urlEntry.SetPlaceHolder("postgres://user@host:5432/keydesk?sslmode=verify-full")
	urlEntry.SetText(env.prefs.sharedStoreURL())
	pwEntry := env.passwordEntry()
	// The placeholder is short enough for the field; what an empty
	// password means is the hint under it.
	pwEntry.SetPlaceHolder("optional")
	pwItem := widget.NewFormItem("Password", pwEntry)
	pwItem.HintText = sharedPasswordHint
	form := widget.NewForm(widget.NewFormItem("Store URL", urlEntry), pwItem)
	d := dialog.NewCustomWithoutButtons("Open Shared Store", form, env.win)
	open := env.button("Open", theme.ConfirmIcon(), func() {
		d.Hide()
		sw.openShared(env, urlEntry.Text, pwEntry.Text)
	})
	open.Importance = widget.HighImportance
	urlEntry.OnSubmitted = func(string) { open.OnTapped() }
	pwEntry.OnSubmitted = func(string) { open.OnTapped() }
	d.SetButtons([]fyne.CanvasObject{env.button("Cancel", theme.CancelIcon(), d.Hide), open})
	d.SetOnClosed(env.onEscape(d.Hide))
	d.Resize(fyne.NewSize(560, d.MinSize().Height))
	d.Show()
}

// openShared opens the shared store at raw (typed password, else the one
// in raw, else the one kept in the keyring for it). Once it is open, the
// URL without its password goes into the preferences and a new password
// into the keyring; on failure nothing is kept and the window stays on
// the store it shows.
func (sw *storeSwitcher) openShared(env *uiEnv, raw, typed string) {
	clean, inURL, err := splitPassword(raw)
	if err != nil {
		env.showErr(errors.New(sentence(err)))
		return
	}
	password := typed
	if password == "" {
		password = inURL
	}
	save := password != ""
	open := sw.sharedOpener(withPassword(clean, password))
	sw.switchTo(env, open, func() {
		env.prefs.setSharedStoreURL(clean)
		if !save {
			return
		}
		env.bg.run(func() func() {
			if err := sw.keyringBackend().Set(storePasswordEntry(clean), password); err != nil {
				slog.Warn("the shared store's password was not kept in the keyring", "error", err)
				return func() {
					env.showInfo("Password not kept", passwordNotKept)
				}
			}
			return nil
		})
	})
}

// switchTo opens another store with open (off the UI goroutine, a
// progress dialog meanwhile) and shows its screens in place of the current
// ones, then calls done; if it cannot be opened, the window says why in one
// sentence and stays as it is.
func (sw *storeSwitcher) switchTo(env *uiEnv, open func() (*workspace.Workspace, error), done func()) {
	bar := widget.NewProgressBarInfinite()
	wait := dialog.NewCustomWithoutButtons("Opening…", bar, env.win)
	wait.Show()
	sw.s.reopen(env.win, env, open, func(err error) {
		wait.Hide()
		var need *needPassphraseError
		switch {
		case errors.As(err, &need) && sw.s != nil:
			// The data folder's keydesk.key: ask for its passphrase,
			// then try again.
			sw.s.prompt = showPassphraseDialog(env, need, func(p string, ok bool) {
				sw.s.prompt = nil
				if ok {
					sw.s.kf.set(p)
					sw.switchTo(env, open, done)
				}
			})
		case err != nil:
			env.showErr(errors.New(sentence(err)))
		case done != nil:
			done()
		}
		if sw.shown != nil {
			sw.shown()
		}
	})
}
