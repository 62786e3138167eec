package workspace

import (
	"errors"
	"fmt"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/storage"
)

// PasswordInArgs is the warning the command line prints once when --store
// is given a URL holding a password (never the password itself).
const PasswordInArgs = "the --store URL holds a password, which every user of this computer can read in the process list; " +
	"put the URL in KEYDESK_STORE (for a service, in a systemd EnvironmentFile) or the password in a PGPASSFILE instead."

// UnsignedAudit explains the audit entries core.AuditEvent.Who labels
// "(unsigned)" (shown after the audit log, and in an entry's detail).
const UnsignedAudit = "Entries marked (unsigned) carry no admin's signature, so no admin's Keydesk wrote them: " +
	"someone with write access to the database (a verification server's role included) inserted them, or a Keydesk before signed entries did."

// advice is the sentence for people of each error Open and the store
// return, in the order they are tested (the first match wins).
var advice = []struct {
	err  error
	text string
}{
	{storage.ErrAlreadyOpen, "Keydesk is already open on this data folder."},
	{storage.ErrSchemaTooNew, "This data folder was written by a newer version of Keydesk; update Keydesk to open it."},
	{storage.ErrNoStore, "The data folder holds no Keydesk database."},
	{storage.ErrRolledBack, "This data file is older than the last change this computer made to it (it was replaced with an older copy): put the newer file back, or restore a backup with `keydesk restore`."},
	{storage.ErrTampered, "Keys were added, removed or replaced in this data file outside Keydesk, so none of its keys can be trusted: restore a backup of the data folder with `keydesk restore`, or use a new data folder."},
	{storage.ErrCorrupt, "The Keydesk database is damaged: restore a backup of the data folder with `keydesk restore`, or use a new data folder."},
	{storage.ErrCatalogMismatch, "This data folder's permission catalog is not the one its signed state names (an older catalog was put back, or it was removed or replaced outside Keydesk), so it is not used: import the API documents again with `keydesk catalog import`, go back to the embedded catalog with `keydesk catalog reset`, or restore a backup of the data folder with `keydesk restore`."},
	{storage.ErrReadOnly, "This data folder was opened without its signing key, so it cannot be changed."},
	{storage.ErrKeyringUnavailable, "The OS keyring is not available or is locked: unlock it (or start a Secret Service such as gnome-keyring) and try again."},
	{storage.ErrMasterKeyMissing, "This data folder's signing key is missing from the OS keyring, so its keys cannot be verified or changed: restore it from a backup with `keydesk restore --force BACKUP`, or use a new data folder."},
	{storage.ErrMasterKeyInvalid, "This data folder's signing key in the OS keyring is damaged, so its keys cannot be verified or changed: restore it from a backup with `keydesk restore --force BACKUP`, or use a new data folder."},
	{ErrSharedMaterialMissing, "This computer holds no signing material for the shared store: import an admin's credential with `keydesk credential import FILE` (written by `keydesk credential export` on an admin's computer); servers verify with `keydesk serve --credential FILE`."},
	{pgstore.ErrBadURL, "The store URL is not a valid PostgreSQL URL; write it like postgres://user@host:5432/keydesk?sslmode=verify-full."},
	{pgstore.ErrUnreachable, "The PostgreSQL server of the shared store cannot be reached; check the host and port in the store URL and that the server is running."},
	{pgstore.ErrLoginRefused, "The PostgreSQL server refused the login; check the user in the store URL and its password (in the URL, PGPASSWORD or ~/.pgpass)."},
	{pgstore.ErrNotInitialised, "The database holds no Keydesk store; run `keydesk --store URL store init` first."},
	{pgstore.ErrAlreadyInitialised, "The database already holds a Keydesk store; nothing was changed (to work on it, import its signing material with `keydesk credential import`)."},
	{pgstore.ErrSchemaTooNew, "The shared store was written by a newer version of Keydesk; update Keydesk to use it."},
	{pgstore.ErrUpgradeNeeded, "The shared store was written by an earlier version of Keydesk and only the admin role can upgrade it: run any admin command on it (e.g. `keydesk --store URL keys list`), then start this again."},
	{pgstore.ErrOldState, "The shared store's signed state is in the format of an older Keydesk, which servers no longer accept: open the store once with an admin's Keydesk of this version to upgrade it."},
	{pgstore.ErrCatalogMismatch, "The shared store's permission catalog is not the one its signed state names (an older catalog was put back, or it was removed or replaced outside Keydesk), so it is not used: an admin can import the API documents again with `keydesk catalog import` or go back to the embedded catalog with `keydesk catalog reset`, or restore the database from a backup."},
	{pgstore.ErrStateMismatch, "The keys in the shared store do not match their signed state (rows were added, removed or replaced outside Keydesk), so none of them can be trusted: restore the database from a backup."},
	{pgstore.ErrStateRolledBack, "The shared store holds an older state than this server has already seen (the database was put back to an older copy); keys deleted since would verify again, so the older state is refused."},
	{pgstore.ErrNoSignedState, "The shared store has no signed state (it was not created by `keydesk store init`, or the state was removed outside Keydesk): restore the database from a backup."},
	{core.ErrCatalogForged, "The store's permission catalog does not match its signature (it was changed outside Keydesk), so it is not used: import the API documents again with `keydesk catalog import`, or go back to the embedded catalog with `keydesk catalog reset`."},
	{core.ErrVerifyOnly, "This computer holds only the verify-only credential of the shared store, so it cannot create, rename, roll or delete keys; do that on an admin's computer."},
	{ErrKeyFileFolder, "This data folder keeps its signing key in keydesk.key: add --keyfile (the passphrase comes from the terminal, --passphrase-stdin or KEYDESK_PASSPHRASE_FILE)."},
	{ErrNotKeyFileFolder, "This data folder keeps its signing key in the OS keyring, not in keydesk.key: run without --keyfile, or move it with `keydesk backup` and `keydesk restore --force --keyfile`."},
	{storage.ErrNoKeyFile, "This data folder has no keydesk.key: run without --keyfile."},
	{ErrNoPassphrase, "The key file keydesk.key needs its passphrase: type it on a terminal, or give it with --passphrase-stdin or KEYDESK_PASSPHRASE_FILE."},
	{envelope.ErrWrongPassphrase, "The passphrase is wrong."},
	{envelope.ErrShortPassphrase, "The passphrase must be at least 12 characters long."},
	{envelope.ErrPassphraseRepeats, "This passphrase is too easy to guess: it repeats a character or a group of them (like aaaa or abcabc); choose several unrelated words."},
	{envelope.ErrPassphraseSequence, "This passphrase is too easy to guess: it runs through letters or digits in order (like abcd or 1234); choose several unrelated words."},
	{envelope.ErrPassphraseKeyboard, "This passphrase is too easy to guess: it follows neighbouring keys on the keyboard (like qwerty or asdf); choose several unrelated words."},
	{envelope.ErrPassphraseCommon, "This passphrase is too easy to guess: it is made of common passwords, words or names; add unrelated words or choose another."},
	{envelope.ErrPassphraseDate, "This passphrase is too easy to guess: it is mostly dates or years; choose several unrelated words."},
	{envelope.ErrWeakPassphrase, "This passphrase is too easy to guess; choose several unrelated words."},
	{envelope.ErrTooNew, "This backup was written by a newer version of Keydesk; update Keydesk to restore it."},
	{envelope.ErrDamaged, "The file is truncated or was altered, so it cannot be trusted; use another copy of the backup."},
	{envelope.ErrNotEnvelope, "The file is not a Keydesk backup."},
	{envelope.ErrUnsafe, "The file holds what Keydesk never writes (a sparse, linked or special entry, or a file that is unexpected, repeated or too large), so it was refused and nothing was changed."},
	{envelope.ErrWorkFactor, "The file's passphrase protection is not the strength Keydesk writes (its scrypt work factor differs), so it was refused and nothing was changed."},
	{ErrStoreExists, "The data folder already holds a store: add --force to replace it (its file is kept as keydesk.db.replaced-<time>), or restore into another folder with --data."},
	{ErrBadBackup, "The backup decrypted but its contents fail their checks, so nothing was restored; use another backup."},
	{ErrNoFolder, "The folder to write the backup into does not exist."},
	{core.ErrTampered, "The key's stored record does not match its signature (the data file was edited); delete it and create a new key."},
}

