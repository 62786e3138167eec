package gui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/gui/settings"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/workspace"
)

// backupRule is the passphrase rule the backup dialog shows.
var backupRule = fmt.Sprintf("At least %d characters, not easy to guess (several unrelated words work well). Keep it apart from the backup file: "+
	"without it the backup cannot be opened, and with it anyone holding the file has every key's signing material.", envelope.MinPassphrase)

// backupDialog is File → Back Up…: a passphrase typed twice, then the
// backup written off the UI goroutine with a progress bar.
type backupDialog struct {
	dlg      *dialog.CustomDialog
	pass     *widgets.EscEntry
	again    *widgets.EscEntry
	msg      *widget.Label
	progress *widget.ProgressBarInfinite
	start    *widgets.EscButton
	busy     bool
}

// backupFlow is File → Back Up… and File → Restore… over the session's
// data folder.
type backupFlow struct {
	s        *session
	env      *uiEnv
	settings *settings.View // shows the last backup; may be nil

	// chooseSave and chooseOpen ask for the backup file (the file
	// dialogs); tests replace them.
	chooseSave func(done func(path string))
	chooseOpen func(done func(path string))

	backup  *backupDialog
	restore *restoreDialog
}

func newBackupFlow(s *session, env *uiEnv, settings *settings.View) *backupFlow {
	f := &backupFlow{s: s, env: env, settings: settings}
	f.chooseSave = func(done func(string)) {
		d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
			// The dialog created the file empty; the backup replaces it
			// whole, or removes it if it fails (removeEmpty).
			if path, ok := chosenPath(w, err); ok {
				done(path)
			}
		}, env.win)
		d.SetFileName(backupFileName(time.Now(), env.loc))
		d.Show()
	}
	f.chooseOpen = func(done func(string)) {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if path, ok := chosenPath(r, err); ok {
				done(path)
			}
		}, env.win)
		d.Show()
	}
	return f
}

// menuItems are the File menu's Back Up… and Restore… items.
// backupFileName is the name File → Back Up… suggests: the day in the
// window's time zone, and the .kdbackup ending the README and the command
// line use.
func backupFileName(now time.Time, loc *time.Location) string {
	return "keydesk-backup-" + now.In(loc).Format("2006-01-02") + ".kdbackup"
}

func (f *backupFlow) menuItems() []*fyne.MenuItem {
	b := fyne.NewMenuItem("Back Up…", func() { f.chooseSave(func(p string) { f.openBackup(p) }) })
	b.Icon = theme.DownloadIcon()
	r := fyne.NewMenuItem("Restore…", func() { f.chooseOpen(func(p string) { f.openRestore(p) }) })
	r.Icon = theme.UploadIcon()
	return []*fyne.MenuItem{b, r}
}

// loadLastBackup shows the last backup in Settings.
func (f *backupFlow) loadLastBackup(ws *workspace.Workspace) {
	if f.settings == nil || ws == nil || ws.Kind() == workspace.KindShared {
		return
	}
	f.env.bg.run(func() func() {
		t, err := ws.LastBackup()
		return func() { f.settings.SetLastBackup(t, err, f.env.loc) }
	})
}

// openBackup asks for the passphrase of a backup to path.
func (f *backupFlow) openBackup(path string) *backupDialog {
	d := &backupDialog{pass: f.env.passwordEntry(), again: f.env.passwordEntry(), msg: newFieldMessage(),
		progress: widget.NewProgressBarInfinite()}
	d.progress.Stop()
	d.progress.Hide()
	rule := widget.NewLabel(backupRule)
	rule.Wrapping = fyne.TextWrapWord
	rule.Importance = widget.LowImportance
	intro := widget.NewLabel("The backup holds every key record, this folder's signing key and the e-mail password, encrypted with the passphrase (the age format). It is written to:\n" + path)
	intro.Wrapping = fyne.TextWrapWord
	d.pass.SetPlaceHolder("Passphrase")
	d.again.SetPlaceHolder("The same passphrase again")
	d.start = f.env.button("Back Up", theme.DocumentSaveIcon(), func() { f.runBackup(d, path) })
	d.start.Importance = widget.HighImportance
	d.again.OnSubmitted = func(string) { f.runBackup(d, path) }
	cancel := f.env.button("Cancel", theme.CancelIcon(), func() {
		if !d.busy {
			d.dlg.Hide()
			f.env.bg.run(func() func() {
				removeEmpty(path)
				return nil
			})
		}
	})
	content := container.NewVBox(intro, d.pass, d.again, secondaryText(rule), d.msg, d.progress)
	// Esc is Cancel (nothing is written until Back Up).
	d.dlg = f.showPassphraseDialog("Back up the keys", content, 560, d.pass, cancel, d.start)
	f.backup = d
	return d
}

