package gui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/assets"
	"github.com/keydesk/keydesk/workspace"
)

// appID is the application id, as in FyneApp.toml.
const appID = "io.keydesk.app"

// windowTitle is the title of the main window.
const windowTitle = "Company API Keys"

// minWindowWidth and minWindowHeight are the smallest size of the window's
// content: every screen and dialog is usable at that size.
const (
	minWindowWidth  = 800
	minWindowHeight = 500
)

// relativeRefresh is how often relative times ("in 3 days") are redrawn.
const relativeRefresh = 30 * time.Second

// Run opens the window at once, with a "Opening …" placeholder, opens the
// data folder with open off the UI goroutine (keyring prompts and a large
// store must not delay the first paint), then shows the screens. It blocks
// until the window is closed, stops the background work (digest scheduler,
// last-used flusher) and closes the data folder. If the data folder cannot be
// opened, the window says why in one sentence and Run returns that error
// once the dialog is dismissed, having written nothing.
func Run(open func() (*workspace.Workspace, error)) error {
	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	w := a.NewWindow(windowTitle)
	env := newAppEnv(a, w)
	w.Resize(env.prefs.windowSize())
	s := startSession(w, env, open)
	w.ShowAndRun()
	return s.finish()
}

// session is one run of the window over one data folder.
type session struct {
	opened chan struct{} // closed once open has returned (b and err are set)
	shown  chan struct{} // closed once the screens or the error are shown
	b      *workspace.Workspace
	err    error

	mu     sync.Mutex
	stop   func() // stops the background work started with the screens
	closed bool   // finish has run: show nothing more
}

// startSession shows the placeholder in w and opens the data folder in the
// background; the screens (or the error dialog, whose dismissal quits the
// app) follow on the UI goroutine.
func startSession(w fyne.Window, env *uiEnv, open func() (*workspace.Workspace, error)) *session {
	s := &session{opened: make(chan struct{}), shown: make(chan struct{}), stop: func() {}}
	w.SetContent(openingPlaceholder())
	env.bg.run(func() func() {
		s.b, s.err = open()
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
				d := dialog.NewError(errors.New(sentence(s.err)), w)
				d.SetOnClosed(env.quit)
				d.Show()
				return
			}
			s.stop = showMainUI(w, env, s.b)
		}
	})
	return s
}

// finish runs after the window has closed: it waits for open to return,
// stops the background work, closes the data folder and returns open's
// error, if any.
func (s *session) finish() error {
	<-s.opened
	s.mu.Lock()
	s.closed = true
	stop := s.stop
	s.mu.Unlock()
	stop()
	if s.b != nil {
		if err := s.b.Close(); err != nil {
			return fmt.Errorf("close the data folder: %w", err)
		}
	}
	return s.err
}

// openingPlaceholder is the window's content while the data folder opens.
func openingPlaceholder() fyne.CanvasObject {
	bar := widget.NewProgressBarInfinite()
	label := widget.NewLabel("Opening your keys…")
	label.Alignment = fyne.TextAlignCenter
	return container.NewCenter(container.NewVBox(label, container.NewGridWrap(fyne.NewSize(240, bar.MinSize().Height), bar)))
}

// showMainUI puts the screens into the window and starts the background
// work. It runs on the UI goroutine and returns the function that stops the
// background work and waits for it.
func showMainUI(w fyne.Window, env *uiEnv, b *workspace.Workspace) (stop func()) {
	settings := newSettingsView(workspaceSettings{b}, verifierOnly{b.Service}, w, env.bg)
	ui := newMainUI(env, b.Service, newTryKeyView(b.Service, w, env.bg), newActivityView(b.Store, w, env.bg), settings)
	traceKeysView(ui.keys)
	w.SetContent(ui.content)
	w.SetMainMenu(ui.menu)
	ui.keys.reload()
	settings.load()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runBackground(ctx, env.bg, b, settings)
	}()
	env.bg.every(ctx, relativeRefresh, ui.keys.tick)
	return func() {
		cancel()
		<-done
	}
}

// mainUI is the content of the main window: a tab per screen, the menu and
// the keyboard shortcuts.
type mainUI struct {
	keys    *keysView
	tabs    *container.AppTabs
	keysTab *container.TabItem
	menu    *fyne.MainMenu
	content fyne.CanvasObject
}

// newMainUI builds the window content around the keys screen and the other
// three screens.
func newMainUI(env *uiEnv, svc keysService, tryKey, activity, settings fyne.CanvasObject) *mainUI {
	ui := &mainUI{keys: newKeysView(svc, env)}
	ui.keysTab = container.NewTabItemWithIcon("Keys", keyIcon, ui.keys)
	ui.tabs = container.NewAppTabs(
		ui.keysTab,
		container.NewTabItemWithIcon("Try a key", theme.MediaPlayIcon(), tryKey),
		container.NewTabItemWithIcon("Activity", theme.HistoryIcon(), activity),
		container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), settings),
	)
	// The window's minimum size is its content's: a transparent spacer
	// keeps the content at least minWindowWidth×minWindowHeight, the
	// smallest size the keys table and the create dialog are laid out for.
	floor := canvas.NewRectangle(color.Transparent)
	floor.SetMinSize(fyne.NewSize(minWindowWidth, minWindowHeight))
	ui.content = container.NewStack(floor, ui.tabs)

	newKey := func() {
		ui.tabs.Select(ui.keysTab)
		ui.keys.openCreate(nil)
	}
	find := func() {
		ui.tabs.Select(ui.keysTab)
		ui.keys.focusSearch()
	}
	ctrl := func(k fyne.KeyName) *desktop.CustomShortcut {
		return &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}
	}
	newItem := fyne.NewMenuItem("New API Key…", newKey)
	newItem.Shortcut = ctrl(fyne.KeyN)
	newItem.Icon = theme.ContentAddIcon()
	findItem := fyne.NewMenuItem("Find Key", find)
	findItem.Shortcut = ctrl(fyne.KeyF)
	findItem.Icon = theme.SearchIcon()
	// Quit closes the window, as Fyne's own Quit item does, which quits
	// the app: the window's close handler takes a copied key off the
	// clipboard and saves the window's size.
	quit := fyne.NewMenuItem("Quit", env.win.Close)
	quit.IsQuit = true
	quit.Shortcut = ctrl(fyne.KeyQ)
	ui.menu = fyne.NewMainMenu(fyne.NewMenu("File", newItem, findItem, fyne.NewMenuItemSeparator(), quit))

	// Shortcuts also work when nothing has the focus (the menu handles
	// them when a widget does).
	env.win.SetOnClosed(func() {
		env.clearCopiedSecrets()
		env.prefs.setWindowSize(env.win.Canvas().Size())
	})

	c := env.win.Canvas()
	// Esc closes the top dialog when no field has the focus (the dialogs'
	// fields hand it on themselves, see widgets.EscEntry).
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if ev.Name == fyne.KeyEscape {
			env.escape()
		}
	})
	c.AddShortcut(ctrl(fyne.KeyN), func(fyne.Shortcut) { newKey() })
	c.AddShortcut(ctrl(fyne.KeyF), func(fyne.Shortcut) { find() })
	return ui
}

// mainTabs returns the screens' tabs when o is the main window's content.
func mainTabs(o fyne.CanvasObject) (*container.AppTabs, bool) {
	if c, ok := o.(*fyne.Container); ok && len(c.Objects) == 2 {
		o = c.Objects[1]
	}
	t, ok := o.(*container.AppTabs)
	return t, ok
}
