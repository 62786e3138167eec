package gui

import (
	"context"
	"errors"
	"log/slog"

	"github.com/keydesk/keydesk/workspace"
)

// forgedBanner is what the window says, above its tabs, once the data
// folder's records turn out not to match their signatures. The menu path
// is written "File > Restore…": Fyne 2.8.1 draws a space after "→" (a
// glyph of its fallback font) as a missing-glyph box.
const forgedBanner = "This data folder's records do not match their signatures: someone changed the file. " +
	"No key of it verifies any more; restore it from a backup (File > Restore…)."

// signatureWatcher tells the window the outcome of the data folder's
// background check of its record signatures, which starts once the folder
// is open. Workspace.Signatures satisfies it; tests fake it.
type signatureWatcher interface {
	// WaitSignatureCheck waits for the check to end, without hurrying it
	// (it runs at a low priority so that the window paints first), and
	// returns its result: an error wrapping workspace.ErrTampered when a
	// record's signature does not match it. The store then refuses every
	// read and change, and no key verifies any more.
	WaitSignatureCheck() error
}

// signaturesOf returns what tells the window of b's signature check: the
// one the session was given (tests), else b's data folder; nil for a
// shared store, whose records the shared store itself checks.
func signaturesOf(b *workspace.Workspace, s *session) signatureWatcher {
	if s != nil && s.signatures != nil {
		return s.signatures
	}
	if c := b.Signatures(); c != nil {
		return c
	}
	return nil
}

// watchSignatures waits, off the UI goroutine, for the data folder's check
// of its record signatures; if it finds a forged record, the window shows
// the banner and stops offering changes (refuseChanges). Nothing is shown
// once ctx ends (the screens were replaced or closed). The first paint
// does not wait for it.
func (ui *mainUI) watchSignatures(ctx context.Context, bg runner, w signatureWatcher) {
	if w == nil {
		return
	}
	bg.run(func() func() {
		err := w.WaitSignatureCheck()
		if !refusedFolder(err) {
			if err != nil {
				slog.Warn("check the data folder's record signatures", "error", err)
			}
			return nil
		}
		return func() {
			if ctx.Err() == nil {
				ui.refuseChanges()
			}
		}
	})
}

// refusedFolder reports whether err, from the data folder's checks, means
// the folder refuses every read and change: a forged record, or (the
// window opens a folder before it is checked against its signed state, see
// workspace.Options.CheckLater) records added, removed or replaced by
// hand, an older copy of the file, or a damaged one.
func refusedFolder(err error) bool {
	return errors.Is(err, workspace.ErrTampered) || errors.Is(err, workspace.ErrRolledBack) || errors.Is(err, workspace.ErrCorrupt)
}

// refuseChanges shows the banner above the tabs and turns off creating,
// editing, rolling and deleting keys, menu item and shortcut included:
// the store refuses every change from now on. File → Restore… stays.
func (ui *mainUI) refuseChanges() {
	ui.banner.Show()
	ui.top.Show()
	// The wrapped sentence knows its height once laid out at its width:
	// lay the window out again so that the banner takes it.
	ui.body.Refresh()
	ui.body.Refresh()
	if ui.newItem != nil && !ui.newItem.Disabled {
		ui.newItem.Disabled = true
		ui.menu.Refresh()
	}
	ui.keys.refuseChanges()
}
