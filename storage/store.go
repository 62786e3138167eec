// Package storage keeps a Keydesk data folder: the bbolt database holding key
// records, their digest and expiry indexes, settings, digest state and the
// audit log (Store), and the per-store signing material kept in the OS keyring
// (Keyring). Neither ever holds a key's secret.
//
// Files: store.go opens the database, migrate.go upgrades its schema,
// keys.go, audit.go, settings.go and digest_state.go keep what their names
// say, seal.go binds the set of records to the signing material and the
// keyring's generation (Store.Seal) and signs every record with the store's
// Ed25519 key (the shared store's record signatures), seal_scan.go reads
// and checks every record and index at open, seal_change.go carries each
// change into the sealed state, seal_mirror.go copies the generation to the
// keyring in the background, seal_catalog.go binds the catalog setting
// to the sealed state, sigcheck.go checks
// those signatures in the background, check.go checks a whole database,
// keyring.go and keyring_backend.go keep the keyring entries. The record
// format and the signing material are package seal's. For backups: snapshot.go
// copies the database inside one read transaction, keyring_material.go
// exports and installs the keyring entries, keyfile.go is the keyring
// backend kept in the data folder's passphrase-protected keydesk.key.
package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the database file inside a data folder.
const FileName = "keydesk.db"

// DefaultOpenTimeout is how long Open waits for another process to release
// the database before answering ErrAlreadyOpen.
const DefaultOpenTimeout = time.Second

// Storage errors callers branch on. They are short and lowercase; the front
// ends add the advice for people.
var (
	// ErrAlreadyOpen means another Keydesk process holds the data folder.
	ErrAlreadyOpen = errors.New("data folder already open in another keydesk process")
	// ErrSchemaTooNew means the database was written by a newer Keydesk.
	ErrSchemaTooNew = errors.New("data folder written by a newer keydesk")
	// ErrCorrupt means the database's contents are inconsistent (an index
	// points at a missing record, a key record does not decode or is
	// stored under another record's id, ...).
	ErrCorrupt = seal.ErrCorrupt
	// ErrNoStore means the data folder holds no Keydesk database.
	ErrNoStore = errors.New("no keydesk database in the data folder")
	// ErrTampered means the set of key records does not match the store's
	// signed state: records were added, removed or replaced outside
	// Keydesk (a deleted key written back, for one). Seal reports it.
	ErrTampered = errors.New("key records changed outside keydesk")
	// ErrRolledBack means the data file is older than the last change this
	// computer made to it (it was replaced with an older copy). Seal
	// reports it; a restore from a backup is the legitimate way back
	// (Keyring.SetGeneration).
	ErrRolledBack = errors.New("data file older than the last change made to it")
	// ErrReadOnly means a change was asked of a sealed store opened
	// without its signing material (see Store.Seal).
	ErrReadOnly = errors.New("store opened without its signing key is read-only")
)

// Bucket names. The expiry index maps ExpiresAt (8 bytes, see expiryKey)
// followed by the key id to nothing, so a time window is a cursor range.
var (
	bucketKeys     = []byte("keys")
	bucketDigest   = []byte("idx_digest")
	bucketExpiry   = []byte("idx_expiry")
	bucketSettings = []byte("settings")
	bucketDigests  = []byte("digest_state")
	bucketAudit    = []byte("audit")
	bucketMeta     = []byte("meta")
)

// Meta and digest-state entries.
var (
	metaSchema        = []byte("schema_version")
	metaStoreID       = []byte("store_id")
	metaCreated       = []byte("created")
	metaGeneration    = []byte("generation")
	metaStateMAC      = []byte("state_mac")
	digestLastSlotKey = []byte("last_delivered_slot")
)

// Options tune Open.
type Options struct {
	// Timeout is how long to wait for another process to release the
	// database; zero means DefaultOpenTimeout.
	Timeout time.Duration
	// NewStoreID is the id given to the store if Open creates it; empty
	// means a random one. The workspace creates the keyring entry for this id
	// before the database exists, so that a missing keyring writes nothing.
	NewStoreID string
	// MustExist makes Open fail with ErrNoStore instead of creating a
	// database (also when the file exists but was never initialised).
	MustExist bool
	// Now is the creation time recorded in a new store; zero means now.
	Now time.Time
}

// Store is a Keydesk database. It implements core.Store and is safe for
// concurrent use.
type Store struct {
	db      *bolt.DB
	path    string
	storeID string
	created time.Time

	// mu serialises the changes that advance the generation, so that the
	// in-memory state below follows the commits in order.
	mu sync.Mutex
	// The following are set by Seal and guarded by mu.
	signer *seal.Signer
	ed     *seal.EdSigner
	state  sealState
	mirror *mirror
	// catalogSeen holds the digests of the catalog settings Setting
	// handed out before Seal, which Seal checks (seal_catalog.go);
	// guarded by mu.
	catalogSeen []catalogDigest
	// sigs is the background check of the record signatures started by
	// Seal (sigcheck.go); nil before.
	sigs atomic.Pointer[sigCheck]
	// sealing is the Seal that SealInBackground started (sealbg.go); nil
	// if none.
	sealing atomic.Pointer[sealRun]
}

