package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/storage"
)

// Restore errors callers branch on (besides envelope's, for the file).
var (
	// ErrStoreExists means the data folder already holds a store and
	// the restore was not forced.
	ErrStoreExists = errors.New("data folder already holds a store")
	// ErrBadBackup means the backup decrypted but its contents fail
	// their checks (a record that does not verify, a copy that does not
	// match its manifest).
	ErrBadBackup = errors.New("backup contents fail their checks")
)

// MaxStoreCopy is the largest store copy a backup may hold; a manifest
// claiming more is refused (envelope.ErrUnsafe) before anything is written.
const MaxStoreCopy = 8 << 30

// maxSMTPPassword bounds a backup's SMTP password.
const maxSMTPPassword = 4 << 10

// backupFiles are the files a backup may hold, each with its largest size.
var backupFiles = map[string]int64{backupDB: MaxStoreCopy, backupMaster: storage.MasterKeySize, backupSMTPPass: maxSMTPPassword}

// RestoreOptions say where and how to restore a backup.
type RestoreOptions struct {
	// Dir is the data folder; empty means DefaultDir().
	Dir string
	// Passphrase is the backup's passphrase.
	Passphrase string
	// Force replaces a store already in Dir, keeping its file as
	// keydesk.db.replaced-<UTC time>.
	Force bool
	// Keyring receives the signing material; nil means the OS keyring,
	// or the key file when KeyFile is set.
	Keyring storage.KeyringBackend
	// KeyFile puts the signing material into the data folder's
	// keydesk.key, protected by KeyFilePassphrase (empty means the
	// backup's passphrase).
	KeyFile           bool
	KeyFilePassphrase string
	// KeyFileOptions tune the key file (tests lower the scrypt cost).
	KeyFileOptions storage.KeyFileOptions
	// WorkFactor is the scrypt work factor (log2) the backup was written
	// with; zero means the one Keydesk writes (envelope.DefaultWorkFactor).
	// A backup made with another is refused (envelope.ErrWorkFactor). Tests
	// lower it.
	WorkFactor int
	// Now is the clock (zero means the real one); Actor the audit log's
	// actor (empty means Actor()).
	Now   time.Time
	Actor string
	// Timeout is how long to wait for a process holding the folder's
	// store; zero means storage.DefaultOpenTimeout.
	Timeout time.Duration
}

// PendingRestore is a backup decrypted and checked in a temporary folder
// inside the data folder, not yet live: Commit makes it live, Abort drops
// it. Until then the data folder's store and the keyring are untouched.
type PendingRestore struct {
	// Manifest is the backup's manifest.
	Manifest envelope.Manifest
	// Dir is the data folder.
	Dir string
	// KeyCount and Expired count the backup's keys (expired as of now).
	KeyCount, Expired int
	// Replaces reports whether the data folder holds a store (or key
	// file) that Commit will set aside.
	Replaces bool
	// DeletedSince lists the deletions, recorded in the replaced store's
	// audit log after the backup was taken, of keys the backup holds:
	// the restore brings them back.
	DeletedSince []core.AuditEvent

	opts     RestoreOptions
	now      time.Time
	tmp      string // temporary folder inside Dir
	created  string // the outermost folder this restore created, or ""
	mat      storage.Material
	restored *storage.Store // the restored copy, sealed with a memory keyring
	old      *storage.Store // the replaced store, held until Commit
}

