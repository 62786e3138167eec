// Package workspace opens a Keydesk data folder: the bbolt store, the signing
// material from the OS keyring and the key service over them. The window, the
// command line and the HTTP server all start here. backup.go and restore.go
// write and restore encrypted backups (Backup, PrepareRestore); keyfile.go
// keeps the signing material in keydesk.key instead of the OS keyring.
package workspace

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/replica"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
)

// Options say which data folder to open and how.
type Options struct {
	// Dir is the data folder; empty means DefaultDir().
	Dir string
	// Now fixes the clock (--now); zero means the real clock.
	Now time.Time
	// Demo opens a throw-away store in a temporary folder with an
	// in-memory keyring, seeded with sample keys.
	Demo bool
	// Keyring holds the store's keyring entries; nil means the OS keyring
	// (storage.OSKeyring) for a data folder and a fresh
	// storage.MemoryKeyring for the demo.
	Keyring storage.KeyringBackend
	// CatalogFile replaces the embedded catalog; empty means the default.
	CatalogFile string
	// Catalog, when set, is the catalog already read from CatalogFile
	// (the command line checks --catalog before opening anything), so
	// that the file is not read and parsed a second time.
	Catalog *core.Catalog
	// SkipStoredCatalog opens the store with the embedded catalog instead
	// of the one imported into it (catalog import and reset use it, so
	// that they can replace a stored catalog that fails its signature).
	SkipStoredCatalog bool
	// Timeout is how long to wait for another process to release the data
	// folder before failing with storage.ErrAlreadyOpen; zero means
	// storage.DefaultOpenTimeout.
	Timeout time.Duration
	// StoreURL, when set, opens the shared store in PostgreSQL at this
	// libpq URL instead of a data folder (see OpenShared).
	StoreURL string
	// KeyFile keeps the store's signing material in the data folder's
	// passphrase-protected keydesk.key instead of the OS keyring (see
	// keyfile.go). Passphrase supplies the passphrase.
	KeyFile bool
	// Passphrase returns the key file's passphrase; create is true when
	// a new key file is about to be made (ask twice). Only KeyFile uses
	// it.
	Passphrase func(create bool) (string, error)
	// KeyFileOptions tune the key file (tests lower the scrypt cost).
	KeyFileOptions storage.KeyFileOptions
	// CheckLater opens a data folder without waiting for the check of
	// its records against their signed state or of each record's MAC:
	// they run in the background once the keys are loaded (see Checks),
	// every verification waits for the first, and a record is checked at
	// its first use if the second has not reached it yet. The window uses
	// it so that its table shows at once; the command line does not (a
	// command on a file that fails the check fails).
	CheckLater bool
}

// Workspace is an opened data folder, demo or shared store. Its parts are
// reached through methods: what callers do with them (backups, mail
// settings, the digest scheduler, credentials) are methods of their own.
type Workspace struct {
	dir string
	// store is the data folder's store, or the shared store
	// (Options.StoreURL).
	store Store
	kind  Kind
	// replica follows the shared store, keeping service current (Follow);
	// nil on a data folder.
	replica *replica.Replica
	// url is the shared store's URL without its password; "" on a data
	// folder.
	url     string
	keyring *storage.Keyring
	service *core.Service
	clock   core.Clock
	// checks is the progress of the checks Options.CheckLater put after
	// the load; nil without it.
	checks *checkState

	closeOnce sync.Once
	closeErr  error
}

// Kind says what a workspace has open.
type Kind int

// The kinds of workspace.
const (
	// KindFolder is a data folder.
	KindFolder Kind = iota
	// KindDemo is the throw-away demo store (a data folder removed by
	// Close).
	KindDemo
	// KindShared is the shared store in PostgreSQL.
	KindShared
)

// Kind says whether a data folder, the demo or a shared store is open.
func (w *Workspace) Kind() Kind { return w.kind }

// Dir is the data folder (the demo's temporary one); "" on a shared store.
func (w *Workspace) Dir() string { return w.dir }

// Store is the workspace's store: the data folder's, or the shared store.
func (w *Workspace) Store() Store { return w.store }

// URL is the shared store's URL without its password; "" on a data folder.
func (w *Workspace) URL() string { return w.url }

// Keyring holds the store's signing material and the SMTP password.
func (w *Workspace) Keyring() *storage.Keyring { return w.keyring }

// Service is the key service over the store.
func (w *Workspace) Service() *core.Service { return w.service }

// Clock is the workspace's clock (fixed by Options.Now).
func (w *Workspace) Clock() core.Clock { return w.clock }

// DefaultDir returns the per-OS default data folder: on Linux and other
// Unix systems $XDG_DATA_HOME/keydesk or ~/.local/share/keydesk; on Windows
// %AppData%\Keydesk; on macOS ~/Library/Application Support/Keydesk.
func DefaultDir() (string, error) {
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
		dir, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find the default data folder: %w", err)
		}
		return filepath.Join(dir, "Keydesk"), nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "keydesk"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the default data folder: %w", err)
	}
	return filepath.Join(home, ".local", "share", "keydesk"), nil
}

