package pgstore

import "errors"

// Errors callers branch on, in one place (as bbolt keeps its own). Front
// ends add what the user should do.
var (
	// The store and its server.

	// ErrBadURL means the store URL does not parse.
	ErrBadURL = errors.New("the store URL is not a valid PostgreSQL URL")
	// ErrUnreachable means no connection to the server could be made.
	ErrUnreachable = errors.New("the PostgreSQL server cannot be reached")
	// ErrLoginRefused means the server refused the user or password.
	ErrLoginRefused = errors.New("the PostgreSQL server refused the login")
	// ErrNotInitialised means the database holds no Keydesk store.
	ErrNotInitialised = errors.New("the database holds no Keydesk store")
	// ErrAlreadyInitialised means Init found a store in the database.
	ErrAlreadyInitialised = errors.New("the database already holds a Keydesk store")
	// ErrSchemaTooNew means the database was written by a newer Keydesk.
	ErrSchemaTooNew = errors.New("the database was written by a newer version of Keydesk")
	// ErrUpgradeNeeded means the database holds an older schema that this
	// role may not upgrade (a server role): an admin's open upgrades it.
	ErrUpgradeNeeded = errors.New("the database holds an older Keydesk schema that only the admin role can upgrade")
	// ErrCorrupt means a row does not decode or contradicts its record.
	ErrCorrupt = errors.New("the Keydesk database is damaged")

	// The signed state.

	// ErrStateMismatch means the key records do not match the store's
	// signed state: rows were added, removed or replaced outside Keydesk.
	ErrStateMismatch = errors.New("the keys in the database do not match their signed state")
	// ErrStateRolledBack means the store's signed state is older than one
	// already seen (the database was put back to an older copy).
	ErrStateRolledBack = errors.New("the database holds an older state of the store than this process has seen")
	// ErrNoSignedState means the store has no signed state (it was not
	// created by `keydesk store init`, or the row was removed).
	ErrNoSignedState = errors.New("the shared store has no signed state")
	// ErrOldState means the store's signed state is in the format of an
	// older Keydesk (an XOR digest), which readers do not accept: an
	// admin's Keydesk moves the store to the current format when it opens
	// it. Errors wrapping it also wrap ErrStateMismatch.
	ErrOldState = errors.New("the shared store's signed state is in an older format; an admin's keydesk upgrades it when it opens the store")
	// ErrCatalogMismatch means the permission catalog stored in the
	// database is not the one the store's signed state names: an older
	// catalog was written back, or it was removed or replaced outside
	// Keydesk. Errors wrapping it also wrap ErrStateMismatch and
	// core.ErrCatalogForged.
	ErrCatalogMismatch = errors.New("the permission catalog in the database is not the one the store's signed state names")
)