var (
	_ core.Store       = (*Store)(nil)
	_ core.ExpiryIndex = (*Store)(nil)
)

// Path returns the database file path of a data folder.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Exists reports whether dir already holds a Keydesk database.
func Exists(dir string) (bool, error) { return fileExists(Path(dir), "data folder") }

// fileExists reports whether path, the file of what, exists; an error
// other than "does not exist" (a folder that cannot be read, for one) is
// returned wrapped.
func fileExists(path, what string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("check %s: %w", what, err)
}

// Open opens the database in dir, creating the folder (mode 0700, parents
// included) and the file (mode 0600) when missing, and running schema
// migrations. If another process holds the database, Open returns
// ErrAlreadyOpen after opts.Timeout without changing anything.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultOpenTimeout
	}
	path := Path(dir)
	exists, err := Exists(dir)
	if err != nil {
		return nil, err
	}
	if !exists {
		if opts.MustExist {
			return nil, ErrNoStore
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, ErrAlreadyOpen
		}
		return nil, fmt.Errorf("open store: %w", err)
	}
	// The lock is held: the file is ours. Keep it private even if it was
	// created by something else with a looser mode.
	if fi, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		if err := os.Chmod(path, 0o600); err != nil {
			db.Close()
			return nil, fmt.Errorf("restrict store file mode: %w", err)
		}
	}
	s := &Store{db: db, path: path}
	if err := s.init(opts); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// init runs pending migrations and reads or writes the store's identity.
func (s *Store) init(opts Options) error {
	var version uint64
	var id, created []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m != nil {
			if v := m.Get(metaSchema); len(v) == 8 {
				version = binary.BigEndian.Uint64(v)
			}
			id = bytes.Clone(m.Get(metaStoreID))
			created = bytes.Clone(m.Get(metaCreated))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("read store schema: %w", err)
	}
	if version > SchemaVersion {
		return ErrSchemaTooNew
	}
	if len(id) == 0 && opts.MustExist {
		// The file exists but was never given an identity (a first run
		// stopped before its first transaction): it is not a store yet.
		return ErrNoStore
	}
	// The migrations that need no signing material; Seal moves a store
	// from there to signedSchema (migrate.go).
	target := max(version, uint64(len(migrations)))
	if len(id) == 0 && version == 0 {
		target = SchemaVersion // a new store: nothing to sign yet
	}
	if version < target || len(id) == 0 {
		err := s.db.Update(func(tx *bolt.Tx) error {
			for v := version; v < uint64(len(migrations)); v++ {
				if err := migrations[v](tx); err != nil {
					return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
				}
			}
			m := tx.Bucket(bucketMeta)
			if err := m.Put(metaSchema, binary.BigEndian.AppendUint64(nil, target)); err != nil {
				return err
			}
			if len(id) == 0 {
				newID := opts.NewStoreID
				if newID == "" {
					var err error
					if newID, err = seal.NewStoreID(); err != nil {
						return err
					}
				}
				now := opts.Now
				if now.IsZero() {
					now = time.Now()
				}
				id = []byte(newID)
				created, _ = now.UTC().MarshalText()
				if err := m.Put(metaStoreID, id); err != nil {
					return err
				}
				if err := m.Put(metaCreated, created); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("initialise store: %w", err)
		}
	}
	s.storeID = string(id)
	if err := s.created.UnmarshalText(created); err != nil {
		return fmt.Errorf("%w: bad creation time: %v", ErrCorrupt, err)
	}
	return nil
}

// Close closes the database, releasing the data folder. A sealed store
// first waits for its generation to reach the keyring (FlushGeneration); a
// keyring failure then is reported but does not keep the file open.
func (s *Store) Close() error {
	s.dropSeal() // a background Seal sets up the signature check
	if c := s.sigs.Load(); c != nil {
		c.halt()
	}
	ferr := s.FlushGeneration()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if ferr != nil {
		return fmt.Errorf("close store: record generation: %w", ferr)
	}
	return nil
}

// StoreID returns the store's random id (hex), fixed at creation. It names
// the store's entries in the OS keyring.
func (s *Store) StoreID() string { return s.storeID }

// Created returns when the store was created.
func (s *Store) Created() time.Time { return s.created }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Schema returns the schema version stored in the database.
func (s *Store) Schema() (uint64, error) {
	var v uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta).Get(metaSchema); len(b) == 8 {
			v = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	return v, err
}
