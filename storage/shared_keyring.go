package storage

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/keydesk/keydesk/seal"
)

// The keyring of a shared store (package pgstore) is the same entry as a
// local store's: "master:<storeID>" holds the 256-bit master key, from
// which seal.NewEdSigner derives the shared store's Ed25519 key. Moving a local
// store to a shared one keeps its id, so its entry serves both.

// Master returns the store's master key from the keyring (for `keydesk
// credential export`; it never goes anywhere in clear).
func (k *Keyring) Master() ([]byte, error) {
	return readMaster(k.backend, k.storeID)
}

// EdSigner returns the shared store's admin material derived from the
// master key (when the keyring was opened: it reads nothing).
func (k *Keyring) EdSigner() (*seal.EdSigner, error) { return k.ed, nil }

// ImportKeyringIn saves master as the master key of store storeID in
// backend (`keydesk credential import`). An entry already holding another
// key is not replaced: that fails with ErrMasterKeyInvalid.
func ImportKeyringIn(backend KeyringBackend, storeID string, master []byte) (*Keyring, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("%w: master key of the wrong size", ErrMasterKeyInvalid)
	}
	enc := base64.StdEncoding.EncodeToString(master)
	switch old, err := backend.Get(masterUser(storeID)); {
	case err == nil && old != enc:
		return nil, fmt.Errorf("%w: this computer's keyring already holds another signing key for store %s", ErrMasterKeyInvalid, storeID)
	case err == nil:
	case errors.Is(err, ErrNoEntry):
		if err := backend.Set(masterUser(storeID), enc); err != nil {
			return nil, unavailable(err)
		}
	default:
		return nil, unavailable(err)
	}
	return newKeyring(backend, storeID, master)
}