// showPassphraseDialog shows the dialog of a backup or a restore, width
// wide: content over the buttons, cancel first, then the others. Esc is
// cancel's action; the focus starts in pass, the passphrase.
func (f *backupFlow) showPassphraseDialog(title string, content fyne.CanvasObject, width float32, pass *widgets.EscEntry, cancel *widgets.EscButton, others ...fyne.CanvasObject) *dialog.CustomDialog {
	d := dialog.NewCustomWithoutButtons(title, content, f.env.win)
	d.SetButtons(append([]fyne.CanvasObject{cancel}, others...))
	d.Resize(fyne.NewSize(width, d.MinSize().Height+20))
	d.SetOnClosed(f.env.onEscape(cancel.OnTapped))
	d.Show()
	f.env.win.Canvas().Focus(pass)
	return d
}

// runBackup checks the passphrases and writes the backup off the UI
// goroutine.
func (f *backupFlow) runBackup(d *backupDialog, path string) {
	if d.busy {
		return
	}
	pass := d.pass.Text
	if err := envelope.CheckNewPassphrase(pass); err != nil {
		setMessage(d.msg, sentence(err), widget.DangerImportance)
		return
	}
	if pass != d.again.Text {
		setMessage(d.msg, "The two passphrases differ.", widget.DangerImportance)
		return
	}
	ws := f.s.workspace()
	if ws == nil {
		return
	}
	d.busy = true
	d.start.Disable()
	setMessage(d.msg, "", widget.MediumImportance)
	d.progress.Show()
	d.progress.Start()
	f.env.bg.run(func() func() {
		info, err := ws.Backup(context.Background(), path, pass)
		if err != nil {
			removeEmpty(path)
		}
		return func() {
			d.busy = false
			d.progress.Stop()
			d.progress.Hide()
			d.start.Enable()
			if err != nil {
				setMessage(d.msg, "The backup was not written: "+lowerFirst(sentence(err)), widget.DangerImportance)
				return
			}
			d.pass.SetText("")
			d.again.SetText("")
			d.dlg.Hide()
			f.loadLastBackup(ws)
			f.env.showInfo("Backup written",
				fmt.Sprintf("Backed up %d keys to %s (taken %s).", info.KeyCount, info.Path, formatUTC(info.TakenAt)))
		}
	})
}

// removeEmpty removes path if it is an empty file: the one the file save
// dialog created for a backup that was not written.
func removeEmpty(path string) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		os.Remove(path)
	}
}

// restoreDialog is File → Restore…: the passphrase and the warning, then
// what the backup holds and which deleted keys come back, then Restore.
type restoreDialog struct {
	dlg     *dialog.CustomDialog
	pass    *widgets.EscEntry
	msg     *widget.Label
	summary *widget.Label
	check   *widgets.EscButton
	restore *widgets.EscButton
	pending *workspace.PendingRestore
	busy    bool
	// keyFile: the folder keeps its signing key in keydesk.key, whose
	// passphrase becomes the backup's once the restore is made.
	keyFile bool
}

// restoreWarning says what a restore does to the keys of the folder.
const restoreWarning = "Restoring replaces this data folder's keys by the backup's. Keys created since the backup stop " +
	"working (the current store is kept beside it as keydesk.db.replaced-…), and keys deleted since the backup come back: " +
	"Keydesk lists them before anything changes. The window closes its store while it checks the backup."

// openRestore asks for the passphrase of the backup file path.
func (f *backupFlow) openRestore(path string) *restoreDialog {
	d := &restoreDialog{pass: f.env.passwordEntry(), msg: newFieldMessage(), summary: widget.NewLabel("")}
	d.summary.Wrapping = fyne.TextWrapWord
	d.summary.Hide()
	warn := widget.NewLabel(restoreWarning)
	warn.Wrapping = fyne.TextWrapWord
	warn.Importance = widget.WarningImportance
	d.pass.SetPlaceHolder("The backup's passphrase")
	d.check = f.env.button("Check Backup", theme.SearchIcon(), func() { f.checkRestore(d, path) })
	d.check.Importance = widget.HighImportance
	d.pass.OnSubmitted = func(string) { f.checkRestore(d, path) }
	d.restore = f.env.button("Restore", theme.UploadIcon(), func() { f.commitRestore(d) })
	d.restore.Importance = widget.DangerImportance
	d.restore.Hide()
	cancel := f.env.button("Cancel", theme.CancelIcon(), func() { f.cancelRestore(d) })
	content := container.NewVBox(widget.NewLabel("Backup file: "+path), warn, d.pass, d.msg, d.summary)
	// Esc is Cancel: nothing is restored until Restore.
	d.dlg = f.showPassphraseDialog("Restore from a backup", content, 600, d.pass, cancel, d.check, d.restore)
	f.restore = d
	return d
}

