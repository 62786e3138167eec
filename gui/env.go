package gui

import (
	"time"

	"fyne.io/fyne/v2"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/msg"
	"github.com/keydesk/keydesk/workspace"
)

// keysService is what the keys screen and its dialogs need from the key
// service; *core.Service satisfies it.
type keysService interface {
	List() []*core.Key
	Create(req core.CreateRequest) (*core.Key, string, error)
	Plan(req core.CreateRequest, now time.Time) (*core.Key, error)
	Rename(id, name string) (*core.Key, error)
	Delete(id string) (*core.Key, error)
	PlanRoll(id string, grace time.Duration) (core.RollPlan, error)
	Roll(id string, grace time.Duration) (core.Rolled, error)
	NameInUse(name string) bool
	Catalog() *core.Catalog
	Now() time.Time
}

var _ keysService = (*core.Service)(nil)

// uiEnv is what every screen of the window shares: the window, the
// clipboard, the time zone dates are shown in, and the bridge between the UI
// goroutine and background work. Tests inject their own bridge so that
// flows run deterministically and nothing sleeps.
type uiEnv struct {
	win       fyne.Window
	clipboard fyne.Clipboard
	loc       *time.Location
	prefs     uiPrefs

	// bg runs background work and brings its results to the widgets.
	bg runner
	// quit ends the app (fyne.App.Quit in the app): dismissing the error
	// shown when the data folder cannot be opened.
	quit func()

	// stores opens another store in the window (File menu); nil in
	// tests that do not switch.
	stores *storeSwitcher

	// demo is set while the window shows the demo (markDemo).
	demo bool

	// copied holds the secrets put on the clipboard and not yet taken off
	// it (UI goroutine only).
	copied map[string]struct{}

	// escapes are the Esc actions of the open dialogs, the top one last
	// (see onEscape).
	escapes []*func()
}

// newAppEnv returns the environment of the real window.
func newAppEnv(a fyne.App, w fyne.Window) *uiEnv {
	return &uiEnv{
		win:       w,
		clipboard: a.Clipboard(),
		loc:       time.Local,
		prefs:     uiPrefs{p: a.Preferences()},
		bg:        fyneRunner{},
		quit:      a.Quit,
	}
}

// Preference keys of the window's own state (not application settings).
const (
	prefSortColumn   = "keys.sort.column"
	prefSortDesc     = "keys.sort.descending"
	prefWindowWidth  = "window.width"
	prefWindowHeight = "window.height"
)

// Default window size: wide enough for every column of the keys table.
const (
	defaultWindowWidth  = 1180
	defaultWindowHeight = 720
)

// uiPrefs is typed access to the window state kept in fyne.Preferences.
type uiPrefs struct{ p fyne.Preferences }

func (u uiPrefs) sort() (column, bool) {
	if u.p == nil {
		return colCreated, true
	}
	c := column(u.p.IntWithFallback(prefSortColumn, int(colCreated)))
	if c < 0 || c >= colActions {
		c = colCreated
	}
	return c, u.p.BoolWithFallback(prefSortDesc, true)
}

func (u uiPrefs) setSort(c column, desc bool) {
	if u.p == nil {
		return
	}
	u.p.SetInt(prefSortColumn, int(c))
	u.p.SetBool(prefSortDesc, desc)
}

func (u uiPrefs) windowSize() fyne.Size {
	if u.p == nil {
		return fyne.NewSize(defaultWindowWidth, defaultWindowHeight)
	}
	w := u.p.FloatWithFallback(prefWindowWidth, defaultWindowWidth)
	h := u.p.FloatWithFallback(prefWindowHeight, defaultWindowHeight)
	if w < 640 || h < 400 {
		w, h = defaultWindowWidth, defaultWindowHeight
	}
	return fyne.NewSize(float32(w), float32(h))
}

func (u uiPrefs) setWindowSize(s fyne.Size) {
	if u.p == nil || s.Width < 640 || s.Height < 400 {
		return
	}
	u.p.SetFloat(prefWindowWidth, float64(s.Width))
	u.p.SetFloat(prefWindowHeight, float64(s.Height))
}

// sentence turns an error into one sentence for a dialog: the advice the
// command line gives for it too (workspace.Advice), else its text
// capitalised and ending with a full stop (msg.Sentence).
func sentence(err error) string {
	if err == nil {
		return ""
	}
	if a := workspace.Advice(err); a != "" {
		return a
	}
	if s := msg.Sentence(err.Error()); s != "" {
		return s
	}
	return "Something went wrong."
}

// onEscape makes close the Esc key's action while its dialog is the top
// one; call the returned function when the dialog closes. Dialogs opened
// later take Esc until they close (UI goroutine only).
func (e *uiEnv) onEscape(close func()) (done func()) {
	h := &close
	e.escapes = append(e.escapes, h)
	return func() {
		for i, x := range e.escapes {
			if x == h {
				e.escapes = append(e.escapes[:i], e.escapes[i+1:]...)
				return
			}
		}
	}
}

// escape runs the top dialog's Esc action; it reports whether there was
// one.
func (e *uiEnv) escape() bool {
	if len(e.escapes) == 0 {
		return false
	}
	(*e.escapes[len(e.escapes)-1])()
	return true
}
