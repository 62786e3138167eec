// Package guitest is the window fixture the tests of gui and gui/settings
// share: a real data folder with a fixed clock, a key service with
// deterministic secrets, and a test app and window in the app theme forced
// to one variant (so that golden images do not depend on the desktop's
// preference). Only tests import it.
package guitest

import (
	"image/color"
	"math/rand/v2"
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

// Now is the fixed time of the window's tests: a Thursday morning, before
// the 11:00 UTC digest slot.
var Now = time.Date(2026, 3, 12, 9, 30, 0, 0, time.UTC)

// Zone is the fixed local time zone of the window's tests.
var Zone = time.FixedZone("CET", 3600)

// Workspace opens a real data folder (bbolt under t.TempDir(), the
// in-memory keyring) with its clock fixed at now, closed when t ends.
func Workspace(t *testing.T, now time.Time) *workspace.Workspace {
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

// Service returns a key service over b's store and signing material with
// its own fixed clock and a deterministic source of secrets and ids.
func Service(t *testing.T, b *workspace.Workspace, now time.Time, seed byte) *core.Service {
	t.Helper()
	svc, err := core.NewService(b.Store(), b.Keyring().Signer(), core.FixedClock(now), b.Service().Catalog())
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	svc.Actor = "ana"
	svc.Rand = rand.NewChaCha8([32]byte{seed})
	return svc
}

// Create issues a key and returns it with its secret; it fails t when the
// service refuses.
func Create(t *testing.T, svc *core.Service, name string, lifetime core.Lifetime, perms core.Permissions) (*core.Key, string) {
	t.Helper()
	k, secret, err := svc.Create(core.CreateRequest{Name: name, Lifetime: lifetime, Permissions: perms})
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	return k, secret
}

// Variant returns th forced to one variant, so that golden images do not
// depend on the desktop's preference.
func Variant(th fyne.Theme, variant fyne.ThemeVariant) fyne.Theme {
	return variantTheme{th, variant}
}

// variantTheme is a theme forced to one variant.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

// Variants are the themes every golden image is taken in.
var Variants = []struct {
	Name    string
	Variant fyne.ThemeVariant
}{
	{"light", theme.VariantLight},
	{"dark", theme.VariantDark},
}

// App starts a test app with the app theme in variant.
func App(t *testing.T, variant fyne.ThemeVariant) fyne.App {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(Variant(widgets.NewAppTheme(), variant))
	SyncCacheClock()
	return a
}

// SyncCacheClock brings Fyne's render cache clock to now. The cache stamps
// every object it sees with that clock, which only a paint advances, and in
// the test driver only Capture paints: after more than a minute without
// one (a slow or -race run), a new window's objects are stamped as already
// expired, and the next Capture destroys their renderers before drawing
// them (TestSettingsGolden/light captured a blank window that way, in long
// runs only). Capturing an empty canvas advances the clock.
func SyncCacheClock() { software.NewCanvas().Capture() }

// Window shows content in a test window of the given size.
func Window(t *testing.T, content fyne.CanvasObject, w, h float32) fyne.Window {
	t.Helper()
	win := test.NewTempWindow(t, content)
	win.Resize(fyne.NewSize(w, h))
	return win
}
