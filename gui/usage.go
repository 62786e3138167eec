package gui

import (
	"sync"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

// windowUsage makes the usage recorder of the window's verification API
// the first time the API starts (it reads the store, so never on the UI
// goroutine), and keeps it while the window runs, so that switching the
// API off and on goes on counting the same day.
type windowUsage struct {
	b  *workspace.Workspace
	mu sync.Mutex
	r  *core.UsageRecorder
}

func (u *windowUsage) recorder() (*core.UsageRecorder, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.r == nil {
		r, err := u.b.UsageRecorder()
		if err != nil {
			return nil, err
		}
		u.r = r
	}
	return u.r, nil
}
