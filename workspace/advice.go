package workspace

import (
	"errors"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/storage"
)

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
	{storage.ErrReadOnly, "This data folder was opened without its signing key, so it cannot be changed."},
	{storage.ErrKeyringUnavailable, "The OS keyring is not available or is locked: unlock it (or start a Secret Service such as gnome-keyring) and try again."},
	{storage.ErrMasterKeyMissing, "This data folder's signing key is missing from the OS keyring, so its keys cannot be verified or changed: restore the keyring entry or use a new data folder."},
	{storage.ErrMasterKeyInvalid, "This data folder's signing key in the OS keyring is damaged, so its keys cannot be verified or changed: restore the keyring entry or use a new data folder."},
	{core.ErrTampered, "The key's stored record does not match its signature (the data file was edited); delete it and create a new key."},
}

// Advice returns the one sentence to show people for an error from Open,
// the store or the keyring (matched with errors.Is), or "" when err is none
// of those: the command line and the window both show these words.
func Advice(err error) string {
	if err == nil {
		return ""
	}
	for _, a := range advice {
		if errors.Is(err, a.err) {
			return a.text
		}
	}
	return ""
}