// checkRestore closes the window's store, decrypts and checks the backup
// (workspace.PrepareRestore, which changes nothing), and shows what it
// holds. On a failure the store opens again and the dialog says why.
func (f *backupFlow) checkRestore(d *restoreDialog, path string) {
	if d.busy || d.pending != nil {
		return
	}
	ws := f.s.workspace()
	if ws == nil {
		return
	}
	if ws.Kind() != workspace.KindFolder {
		setMessage(d.msg, "Only a data folder can be restored into; this window shows the demo or a shared store.", widget.DangerImportance)
		return
	}
	dir := ws.Dir()
	pass := d.pass.Text
	d.busy = true
	d.check.Disable()
	setMessage(d.msg, "Checking the backup…", widget.MediumImportance)
	f.s.suspendUI()
	f.env.bg.run(func() func() {
		f.s.suspend()
		p, keyFile, err := f.prepare(dir, path, pass)
		var reopen func()
		if err != nil {
			reopen = f.s.resume()
		}
		return func() {
			d.busy = false
			if reopen != nil {
				reopen()
			}
			if err != nil {
				d.check.Enable()
				setMessage(d.msg, sentence(err), widget.DangerImportance)
				return
			}
			d.pending, d.keyFile = p, keyFile
			d.pass.Disable()
			d.check.Hide()
			d.restore.Show()
			setMessage(d.msg, "", widget.MediumImportance)
			summary := restoreSummary(p, f.env.loc)
			if keyFile {
				summary += "\nThis folder keeps its signing key in keydesk.key: after the restore, its passphrase is the backup's."
			}
			d.summary.SetText(summary)
			d.summary.Show()
			d.dlg.Resize(fyne.NewSize(600, d.dlg.MinSize().Height+20))
		}
	})
}

// prepare opens the backup file and prepares its restore into dir; keyFile
// says that dir keeps its signing key in keydesk.key.
func (f *backupFlow) prepare(dir, path, pass string) (p *workspace.PendingRestore, keyFile bool, err error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("open the backup: %w", err)
	}
	defer file.Close()
	keyFile, err = workspace.KeyFileExists(dir)
	if err != nil {
		return nil, false, err
	}
	p, err = workspace.PrepareRestore(context.Background(), file, workspace.RestoreOptions{
		Dir: dir, Passphrase: pass, Force: true, Keyring: f.s.opts.Keyring, KeyFile: keyFile,
	})
	return p, keyFile, err
}

// restoreSummary says what the backup holds and which deleted keys come
// back.
func restoreSummary(p *workspace.PendingRestore, loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The backup was taken %s and holds %s (%d expired).", formatUTC(p.Manifest.TakenAt), plural(p.KeyCount, "key", "keys"), p.Expired)
	if len(p.DeletedSince) == 0 {
		b.WriteString(" No key deleted since then comes back.")
		return b.String()
	}
	fmt.Fprintf(&b, "\nThese %d keys were deleted after the backup and come back:", len(p.DeletedSince))
	for i, ev := range p.DeletedSince {
		if i == maxTipScopes {
			fmt.Fprintf(&b, "\nand %d more", len(p.DeletedSince)-maxTipScopes)
			break
		}
		fmt.Fprintf(&b, "\n• %s (id %s), deleted %s by %s", ev.KeyName, ev.KeyID, formatDateTime(ev.Time, loc), ev.Actor)
	}
	return b.String()
}

// commitRestore makes the checked backup live, then opens the store again.
func (f *backupFlow) commitRestore(d *restoreDialog) {
	p := d.pending
	if d.busy || p == nil {
		return
	}
	d.busy = true
	d.restore.Disable()
	pass := d.pass.Text
	f.env.bg.run(func() func() {
		res, err := p.Commit()
		if err == nil && d.keyFile {
			// keydesk.key is now locked with the backup's passphrase:
			// the window opens it with that one, without asking.
			f.s.kf.set(pass)
		}
		reopen := f.s.resume()
		return func() {
			d.busy = false
			d.pending = nil
			d.dlg.Hide()
			reopen()
			if err != nil {
				f.env.showErr(errors.New("Nothing was restored: " + lowerFirst(sentence(err))))
				return
			}
			f.env.showInfo("Restored", res.String())
		}
	})
}

// cancelRestore drops a checked backup and opens the store again.
func (f *backupFlow) cancelRestore(d *restoreDialog) {
	if d.busy {
		return
	}
	d.dlg.Hide()
	p := d.pending
	if p == nil {
		return
	}
	d.pending = nil
	f.env.bg.run(func() func() {
		p.Abort()
		return f.s.resume()
	})
}