// PrepareRestore decrypts the backup read from r and checks it without
// making it live: the data folder must hold no store unless opts.Force
// (ErrStoreExists); the file must open with the passphrase and be whole
// (envelope's errors); the copy must open, seal with its own signing
// material, pass the store's consistency check and hold only records that
// verify (ErrBadBackup); only then must the keyring be usable
// (storage.ErrKeyringUnavailable), so a bad file is reported as such on a
// computer without a keyring too. On any failure nothing is left behind: not the
// data folder, if this call created it, and nothing in the keyring.
//
// The data folder's store must not be open, in this process either: the
// window closes its Workspace before restoring into its own folder and
// opens it again after Commit (a store held open fails here with
// storage.ErrAlreadyOpen). Between PrepareRestore and Commit the replaced
// store is held open, so no other process can change it meanwhile.
func PrepareRestore(ctx context.Context, r io.Reader, opts RestoreOptions) (p *PendingRestore, err error) {
	dir, err := folderPath(opts.Dir)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	p = &PendingRestore{Dir: dir, opts: opts, now: now}
	defer func() {
		if err != nil {
			p.Abort()
			p = nil
		}
	}()
	exists, err := storage.Exists(dir)
	if err != nil {
		return p, err
	}
	hasKeyFile, err := storage.KeyFileExists(dir)
	if err != nil {
		return p, err
	}
	if (exists || hasKeyFile) && !opts.Force {
		return p, fmt.Errorf("restore into %s: %w", dir, ErrStoreExists)
	}
	p.Replaces = exists || hasKeyFile
	if exists {
		// Hold the replaced store (another process using it fails here
		// with storage.ErrAlreadyOpen) and read its audit log below.
		p.old, err = storage.Open(dir, storage.Options{Timeout: opts.Timeout, MustExist: true})
		if err != nil && !errors.Is(err, storage.ErrNoStore) {
			return p, fmt.Errorf("restore into %s: %w", dir, err)
		}
	}
	if opts.KeyFile && opts.KeyFilePassphrase != "" {
		// A passphrase chosen for the new key file (without one, the
		// key file takes the backup's, which exists already).
		if err := envelope.CheckNewPassphrase(opts.KeyFilePassphrase); err != nil {
			return p, err
		}
	}

	// The backup is read as an attacker's file: envelope refuses another
	// work factor, files other than a backup's, larger ones and entries
	// that are not plain files, before a byte of them is written.
	rd, err := envelope.Open(r, opts.Passphrase, envelope.OpenOptions{Kind: BackupKind, WorkFactor: opts.WorkFactor, Files: backupFiles})
	if err != nil {
		return p, err
	}
	m := rd.Manifest
	if m.Kind != BackupKind || m.StoreID == "" {
		return p, fmt.Errorf("%w (it holds a %q)", envelope.ErrNotEnvelope, m.Kind)
	}
	for _, f := range m.Files {
		if f.Name == backupMaster && f.Size != storage.MasterKeySize {
			return p, fmt.Errorf("%w: a signing key of %d bytes", envelope.ErrUnsafe, f.Size)
		}
	}
	p.Manifest = m

	// Unpack into a temporary folder inside the data folder (so that the
	// final rename stays on one file system).
	if p.created, err = mkdirAllCreated(dir); err != nil {
		return p, fmt.Errorf("create data folder: %w", err)
	}
	if p.tmp, err = os.MkdirTemp(dir, ".restore-"); err != nil {
		return p, fmt.Errorf("restore: %w", err)
	}
	var haveDB bool
	for {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		fi, body, err := rd.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return p, err
		}
		switch fi.Name {
		case backupDB:
			f, err := os.OpenFile(storage.Path(p.tmp), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return p, fmt.Errorf("restore: %w", err)
			}
			// At most the manifest's size (envelope checks that the entry
			// holds exactly that).
			_, err = io.Copy(f, io.LimitReader(body, fi.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return p, err
			}
			haveDB = true
		case backupMaster:
			if p.mat.Master, err = readSmall(body, fi.Size); err != nil {
				return p, err
			}
		case backupSMTPPass:
			b, err := readSmall(body, fi.Size)
			if err != nil {
				return p, err
			}
			p.mat.MailPassword = string(b)
		}
	}
	if !haveDB || len(p.mat.Master) != storage.MasterKeySize {
		return p, fmt.Errorf("%w: the store copy or its signing key is missing", ErrBadBackup)
	}
	p.mat.StoreID = m.StoreID
	if err := p.check(); err != nil {
		return p, err
	}
	// The file and its passphrase are good: now the keyring must be
	// usable (a bad file is bad input even where there is no keyring).
	if !opts.KeyFile {
		backend := orOSKeyring(opts.Keyring)
		if err := storage.ProbeKeyring(backend, "probe"); err != nil {
			return p, err
		}
	}
	if p.old != nil {
		if p.DeletedSince, err = deletedSince(p.old, p.restored); err != nil {
			return p, err
		}
	}
	return p, nil
}

