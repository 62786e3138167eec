package storage

import (
	"errors"

	"github.com/keydesk/keydesk/seal"
)

// Errors callers branch on, in one place (as bbolt keeps its own). They are
// short and lowercase; the front ends add the advice for people (unlock the
// keyring, restore the entry, restore a backup, use a new data folder).
var (
	// The data folder.

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

	// The catalog.

	// ErrCatalogMismatch means the permission catalog stored in the data file
	// is not the one its signed state names: an older catalog was written
	// back, or it was removed or replaced outside Keydesk. Errors wrapping it
	// also wrap core.ErrCatalogForged, so that catalog import and reset, which
	// replace a forged catalog, replace this one too.
	ErrCatalogMismatch = errors.New("the permission catalog in the data file is not the one its signed state names")

	// The keyring.

	// ErrKeyringUnavailable means the OS keyring cannot be reached or is
	// locked.
	ErrKeyringUnavailable = errors.New("os keyring unavailable or locked")
	// ErrMasterKeyMissing means the store exists but its master key is not
	// in the OS keyring, so its keys can neither be verified nor changed.
	ErrMasterKeyMissing = errors.New("signing key missing from the os keyring")
	// ErrMasterKeyInvalid means the keyring entry exists but does not hold
	// a Keydesk master key.
	ErrMasterKeyInvalid = seal.ErrMasterKeyInvalid
)
