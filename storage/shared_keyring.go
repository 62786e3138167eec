package storage

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

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

// sharedGenerationUser names the keyring entry holding the highest signed
// generation of shared store storeID this computer has accepted. It is not
// "generation:<storeID>": a data folder moved into a shared store keeps its
// id, and the two generations count different things.
func sharedGenerationUser(storeID string) string { return "shared-generation:" + storeID }

// SharedGeneration returns the highest signed generation of the shared
// store this computer has accepted (opened, changed or followed), 0 when
// none is recorded. An admin refuses a shared store whose signed state is
// older: the database was put back to an older copy.
func (k *Keyring) SharedGeneration() (uint64, error) {
	v, err := k.backend.Get(sharedGenerationUser(k.storeID))
	switch {
	case errors.Is(err, ErrNoEntry):
		return 0, nil
	case err != nil:
		return 0, unavailable(err)
	}
	gen, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: keyring entry %q is not a generation", ErrCorrupt, sharedGenerationUser(k.storeID))
	}
	return gen, nil
}

// RecordSharedGeneration raises the recorded shared-store generation to
// gen; a lower gen than the one recorded changes nothing.
func (k *Keyring) RecordSharedGeneration(gen uint64) error {
	k.sharedMu.Lock()
	defer k.sharedMu.Unlock()
	return seal.RaiseGeneration(gen, k.SharedGeneration, func(gen uint64) error {
		if err := k.backend.Set(sharedGenerationUser(k.storeID), strconv.FormatUint(gen, 10)); err != nil {
			return unavailable(err)
		}
		return nil
	})
}