// readSmall reads a file of a backup of size bytes (at most its limit in
// backupFiles, checked by envelope.Open) into memory.
func readSmall(body io.Reader, size int64) ([]byte, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(body, b); errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%w: %v", envelope.ErrDamaged, err)
	} else if err != nil {
		return nil, err
	}
	return b, nil
}

// check opens the unpacked copy, seals it with its signing material in a
// memory keyring and checks every record; the copy stays open (p.restored).
func (p *PendingRestore) check() error {
	st, err := storage.Open(p.tmp, storage.Options{MustExist: true})
	if errors.Is(err, storage.ErrSchemaTooNew) {
		return fmt.Errorf("%w (its store's schema)", envelope.ErrTooNew)
	} else if err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	p.restored = st
	if st.StoreID() != p.Manifest.StoreID {
		return fmt.Errorf("%w: the copy is of store %s, the manifest says %s", ErrBadBackup, st.StoreID(), p.Manifest.StoreID)
	}
	// The generation the backup was taken at: Seal moves it on when it
	// signs the records of a backup from before record signatures.
	taken, err := st.Generation()
	if err != nil {
		return err
	}
	kr, err := storage.InstallKeyring(storage.NewMemoryKeyring(), p.mat, 0)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if err := st.Seal(kr); err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if err := st.Check(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	keys, err := st.ListKeys()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	signer := kr.Signer()
	for _, k := range keys {
		if !signer.VerifyRecord(k.MACPayload(), k.MAC) {
			return fmt.Errorf("%w: key %s does not verify", ErrBadBackup, k.ID)
		}
		if !k.ExpiresAt.After(p.now) {
			p.Expired++
		}
	}
	p.KeyCount = len(keys)
	if p.KeyCount != p.Manifest.KeyCount || taken != p.Manifest.Generation {
		return fmt.Errorf("%w: the copy does not match its manifest", ErrBadBackup)
	}
	return nil
}

// deletedSince returns the key deletions in old's audit log of keys that
// restored holds.
func deletedSince(old *storage.Store, restored *storage.Store) ([]core.AuditEvent, error) {
	events, err := old.Audit()
	if err != nil {
		return nil, fmt.Errorf("read the replaced store's audit log: %w", err)
	}
	var out []core.AuditEvent
	for _, ev := range events {
		// A key the backup holds existed when it was taken, and ids are
		// never reused: any deletion of it came after.
		if ev.Action != core.ActionDelete || ev.KeyID == "" {
			continue
		}
		if _, err := restored.GetKey(ev.KeyID); err == nil {
			out = append(out, ev)
		}
	}
	slices.Reverse(out) // oldest first
	return out, nil
}

// RestoreResult says what Commit restored.
type RestoreResult struct {
	// TakenAt is when the backup was taken.
	TakenAt time.Time
	// KeyCount and Expired count the restored keys.
	KeyCount, Expired int
	// Replaced is the name the replaced store's file was given, or "".
	Replaced string
	// KeyFile reports whether the signing material went to keydesk.key.
	KeyFile bool
}

// String says what was restored, as both front ends print it: "Restored
// 124 keys (3 expired) from a backup taken 2026-11-30 04:25 UTC."
func (r RestoreResult) String() string {
	keys := "keys"
	if r.KeyCount == 1 {
		keys = "key"
	}
	return fmt.Sprintf("Restored %d %s (%d expired) from a backup taken %s.",
		r.KeyCount, keys, r.Expired, r.TakenAt.UTC().Format("2006-01-02 15:04 UTC"))
}

// Commit makes the checked backup live: it records the restore in the
// restored store's audit log, puts the signing material into the keyring
// (or keydesk.key) with the restored store's generation, sets a replaced
// store's files aside (keydesk.db.replaced-<UTC time>, and the same for
// keydesk.key) and renames the restored file into the data folder.
func (p *PendingRestore) Commit() (res RestoreResult, err error) {
	defer func() {
		if err != nil {
			p.Abort()
		}
	}()
	actor := p.opts.Actor
	if actor == "" {
		actor = Actor()
	}
	ev := core.AuditEvent{
		Time: p.now, Actor: actor, Action: core.ActionRestore,
		Detail: fmt.Sprintf("restored %d keys from a backup taken %s (generation %d)", p.KeyCount, p.Manifest.TakenAt.UTC().Format(time.RFC3339), p.Manifest.Generation),
	}
	if err := p.restored.AppendAudit(ev); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	gen, err := p.restored.Generation()
	if err != nil {
		return res, err
	}
	if err := p.restored.Close(); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	p.restored = nil

	var kf *storage.KeyFile
	if p.opts.KeyFile {
		pass := p.opts.KeyFilePassphrase
		if pass == "" {
			pass = p.opts.Passphrase
		}
		if kf, err = storage.NewKeyFile(p.tmp, pass, p.opts.KeyFileOptions); err != nil {
			return res, err
		}
		if _, err := storage.InstallKeyring(kf, p.mat, gen); err != nil {
			return res, fmt.Errorf("write the key file: %w", err)
		}
	} else {
		backend := orOSKeyring(p.opts.Keyring)
		if _, err := storage.InstallKeyring(backend, p.mat, gen); err != nil {
			return res, err
		}
	}

	if p.old != nil {
		if err := p.old.Close(); err != nil {
			return res, fmt.Errorf("close the replaced store: %w", err)
		}
		p.old = nil
	}
	suffix := ".replaced-" + p.now.UTC().Format("20060102T150405Z")
	for _, name := range []string{storage.FileName, storage.KeyFileName, storage.KeyFileName + ".generation"} {
		from := filepath.Join(p.Dir, name)
		if _, err := os.Lstat(from); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		to := from + suffix
		if name == storage.FileName {
			res.Replaced = filepath.Base(to)
		}
		if err := os.Rename(from, to); err != nil {
			return res, fmt.Errorf("set the replaced store aside: %w", err)
		}
	}
	if err := os.Rename(storage.Path(p.tmp), storage.Path(p.Dir)); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	if kf != nil {
		if err := kf.MoveTo(p.Dir); err != nil {
			return res, err
		}
	}
	os.RemoveAll(p.tmp)
	p.tmp, p.created = "", ""
	return RestoreResult{TakenAt: p.Manifest.TakenAt, KeyCount: p.KeyCount, Expired: p.Expired, Replaced: res.Replaced, KeyFile: kf != nil}, nil
}

// Abort drops a prepared restore: the temporary folder, and the data folder
// if the restore created it. The data folder's store is left as it was.
func (p *PendingRestore) Abort() {
	if p.restored != nil {
		p.restored.Close()
		p.restored = nil
	}
	if p.old != nil {
		p.old.Close()
		p.old = nil
	}
	if p.tmp != "" {
		os.RemoveAll(p.tmp)
		p.tmp = ""
	}
	if p.created != "" {
		os.RemoveAll(p.created)
		p.created = ""
	}
}

// mkdirAllCreated is os.MkdirAll(dir, 0700) that returns the outermost
// folder it created ("" when dir existed), so that a failure can remove
// exactly what it made.
func mkdirAllCreated(dir string) (string, error) {
	created := ""
	for d := dir; ; {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		created = d
		parent := filepath.Dir(d)
		if parent == d || strings.TrimSpace(parent) == "" {
			break
		}
		d = parent
	}
	if created == "" {
		return "", nil
	}
	return created, os.MkdirAll(dir, 0o700)
}
