package gui

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/keydesk/keydesk/workspace"
)

// checksRefresh is how often the counts line shows the progress of the
// data folder's checks.
const checksRefresh = 250 * time.Millisecond

// watchChecks starts the checks a data folder runs once its table's rows
// are read (workspace.Options.CheckLater: the records against their signed
// state, then each record's MAC; call it before the first reload), shows their progress at the end of the
// keys table's counts line, and reloads the table when they found a
// tampered record, so that its row shows the flag; then it hands the
// checks' garbage back to the OS. A failed seal is told by
// watchSignatures (the banner).
func (ui *mainUI) watchChecks(ctx context.Context, bg runner, b *workspace.Workspace) {
	if c, _ := b.Checks(); c.Done {
		return
	}
	ui.keys.afterRowsRead = b.StartChecks
	tick, stop := context.WithCancel(ctx)
	bg.every(tick, checksRefresh, func() {
		c, _ := b.Checks()
		ui.keys.setChecking(checkingText(c))
	})
	bg.run(func() func() {
		_, done := b.Checks()
		select {
		case <-done:
		case <-ctx.Done():
		}
		return func() {
			stop()
			if ctx.Err() != nil {
				return
			}
			ui.keys.setChecking("")
			if c, _ := b.Checks(); c.Tampered > 0 {
				ui.keys.reload()
			}
			bg.run(func() func() {
				debug.FreeOSMemory()
				traceMemory("after-checks")
				return nil
			})
		}
	})
}

// checkingText is the counts line's note while the checks of c run.
func checkingText(c workspace.Checks) string {
	switch {
	case c.Done:
		return ""
	case !c.Sealed:
		return "Checking the records against their signed state…"
	case c.Total > 0:
		return fmt.Sprintf("Checking the records: %d%%", c.Checked*100/c.Total)
	}
	return "Checking the records…"
}
