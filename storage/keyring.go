package storage

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

// KeyringService is the service name of every Keydesk entry in the OS
// keyring. Entries are per store: "master:<storeID>" holds the master key,
// "smtp:<storeID>" the SMTP password and "generation:<storeID>" the store's
// generation as of the last change this computer made (see Store.Seal).
const KeyringService = "keydesk"

// MasterKeySize is the size of a store's master key in bytes (256 bits).
const MasterKeySize = seal.MasterKeySize

// keyringError reports an OS keyring failure as ErrKeyringUnavailable while
// keeping the underlying cause for logs (errors.Unwrap).
type keyringError struct{ cause error }

func (e *keyringError) Error() string        { return ErrKeyringUnavailable.Error() }
func (e *keyringError) Is(target error) bool { return target == ErrKeyringUnavailable }
func (e *keyringError) Unwrap() error        { return e.cause }

func unavailable(err error) error {
	var ke *keyringError
	if errors.As(err, &ke) {
		return err
	}
	return &keyringError{cause: err}
}

// Keyring is a store's signing material and secrets in a keyring backend
// (the OS keyring in production).
type Keyring struct {
	storeID string
	signer  *seal.Signer
	ed      *seal.EdSigner // the record-signing key derived from the same master key
	backend KeyringBackend
	// sharedMu serialises RecordSharedGeneration's read and write.
	sharedMu sync.Mutex
}

func masterUser(storeID string) string     { return "master:" + storeID }
func smtpUser(storeID string) string       { return "smtp:" + storeID }
func generationUser(storeID string) string { return "generation:" + storeID }

// CreateKeyring is CreateKeyringIn with the OS keyring.
func CreateKeyring(storeID string) (*Keyring, error) {
	return CreateKeyringIn(OSKeyring(0), storeID)
}

// OpenKeyring is OpenKeyringIn with the OS keyring.
func OpenKeyring(storeID string) (*Keyring, error) {
	return OpenKeyringIn(OSKeyring(0), storeID)
}

// CreateKeyringIn generates a random 256-bit master key for a new store and
// saves it in backend. A backend that cannot be used fails with
// ErrKeyringUnavailable.
func CreateKeyringIn(backend KeyringBackend, storeID string) (*Keyring, error) {
	master := make([]byte, MasterKeySize)
	if _, err := rand.Read(master); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	if err := backend.Set(masterUser(storeID), base64.StdEncoding.EncodeToString(master)); err != nil {
		return nil, unavailable(err)
	}
	return newKeyring(backend, storeID, master)
}

// OpenKeyringIn fetches an existing store's master key from backend. It
// fails with ErrKeyringUnavailable when the backend cannot be used and with
// ErrMasterKeyMissing when the entry is absent.
func OpenKeyringIn(backend KeyringBackend, storeID string) (*Keyring, error) {
	master, err := readMaster(backend, storeID)
	if err != nil {
		return nil, err
	}
	return newKeyring(backend, storeID, master)
}

// readMaster reads store storeID's master key from backend, with the
// errors of OpenKeyringIn.
func readMaster(backend KeyringBackend, storeID string) ([]byte, error) {
	enc, err := backend.Get(masterUser(storeID))
	switch {
	case errors.Is(err, ErrNoEntry):
		return nil, fmt.Errorf("%w (keyring service %q, entry %q)", ErrMasterKeyMissing, KeyringService, masterUser(storeID))
	case err != nil:
		return nil, unavailable(err)
	}
	master, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(master) != MasterKeySize {
		return nil, fmt.Errorf("%w (keyring service %q, entry %q)", ErrMasterKeyInvalid, KeyringService, masterUser(storeID))
	}
	return master, nil
}

func newKeyring(backend KeyringBackend, storeID string, master []byte) (*Keyring, error) {
	s, ed, err := seal.MasterSigners(master)
	if err != nil {
		return nil, err
	}
	return &Keyring{storeID: storeID, signer: s, ed: ed, backend: backend}, nil
}

// StoreID returns the id of the store the keyring entries belong to.
func (k *Keyring) StoreID() string { return k.storeID }

// Signer returns the signing material derived from the master key.
func (k *Keyring) Signer() core.Signer { return k.signer }

// Forget deletes the store's entries (master key, SMTP password and
// generation) from the keyring. Open uses it to undo a first run that could
// not create its database; after Forget the store's keys can no longer be
// verified.
func (k *Keyring) Forget() error {
	for _, user := range []string{masterUser(k.storeID), smtpUser(k.storeID), generationUser(k.storeID)} {
		if err := k.backend.Delete(user); err != nil && !errors.Is(err, ErrNoEntry) {
			return unavailable(err)
		}
	}
	return nil
}

// MailPassword returns the SMTP password, or "" when none is set.
func (k *Keyring) MailPassword() (string, error) {
	p, err := k.backend.Get(smtpUser(k.storeID))
	switch {
	case errors.Is(err, ErrNoEntry):
		return "", nil
	case err != nil:
		return "", unavailable(err)
	}
	return p, nil
}

// SetMailPassword saves the SMTP password; "" deletes it.
func (k *Keyring) SetMailPassword(p string) error {
	var err error
	if p == "" {
		err = k.backend.Delete(smtpUser(k.storeID))
		if errors.Is(err, ErrNoEntry) {
			err = nil
		}
	} else {
		err = k.backend.Set(smtpUser(k.storeID), p)
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// Generation returns the store generation recorded in the keyring after the
// last change this computer made to the store; ok is false when none is
// recorded (a store sealed for the first time, or a crash between its first
// commit and the keyring write).
func (k *Keyring) Generation() (gen uint64, ok bool, err error) {
	v, err := k.backend.Get(generationUser(k.storeID))
	switch {
	case errors.Is(err, ErrNoEntry):
		return 0, false, nil
	case err != nil:
		return 0, false, unavailable(err)
	}
	gen, err = strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: keyring entry %q is not a generation", ErrCorrupt, generationUser(k.storeID))
	}
	return gen, true, nil
}

// SetGeneration records gen as the store's generation in the keyring. A
// sealed Store calls it after each committed change. It is also the one
// legitimate way back to an older state of the data file: a restore from a
// backup writes the backup's file and then calls SetGeneration with the
// restored file's generation (Store.Generation), so that Seal accepts it.
func (k *Keyring) SetGeneration(gen uint64) error {
	if err := k.backend.Set(generationUser(k.storeID), strconv.FormatUint(gen, 10)); err != nil {
		return unavailable(err)
	}
	return nil
}
