package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/keydesk/keydesk/atomicfile"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/storage"
)

// Version is this Keydesk's version, recorded in backups; main sets it
// from FyneApp.toml, the version --version prints.
var Version = "0.1.0"

// SettingLastBackup is the setting holding when the last backup was taken
// (RFC 3339, UTC); unset means never.
const SettingLastBackup = "backup.last"

// BackupKind is the manifest kind of a backup (see package envelope).
const BackupKind = "backup"

// The files of a backup (see package envelope for the layout).
const (
	backupDB       = "keydesk.db"
	backupMaster   = "master.key"
	backupSMTPPass = "smtp.password"
)

// ErrNoFolder means the folder a backup is to be written to does not
// exist.
var ErrNoFolder = errors.New("folder does not exist")

// ErrNotDataFolder means a backup was asked of a workspace that is not a
// data folder (a shared store is backed up with PostgreSQL's tools and
// keydesk credential export).
var ErrNotDataFolder = errors.New("not a data folder")

// BackupInfo is what a backup holds.
type BackupInfo struct {
	// Path is the file written (empty for WriteBackup).
	Path string
	// TakenAt is when the copy was taken.
	TakenAt time.Time
	// KeyCount is the number of keys in the copy.
	KeyCount int
	// Generation is the copy's generation.
	Generation uint64
}

// WriteBackup writes an encrypted backup of w's store (a consistent copy
// taken inside one read transaction, so that the window or the server may
// keep changing the store meanwhile), its signing material and the SMTP
// password to out under passphrase (a new one: envelope.CheckNewPassphrase).
// It records nothing; Backup does. ctx cancels the writing.
func (w *Workspace) WriteBackup(ctx context.Context, out io.Writer, passphrase string) (BackupInfo, error) {
	if err := envelope.CheckNewPassphrase(passphrase); err != nil {
		return BackupInfo{}, err
	}
	snap, ok := w.store.(snapshotter)
	if !ok || w.keyring == nil {
		return BackupInfo{}, ErrNotDataFolder
	}
	mat, err := w.keyring.Material()
	if err != nil {
		return BackupInfo{}, fmt.Errorf("back up: %w", err)
	}
	info := BackupInfo{TakenAt: w.clock.Now().UTC()}
	err = snap.Snapshot(func(s storage.SnapshotInfo, copy io.WriterTo) error {
		info.KeyCount, info.Generation = s.KeyCount, s.Generation
		m := envelope.Manifest{
			Kind: BackupKind, KeydeskVersion: Version, StoreID: s.StoreID, TakenAt: info.TakenAt,
			KeyCount: s.KeyCount, Generation: s.Generation,
		}
		// The copy streams through a pipe; the transaction stays open
		// until the writer is done with it.
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err := copy.WriteTo(pw)
			pw.CloseWithError(err)
		}()
		files := []envelope.File{
			{Name: backupDB, Size: s.Size, Body: pr},
			envelope.Bytes(backupMaster, mat.Master),
		}
		if mat.MailPassword != "" {
			files = append(files, envelope.Bytes(backupSMTPPass, []byte(mat.MailPassword)))
		}
		err := envelope.Write(ctxWriter{ctx, out}, passphrase, m, files, envelope.Options{})
		pr.CloseWithError(errors.New("backup stopped"))
		<-done
		return err
	})
	if err != nil {
		return BackupInfo{}, fmt.Errorf("back up: %w", err)
	}
	return info, nil
}

// ctxWriter fails writes once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Backup writes an encrypted backup of w (see WriteBackup) to the file
// path: through a temporary file in the same folder, mode 0600, renamed
// over path once complete, so that path never holds half a backup. Then
// it records the backup in the audit log and the last-backup setting
// (LastBackup). A folder that does not exist fails with ErrNoFolder; a
// short or easily guessed passphrase with envelope.ErrShortPassphrase or
// envelope.ErrWeakPassphrase; nothing is written then.
func (w *Workspace) Backup(ctx context.Context, path, passphrase string) (BackupInfo, error) {
	if err := envelope.CheckNewPassphrase(passphrase); err != nil {
		return BackupInfo{}, err
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return BackupInfo{}, fmt.Errorf("back up to %s: %w", filepath.Dir(path), ErrNoFolder)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return BackupInfo{}, fmt.Errorf("back up to %s: it is a folder; name a file", path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return BackupInfo{}, fmt.Errorf("back up: %w", err)
	}
	if same, _ := sameFile(path, storage.Path(w.dir)); same {
		return BackupInfo{}, fmt.Errorf("back up to %s: that is the store itself", path)
	}
	var info BackupInfo
	err := atomicfile.Write(path, func(f *os.File) error {
		var err error
		info, err = w.WriteBackup(ctx, f, passphrase)
		return err
	})
	if err != nil {
		return BackupInfo{}, err
	}
	info.Path = path
	text, _ := info.TakenAt.MarshalText()
	ev := core.AuditEvent{
		Time: w.clock.Now(), Actor: w.service.Actor, Action: core.ActionBackup,
		Detail: fmt.Sprintf("encrypted backup of %d keys (generation %d) written to %s", info.KeyCount, info.Generation, filepath.Base(path)),
	}
	if err := w.store.PutSetting(SettingLastBackup, text, ev); err != nil {
		return info, fmt.Errorf("record the backup: %w", err)
	}
	return info, nil
}

func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// LastBackup returns when the last backup of w was taken, or the zero time
// when none was (or w is a shared store, which is not backed up here) (the window's Settings shows "never").
func (w *Workspace) LastBackup() (time.Time, error) {
	if w.kind == KindShared {
		return time.Time{}, nil
	}
	v, err := w.store.Setting(SettingLastBackup)
	if err != nil || v == nil {
		return time.Time{}, err
	}
	var t time.Time
	if err := t.UnmarshalText(v); err != nil {
		return time.Time{}, fmt.Errorf("%w: bad last backup time", storage.ErrCorrupt)
	}
	return t, nil
}
