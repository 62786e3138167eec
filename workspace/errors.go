package workspace

import (
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/replica"
	"github.com/keydesk/keydesk/storage"
)

// The stores' errors that the window and the command line branch on,
// named here so that they need not reach the stores themselves; each is
// the store's own value, so errors.Is matches either name. advice.go has
// their sentences for people.
var (
	// ErrAlreadyOpen means another process holds the data folder.
	ErrAlreadyOpen = storage.ErrAlreadyOpen
	// ErrKeyringUnavailable means the OS keyring is missing or locked.
	ErrKeyringUnavailable = storage.ErrKeyringUnavailable
	// ErrTampered means a data folder's record does not match its
	// signature (SignatureChecker); the store then refuses every change
	// and read.
	ErrTampered = storage.ErrTampered
	// ErrRolledBack means a data folder's file is older than the last
	// change this computer made to it (Options.CheckLater finds it after
	// the open; the store then refuses every change and read).
	ErrRolledBack = storage.ErrRolledBack
	// ErrCorrupt means a data folder's database is damaged (likewise).
	ErrCorrupt = storage.ErrCorrupt
	// ErrNoKeyFile means the data folder holds no keydesk.key.
	ErrNoKeyFile = storage.ErrNoKeyFile
	// ErrNoEntry means a keyring entry does not exist.
	ErrNoEntry = storage.ErrNoEntry
	// ErrBadURL means a store URL is not a valid PostgreSQL URL.
	ErrBadURL = pgstore.ErrBadURL
	// ErrOtherStore means a credential belongs to another store than the
	// database holds.
	ErrOtherStore = replica.ErrOtherStore
)
