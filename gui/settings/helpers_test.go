package settings

import (
	"sync"

	"fyne.io/fyne/v2"

	"github.com/keydesk/keydesk/gui/internal/guitest"
	"github.com/keydesk/keydesk/workspace"
)

// minWindowWidth and minWindowHeight are the window's smallest size, at
// which every screen is usable.
const (
	minWindowWidth  = 800
	minWindowHeight = 500
)

// vwSettings returns the Settings view over b, its dates in guitest.Zone, in a
// test UI; its window, set later, parents its dialogs.
func vwSettings(b *workspace.Workspace) (*View, *testUI) {
	ui := &testUI{}
	v := New(WorkspaceSource(b), ServiceVerifier(b.Service()), ui)
	v.SetLocation(guitest.Zone)
	return v, ui
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
