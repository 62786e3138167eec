package gui

import (
	"context"
	"runtime"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/assets"
	"github.com/keydesk/keydesk/gui/settings"
	"github.com/keydesk/keydesk/gui/widgets"
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
// store opts name off the UI goroutine (keyring prompts and a large store
// must not delay the first paint), then shows the screens. It blocks until
// the window is closed, stops the background work (digest scheduler,
// last-used flusher) and closes the store. If the store cannot be opened,
// the window says why in one sentence and Run returns that error once the
// dialog is dismissed, having written nothing; without an OS keyring it
// offers the key file (asking for its passphrase in the window when
// opts.Passphrase is nil) and the demo. opts may name a shared store
// (keydesk --store URL): its password, when the URL has none, is the one
// File → Open Shared Store… kept in the OS keyring, and the window then
// follows other admins' changes. When opts name no store at all (no Dir,
// StoreURL, Demo or KeyFile), the window reopens the shared store it showed
// last. File → Open Shared Store… and File → Local Data Folder switch
// stores in the running window.
func Run(opts workspace.Options) error {
	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	a.Settings().SetTheme(newAppTheme())
	w := a.NewWindow(windowTitle)
	env := newAppEnv(a, w)
	w.Resize(env.prefs.windowSize())
	s := startWindow(w, env, opts)
	w.ShowAndRun()
	return s.finish()
}

// newSession returns the session of window w, opening its store with
// open; start opens it.
func newSession(w fyne.Window, env *uiEnv, open func() (*workspace.Workspace, error)) *session {
	return &session{opened: make(chan struct{}), shown: make(chan struct{}), stop: func() {}, open: open, w: w, env: env}
}

// startWindow shows the placeholder in w and opens the store opts name in
// the background (Run): a shared store with its kept password, the data
// folder (with its key file, see keyfile_prompt.go), the demo, or, when
// opts name none, the shared store shown last. The screens, or what to do
// about an error, follow on the UI goroutine.
func startWindow(w fyne.Window, env *uiEnv, opts workspace.Options) *session {
	if env.stores == nil {
		env.stores = &storeSwitcher{}
	}
	sw := env.stores
	if sw.keyring == nil {
		sw.keyring = opts.Keyring
	}
	s := newSession(w, env, nil)
	s.opts = opts
	sw.s = s
	last := ""
	if !chosen(opts) {
		last = env.prefs.lastSharedURL()
	}
	s.open = func() (*workspace.Workspace, error) { return s.openFirst(sw, last) }
	s.start()
	return s
}

// openingPlaceholder is the window's content while the data folder opens.
func openingPlaceholder() fyne.CanvasObject {
	bar := widget.NewProgressBarInfinite()
	label := widget.NewLabel("Opening your keys…")
	label.Alignment = fyne.TextAlignCenter
	return container.NewCenter(container.NewVBox(label, container.NewGridWrap(fyne.NewSize(240, bar.MinSize().Height), bar)))
}

// restoringPlaceholder is the window's content while a restore has the
// store closed.
func restoringPlaceholder() fyne.CanvasObject {
	bar := widget.NewProgressBarInfinite()
	label := widget.NewLabel("Checking the backup… the keys come back in a moment.")
	label.Alignment = fyne.TextAlignCenter
	return container.NewCenter(container.NewVBox(label, container.NewGridWrap(fyne.NewSize(240, bar.MinSize().Height), bar)))
}

// showMainUI puts the screens into the window and starts the background
// work. It runs on the UI goroutine and returns the function that stops the
// background work and waits for it. s, when not nil, adds File → Back Up…
// and Restore… over its data folder.
func showMainUI(w fyne.Window, env *uiEnv, b *workspace.Workspace, s *session) (stop func()) {
	settings := settings.New(settings.WorkspaceSource(b), settings.ServiceVerifier(b.Service()), settingsUI{env, w})
	tryKey := newTryKeyView(b.Service(), w, env.bg)
	tryKey.req.onEscape = env.onEscape
	ui := newMainUI(env, b.Service(), tryKey, newActivityView(b, w, env.bg), settings)
	ui.keys.audit = b
	ui.keys.usage = b.UsageStore()
	ui.keys.usageShared = b.Kind() == workspace.KindShared
	traceKeysView(ui.keys)
	if s != nil && b.Kind() != workspace.KindShared {
		flow := newBackupFlow(s, env, settings)
		items := flow.menuItems()
		if b.Kind() == workspace.KindDemo {
			// The demo cannot be restored into: say so at once rather
			// than after the file and its passphrase.
			items[1].Label, items[1].Disabled = workspace.DemoNoRestore, true
		}
		addFileItems(ui.menu, items...)
		s.flow = flow
		flow.loadLastBackup(b)
	}
	if s != nil {
		s.catalog = newCatalogFlow(s, env)
		addFileItems(ui.menu, s.catalog.menuItems()...)
	}
	w.SetContent(ui.content)
	env.demo = false
	w.SetTitle(windowTitle)
	if b.Kind() == workspace.KindDemo && env.stores != nil {
		sw := env.stores
		ui.markDemo(env, func() { sw.leaveDemo(env) }, func() { sw.showOpenDialog(env) })
	}
	if s != nil {
		rememberShown(env, b)
	}
	addMenuItems(ui.menu, env, b)
	w.SetMainMenu(ui.menu)
	ctx, cancel := context.WithCancel(context.Background())
	// Before the first reload, which starts the data folder's checks.
	ui.watchChecks(ctx, env.bg, b)
	ui.keys.reload()
	settings.Load()

	done := make(chan struct{})
	go func() {
		defer close(done)
		runBackground(ctx, env.bg, b, settings)
	}()
	env.bg.every(ctx, relativeRefresh, ui.keys.tick)
	env.bg.every(ctx, usageRefresh, ui.keys.refreshUsage)
	// The data folder checks its records' signatures in the background
	// once open; the window is told the outcome, after it has painted.
	ui.watchSignatures(ctx, env.bg, signaturesOf(b, s))
	followed := followShared(ctx, env, b, ui.keys.reload)
	return func() {
		cancel()
		<-done
		<-followed
	}
}

// shortcutGap ends the label of a menu item with a shortcut: Fyne's own
// menu (Windows and Linux) leaves only its inner padding between the
// widest label and the shortcuts, so they read as one cramped line. macOS
// menus are native and spaced by the system.
const shortcutGap = "\u2003\u2003"

// spaceShortcuts widens the labels of m's items that have a shortcut by
// shortcutGap, once.
func spaceShortcuts(m *fyne.MainMenu) {
	if runtime.GOOS == "darwin" {
		return
	}
	for _, menu := range m.Items {
		for _, it := range menu.Items {
			if it.Shortcut != nil && !strings.HasSuffix(it.Label, shortcutGap) {
				it.Label += shortcutGap
			}
		}
	}
}

// addFileItems adds items to the File menu, before the separator above
// Quit.
func addFileItems(m *fyne.MainMenu, items ...*fyne.MenuItem) {
	if len(m.Items) == 0 {
		return
	}
	file := m.Items[0]
	at := len(file.Items)
	for i := len(file.Items) - 1; i >= 0; i-- {
		if file.Items[i].IsSeparator {
			at = i
			break
		}
	}
	file.Items = append(file.Items[:at:at], append(items, file.Items[at:]...)...)
}

// mainUI is the content of the main window: a tab per screen, the menu and
// the keyboard shortcuts.
type mainUI struct {
	keys    *keysView
	tabs    *container.AppTabs
	keysTab *container.TabItem
	menu    *fyne.MainMenu
	newItem *fyne.MenuItem
	// banner says, above the tabs, that the data folder's records were
	// found forged (hidden until then).
	banner *widgets.Banner
	// demo says, above the tabs, that the window shows the demo, with the
	// ways out (markDemo; hidden otherwise).
	demo       *fyne.Container
	demoBanner *widgets.Banner
	demoFolder *widget.Button
	demoShared *widget.Button
	top        *fyne.Container // the banners, hidden while both are
	body       *fyne.Container // the banners above the tabs
	content    fyne.CanvasObject
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
	ui.banner = widgets.NewBanner(forgedBanner, theme.ColorNameError)
	ui.banner.Hide()
	ui.demoBanner = widgets.NewBanner(workspace.DemoNotice, theme.ColorNameWarning)
	ui.demoFolder = widget.NewButtonWithIcon("Open a Data Folder", theme.FolderIcon(), nil)
	ui.demoShared = widget.NewButtonWithIcon("Open a Shared Store…", theme.StorageIcon(), nil)
	ui.demo = container.NewBorder(nil, nil, nil, container.NewCenter(container.NewHBox(ui.demoFolder, ui.demoShared)), ui.demoBanner)
	ui.demo.Hide()
	// The banners' box is hidden while both are, so that the tabs start
	// at the top (a visible empty box would still take the border's gap).
	ui.top = container.NewVBox(ui.banner, ui.demo)
	ui.top.Hide()
	ui.body = container.NewBorder(ui.top, nil, nil, nil, ui.tabs)
	// The window's minimum size is its content's: the floor keeps the
	// whole window (its menu bar and padding included) at least
	// minWindowWidth×minWindowHeight, the smallest size the keys table and
	// the create dialog are laid out for.
	ui.content = container.New(&windowFloor{}, ui.body)

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
	ui.newItem = newItem
	ui.menu = fyne.NewMainMenu(fyne.NewMenu("File", newItem, findItem, fyne.NewMenuItemSeparator(), quit))
	spaceShortcuts(ui.menu)

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

// markDemo says in the window's title and in a banner above the tabs that
// the window shows the demo, and offers the ways out: openFolder opens the
// data folder, openShared a shared store (UI goroutine). New keys' secret
// dialogs say it too (uiEnv.demo).
func (ui *mainUI) markDemo(env *uiEnv, openFolder, openShared func()) {
	env.demo = true
	env.win.SetTitle(workspace.DemoTitle)
	ui.demoFolder.OnTapped = openFolder
	ui.demoShared.OnTapped = openShared
	ui.demo.Show()
	ui.top.Show()
	// As refuseChanges: the wrapped sentence knows its height once laid
	// out at its width.
	ui.body.Refresh()
	ui.body.Refresh()
}

// mainTabs returns the screens' tabs when o is the main window's content
// (see newMainUI).
func mainTabs(o fyne.CanvasObject) (*container.AppTabs, bool) {
	if c, ok := o.(*fyne.Container); ok && len(c.Objects) == 1 {
		if _, floor := c.Layout.(*windowFloor); floor {
			o = c.Objects[0]
		}
	}
	if c, ok := o.(*fyne.Container); ok {
		for _, x := range c.Objects {
			if t, ok := x.(*container.AppTabs); ok {
				return t, true
			}
		}
	}
	t, ok := o.(*container.AppTabs)
	return t, ok
}
