package gui

import (
	"context"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/internal/guitest"
	"github.com/keydesk/keydesk/gui/settings"
	"github.com/keydesk/keydesk/mail"
)

// newTestWindow returns a window on the test driver in the default theme
// (the test theme has no bold monospace face), its environment and its
// runner.
func newTestWindow(t *testing.T) (fyne.Window, *uiEnv, *testRunner) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(theme.DefaultTheme())
	guitest.SyncCacheClock()
	w := test.NewTempWindow(t, nil)
	env := newAppEnv(a, w)
	bg := &testRunner{}
	env.bg = bg
	return w, env, bg
}

func TestSettingsRunBackgroundFlushesAndStops(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	guitest.App(t, theme.VariantLight)
	_, secret := guitest.Create(t, b.Service(), "Flushed", core.Lifetime{}, core.Permissions{Kind: core.KindGlobal})
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
	if !stored.LastUsedAt.Equal(guitest.Now) {
		t.Errorf("last used after runBackground = %v, want %v", stored.LastUsedAt, guitest.Now)
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