// folderPath returns the data folder dir as an absolute path; empty means
// DefaultDir().
func folderPath(dir string) (string, error) {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return "", err
		}
		dir = d
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir, nil
}

// Actor returns the OS user name recorded in the audit log.
func Actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, v := range []string{"USER", "USERNAME", "LOGNAME"} {
		if s := os.Getenv(v); s != "" {
			return s
		}
	}
	return "unknown"
}

// Open opens the data folder of opts, creating it on first run. On first
// run the master key is created in the OS keyring before anything is
// written, so a missing or locked keyring (storage.ErrKeyringUnavailable)
// leaves no trace on disk. A folder held by another process fails with
// storage.ErrAlreadyOpen.
func Open(opts Options) (*Workspace, error) {
	// No --catalog file: the store's own catalog (imported, else the
	// embedded one), read and checked once the store is open.
	var catalog *core.Catalog
	if opts.SkipStoredCatalog {
		catalog = core.DefaultCatalog()
	}
	if opts.Catalog != nil {
		catalog = opts.Catalog
	} else if opts.CatalogFile != "" {
		c, err := core.LoadCatalogFile(opts.CatalogFile)
		if err != nil {
			return nil, err
		}
		catalog = c
	}
	var clock core.Clock = core.SystemClock{}
	if !opts.Now.IsZero() {
		clock = core.FixedClock(opts.Now)
	}
	if opts.Demo {
		return openDemo(opts, clock, catalog)
	}
	if opts.StoreURL != "" {
		return openShared(opts, clock, catalog)
	}
	dir, err := folderPath(opts.Dir)
	if err != nil {
		return nil, err
	}
	backend, err := folderBackend(dir, opts)
	if err != nil {
		return nil, err
	}
	if opts.CheckLater {
		store, kr, err := openUnsealed(dir, backend, opts.Timeout, clock.Now())
		if err != nil {
			return nil, err
		}
		return assembleWith(dir, store, kr, clock, catalog, false, true)
	}
	store, kr, err := openFolder(dir, backend, opts.Timeout, clock.Now())
	if err != nil {
		return nil, err
	}
	return assemble(dir, store, kr, clock, catalog, false)
}

// openFolder opens (or creates) the store in dir and its keyring entries,
// and seals the store with them (storage.Store.Seal: a store whose records
// were changed outside Keydesk, or an older copy of the file, is refused).
func openFolder(dir string, backend storage.KeyringBackend, timeout time.Duration, now time.Time) (*storage.Store, *storage.Keyring, error) {
	store, kr, err := openUnsealed(dir, backend, timeout, now)
	if err != nil {
		return nil, nil, err
	}
	if err := store.Seal(kr); err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("open %s: %w", dir, err)
	}
	return store, kr, nil
}

// openUnsealed opens (or creates) the store in dir and its keyring entries.
func openUnsealed(dir string, backend storage.KeyringBackend, timeout time.Duration, now time.Time) (*storage.Store, *storage.Keyring, error) {
	exists, err := storage.Exists(dir)
	if err != nil {
		return nil, nil, err
	}
	if exists {
		store, err := storage.Open(dir, storage.Options{Timeout: timeout, MustExist: true})
		switch {
		case err == nil:
			kr, err := storage.OpenKeyringIn(backend, store.StoreID())
			if err != nil {
				store.Close()
				return nil, nil, err
			}
			return store, kr, nil
		case !errors.Is(err, storage.ErrNoStore):
			return nil, nil, err
		}
		// A first run stopped before the store got its identity: finish
		// it as a first run.
	}
	// First run: the keyring first, so that a keyring failure writes
	// nothing; then the folder and the database.
	id, err := seal.NewStoreID()
	if err != nil {
		return nil, nil, err
	}
	kr, err := storage.CreateKeyringIn(backend, id)
	if err != nil {
		return nil, nil, err
	}
	store, err := storage.Open(dir, storage.Options{Timeout: timeout, NewStoreID: id, Now: now})
	if err != nil {
		kr.Forget()
		return nil, nil, err
	}
	if store.StoreID() != id {
		// Another process created the store between our check and our
		// open: use its keyring entry, drop ours.
		kr.Forget()
		if kr, err = storage.OpenKeyringIn(backend, store.StoreID()); err != nil {
			store.Close()
			return nil, nil, err
		}
	}
	return store, kr, nil
}

func assemble(dir string, store *storage.Store, kr *storage.Keyring, clock core.Clock, catalog *core.Catalog, demo bool) (*Workspace, error) {
	return assembleWith(dir, store, kr, clock, catalog, demo, false)
}

