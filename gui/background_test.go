package gui

import (
	"context"
	"image/color"
	"math/rand/v2"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/software"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/settings"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/workspace"
)

// vwNow is the fixed time of the views' tests: a Thursday morning, before
// the 11:00 UTC digest slot.
var vwNow = time.Date(2026, 3, 12, 9, 30, 0, 0, time.UTC)

// vwZone is the fixed local time zone of the views' tests.
var vwZone = time.FixedZone("CET", 3600)

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

// vwTheme is the default theme forced to one variant, so golden images do
// not depend on the desktop's preference.
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

// vwApp starts a test app with the default theme in variant.
func vwApp(t *testing.T, variant fyne.ThemeVariant) fyne.App {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(vwTheme{newAppTheme(), variant})
	syncCacheClock()
	return a
}

// syncCacheClock brings Fyne's render cache clock to now. The cache stamps
// every object it sees with that clock, which only a paint advances, and in
// the test driver only Capture paints: after more than a minute without
// one (a slow or -race run), a new window's objects are stamped as already
// expired, and the next Capture destroys their renderers before drawing
// them (TestSettingsGolden/light captured a blank window that way, in long
// runs only). Capturing an empty canvas advances the clock.
func syncCacheClock() { software.NewCanvas().Capture() }

// newTestWindow returns a window on the test driver in the default theme
// (the test theme has no bold monospace face), its environment and its
// runner.
func newTestWindow(t *testing.T) (fyne.Window, *uiEnv, *testRunner) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(theme.DefaultTheme())
	syncCacheClock()
	w := test.NewTempWindow(t, nil)
	env := newAppEnv(a, w)
	bg := &testRunner{}
	env.bg = bg
	return w, env, bg
}

// vwWindow shows content in a test window of the given size.
func vwWindow(t *testing.T, content fyne.CanvasObject, w, h float32) fyne.Window {
	t.Helper()
	win := test.NewTempWindow(t, content)
	win.Resize(fyne.NewSize(w, h))
	return win
}

func TestSettingsRunBackgroundFlushesAndStops(t *testing.T) {
	b := vwBackend(t, vwNow)
	vwApp(t, theme.VariantLight)
	_, secret := vwCreate(t, b.Service(), "Flushed", core.Lifetime{}, core.Permissions{Kind: core.KindGlobal})
	if res := b.Service().VerifyUse(secret, core.Target{}); !res.Allowed {
		t.Fatalf("verify: %+v", res)
	}
	k := b.Service().List()[0]
	if stored, _ := b.Store().GetKey(k.ID); !stored.LastUsedAt.IsZero() {
		t.Fatalf("last used written before any flush: %v", stored.LastUsedAt)
	}

	bg := &testRunner{}
	settings := &attachedSettings{View: settings.New(settings.WorkspaceSource(b), settings.ServiceVerifier(b.Service()), settingsUI{env: &uiEnv{bg: bg}})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runBackground(ctx, bg, b, settings)
	}()
	cancel()
	<-done

	stored, err := b.Store().GetKey(k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.LastUsedAt.Equal(vwNow) {
		t.Errorf("last used after runBackground = %v, want %v", stored.LastUsedAt, vwNow)
	}
	if settings.sched == nil {
		t.Error("runBackground did not attach the digest scheduler to the settings view")
	}
}

// attachedSettings is a Settings view that records the scheduler attached
// to it.
type attachedSettings struct {
	*settings.View
	sched *mail.Scheduler
}

func (s *attachedSettings) AttachScheduler(sched *mail.Scheduler) {
	s.sched = sched
	s.View.AttachScheduler(sched)
}
