package settings

import (
	"image/color"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/software"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/workspace"
)

// vwNow is the fixed time of the screen's tests: a Thursday morning,
// before the 11:00 UTC digest slot.
var vwNow = time.Date(2026, 3, 12, 9, 30, 0, 0, time.UTC)

// vwZone is the fixed local time zone of the screen's tests.
var vwZone = time.FixedZone("CET", 3600)

// minWindowWidth and minWindowHeight are the window's smallest size, at
// which every screen is usable.
const (
	minWindowWidth  = 800
	minWindowHeight = 500
)

// vwBackend opens a real data folder (bbolt under t.TempDir(), the
// in-memory keyring) with its clock fixed at now.
func vwBackend(t *testing.T, now time.Time) *workspace.Workspace {
	t.Helper()
	b, err := workspace.Open(workspace.Options{Dir: t.TempDir(), Now: now, Keyring: workspace.NewMemoryKeyring()})
	if err != nil {
		t.Fatalf("open workspace: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close workspace: %v", err)
		}
	})
	return b
}

// vwService returns a key service over b's store and signing material with
// its own fixed clock and a deterministic source of secrets and ids.
func vwService(t *testing.T, b *workspace.Workspace, now time.Time, seed byte) *core.Service {
	t.Helper()
	svc, err := core.NewService(b.Store(), b.Keyring().Signer(), core.FixedClock(now), b.Service().Catalog())
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	svc.Actor = "ana"
	svc.Rand = rand.NewChaCha8([32]byte{seed})
	return svc
}

// vwCreate issues a key and returns it with its secret.
func vwCreate(t *testing.T, svc *core.Service, name string, lifetime core.Lifetime, perms core.Permissions) (*core.Key, string) {
	t.Helper()
	k, secret, err := svc.Create(core.CreateRequest{Name: name, Lifetime: lifetime, Permissions: perms})
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	return k, secret
}

// vwSettings returns the Settings view over b, its dates in vwZone, in a
// test UI; its window, set later, parents its dialogs.
func vwSettings(b *workspace.Workspace) (*View, *testUI) {
	ui := &testUI{}
	v := New(WorkspaceSource(b), ServiceVerifier(b.Service()), ui)
	v.SetLocation(vwZone)
	return v, ui
}

// vwTheme is the app theme forced to one variant, so golden images do not
// depend on the desktop's preference.
type vwTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t vwTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

// vwVariants are the themes every golden image is taken in.
var vwVariants = []struct {
	name    string
	variant fyne.ThemeVariant
}{
	{"light", theme.VariantLight},
	{"dark", theme.VariantDark},
}

// vwApp starts a test app with the app theme in variant. Capturing an
// empty canvas brings Fyne's render cache clock to now (see the window's
// tests: a window made more than a minute after the last capture would be
// captured blank).
func vwApp(t *testing.T, variant fyne.ThemeVariant) fyne.App {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(vwTheme{widgets.NewAppTheme(), variant})
	software.NewCanvas().Capture()
	return a
}

// vwWindow shows content in a test window of the given size.
func vwWindow(t *testing.T, content fyne.CanvasObject, w, h float32) fyne.Window {
	t.Helper()
	win := test.NewTempWindow(t, content)
	win.Resize(fyne.NewSize(w, h))
	return win
}

// testUI is the tests' window. The test driver's fyne.Do runs its function
// at once on the goroutine that calls it, so the UI updates of background
// work are queued instead and run by wait on the test's goroutine, as the
// window's UI goroutine would run them.
type testUI struct {
	win fyne.Window

	wg     sync.WaitGroup
	mu     sync.Mutex
	queued []func()
	errors []error
	// escapes are the Esc actions the screen asked for; released counts
	// the dialogs that gave Esc back when they closed.
	escapes  []func()
	released int
}

var _ UI = (*testUI)(nil)

func (u *testUI) Run(work func() func()) {
	u.wg.Go(func() {
		if apply := work(); apply != nil {
			u.Do(apply)
		}
	})
}

func (u *testUI) Do(f func()) {
	u.mu.Lock()
	u.queued = append(u.queued, f)
	u.mu.Unlock()
}

func (u *testUI) Window() fyne.Window { return u.win }

func (u *testUI) OnEscape(close func()) func() {
	u.escapes = append(u.escapes, close)
	return func() { u.released++ }
}

// ShowError records err: the window's error dialog is its own to test.
func (u *testUI) ShowError(_, _ string, err error) { u.errors = append(u.errors, err) }

func (u *testUI) Sentence(err error) string { return err.Error() }

// wait blocks until every piece of work started so far (and any work its
// UI updates start) has finished and its UI update has run.
func (u *testUI) wait() {
	for {
		u.wg.Wait()
		u.mu.Lock()
		q := u.queued
		u.queued = nil
		u.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, apply := range q {
			apply()
		}
	}
}
