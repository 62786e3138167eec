package workspace

import (
	"context"

	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/storage"
)

// KeyringBackend holds a store's keyring entries: the OS keyring
// (OSKeyring), the data folder's key file, or memory (NewMemoryKeyring).
type KeyringBackend = storage.KeyringBackend

// KeyFileOptions tune the data folder's key file (tests lower its scrypt
// cost).
type KeyFileOptions = storage.KeyFileOptions

// MemoryKeyring is a KeyringBackend in memory (the demo's, and tests').
type MemoryKeyring = storage.MemoryKeyring

// OSKeyring is the OS keyring (the Secret Service, the macOS Keychain or
// the Windows Credential Manager), with the default timeout.
func OSKeyring() KeyringBackend { return storage.OSKeyring(0) }

// NewMemoryKeyring returns an empty keyring in memory.
func NewMemoryKeyring() *MemoryKeyring { return storage.NewMemoryKeyring() }

// FolderExists reports whether the data folder dir already holds a Keydesk
// database.
func FolderExists(dir string) (bool, error) { return storage.Exists(dir) }

// KeyFileExists reports whether the data folder dir keeps its signing
// material in a key file (keydesk.key).
func KeyFileExists(dir string) (bool, error) { return storage.KeyFileExists(dir) }

// ImportAdminMaterial puts a store's master key (from an admin's
// credential) into the keyring backend under the store's id, so that this
// computer may open the store as an admin.
func ImportAdminMaterial(backend KeyringBackend, storeID string, master []byte) error {
	if _, err := storage.ImportKeyringIn(orOSKeyring(backend), storeID, master); err != nil {
		return err
	}
	return nil
}

// SharedStoreID connects to the shared store at url and returns its id.
func SharedStoreID(ctx context.Context, url string) (string, error) {
	st, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		return "", err
	}
	defer st.Close()
	return st.StoreID(), nil
}

// CheckStoreURL checks a shared store's URL without connecting: ErrBadURL
// when it does not parse. hasPassword says whether it holds a password,
// which the command line warns about.
func CheckStoreURL(raw string) (hasPassword bool, err error) { return pgstore.CheckURL(raw) }

// CheckFollowURL checks a replica's direct URL for listening to changes
// (ReplicaOptions.FollowURL) without connecting.
func CheckFollowURL(raw string) error {
	_, err := pgstore.ParseListenURL(raw)
	return err
}