// assembleWith is assemble; later means store is not sealed yet: its Seal
// runs in the background once the records are loaded
// (storage.Store.SealInBackground, started after the load so that the two
// do not share the CPUs), and the records' MACs are checked after it (see
// Options.CheckLater).
func assembleWith(dir string, store *storage.Store, kr *storage.Keyring, clock core.Clock, catalog *core.Catalog, demo, later bool) (*Workspace, error) {
	if catalog == nil {
		c, err := core.StoredCatalog(store, kr.Signer())
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("open %s: %w", dir, err)
		}
		catalog = c
	}
	newService := core.NewService
	if later {
		newService = core.NewLazyService
	}
	svc, err := newService(store, kr.Signer(), clock, catalog)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	svc.Actor = Actor()
	// Every record is in the service's memory now: let the kernel drop the
	// database pages the load mapped in (a memory saving only; a failure
	// changes nothing, so it is not an error for the caller).
	_ = store.ReleaseMappedPages()
	var checks *checkState
	if later {
		// The seal, the MACs, then the signatures, in the background.
		store.SealInBackground(kr)
		checks = checkLater(dir, store, svc)
	} else {
		// Every record is loaded and its MAC checked: now the store's
		// background check of the record signatures may run (a
		// failure makes the store refuse every change and read; see
		// SignatureCheck).
		store.StartSignatureCheck()
	}
	go distrustOnForgery(dir, store, svc)
	kind := KindFolder
	if demo {
		kind = KindDemo
	}
	return &Workspace{dir: dir, store: store, kind: kind, keyring: kr, service: svc, clock: clock, checks: checks}, nil
}

// distrustOnForgery waits for the store's background check of its record
// signatures: if a record turns out forged, none of the keys already in
// the service's memory may verify any more (the store itself refuses every
// read and change from then on). It returns when the check ends, at the
// latest when the store closes.
func distrustOnForgery(dir string, store *storage.Store, svc *core.Service) {
	err := store.WaitSignatureCheck()
	if err == nil {
		// The check read every record's page: let the kernel drop them
		// again (a memory saving only).
		_ = store.ReleaseMappedPages()
	}
	if errors.Is(err, storage.ErrTampered) {
		svc.Distrust()
		slog.Error("a record of the data folder does not match its signature: no key of it verifies any more; restore the folder from a backup",
			"folder", dir, "error", err)
	}
}

// openDemo makes a throw-away store in a temporary folder, with an
// in-memory keyring, seeded with sample keys.
func openDemo(opts Options, clock core.Clock, catalog *core.Catalog) (*Workspace, error) {
	backend := opts.Keyring
	if backend == nil {
		backend = storage.NewMemoryKeyring()
	}
	dir, err := os.MkdirTemp("", "keydesk-demo-")
	if err != nil {
		return nil, fmt.Errorf("create demo folder: %w", err)
	}
	fail := func(err error) (*Workspace, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	store, kr, err := openFolder(dir, backend, opts.Timeout, clock.Now())
	if err != nil {
		return fail(err)
	}
	seedCatalog := catalog
	if seedCatalog == nil {
		seedCatalog = core.DefaultCatalog()
	}
	if err := SeedDemo(store, kr.Signer(), seedCatalog, clock.Now(), Actor()); err != nil {
		store.Close()
		return fail(fmt.Errorf("seed demo keys: %w", err))
	}
	b, err := assemble(dir, store, kr, clock, catalog, true)
	if err != nil {
		return fail(err)
	}
	return b, nil
}

// SignatureCheck waits for the data folder's background check of its
// record signatures (storage.Store.SignatureCheck) and returns its result:
// an error wrapping ErrTampered means a record's signature does not match
// it, and the store now refuses every change and read. A shared store or
// no store gives nil.
func (w *Workspace) SignatureCheck() error {
	if c := w.Signatures(); c != nil {
		return c.SignatureCheck()
	}
	return nil
}

// Signatures is the data folder's background check of its record
// signatures; nil on a shared store, whose records are checked against
// its signed state as they are read.
func (w *Workspace) Signatures() SignatureChecker {
	c, _ := w.store.(SignatureChecker)
	return c
}

// Close writes pending last-used times, closes the store and, for a demo,
// removes its folder. Calling it again returns the first result.
func (w *Workspace) Close() error {
	w.closeOnce.Do(func() {
		var errs []error
		if w.service != nil {
			errs = append(errs, w.service.FlushLastUsed())
		}
		if w.store != nil {
			errs = append(errs, w.store.Close())
		}
		if w.kind == KindDemo && w.dir != "" {
			if err := os.RemoveAll(w.dir); err != nil {
				errs = append(errs, fmt.Errorf("remove demo folder: %w", err))
			}
		}
		w.closeErr = errors.Join(errs...)
	})
	return w.closeErr
}