// rolledBack is the sentence of a pgstore.RolledBackError, given the
// store's generation and the one seen before.
const rolledBack = "The shared store's signed state is at generation %d, older than generation %d already seen here, " +
	"so the database was put back to an older copy in which keys deleted since would verify again: " +
	"restore the database from a newer backup (one taken at generation %[2]d or later)."

// Advice returns the one sentence to show people for an error from Open,
// the store or the keyring (matched with errors.Is), or "" when err is none
// of those: the command line and the window both show these words.
func Advice(err error) string {
	if err == nil {
		return ""
	}
	if rb, ok := errors.AsType[*pgstore.RolledBackError](err); ok {
		return fmt.Sprintf(rolledBack, rb.Gen, rb.Seen)
	}
	for _, a := range advice {
		if errors.Is(err, a.err) {
			return a.text
		}
	}
	return ""
}

// DemoNotice is what the window says, in its banner and in the dialog
// showing a new key's secret, while it shows the demo: the sample keys and
// whatever is created are thrown away when the window closes.
const DemoNotice = "Demo — sample keys, nothing is saved. Keys created here stop existing when the window closes."

// DemoTitle is the window's title while it shows the demo.
const DemoTitle = "Company API Keys — Demo"

// DemoNoRestore is File → Restore… in the demo, where it is off: it says
// why before a file and a passphrase are asked for.
const DemoNoRestore = "Restore… (not in the demo: open a data folder first)"

// Why a key's action is off, in the tooltip of its greyed-out button.
const (
	OffRefused  = "Off: this data folder's records do not match their signatures, so nothing can be changed."
	OffTampered = "Off: this key's record was edited outside Keydesk; delete it and create a new key."
	OffRolled   = "Off: this key was already rolled; roll its new key instead."
	OffExpired  = "Off: this key has expired; Duplicate makes a new key with its permissions."
)

// TryKeyIntro heads the window's Try a key screen: Check the key sends
// nothing, but Send API Request, offered on the same screen for an
// imported API's operations, does.
const TryKeyIntro = "Check the key sends nothing over the network: Keydesk checks the key here, exactly as the " +
	"verification API would, and shows the answer the API would give; a check does not count as the key's last use. " +
	"Send API Request, offered below for an imported API's operations, does send a real request to its server."

// Sentences returns every sentence of the advice table and the window's
// notices above, so that a test can check each is drawable.
func Sentences() []string {
	out := []string{DemoNotice, DemoTitle, DemoNoRestore, OffRefused, OffTampered, OffRolled, OffExpired, TryKeyIntro}
	for _, a := range advice {
		out = append(out, a.text)
	}
	return out
}
