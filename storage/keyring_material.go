package storage

import (
	"encoding/base64"
	"errors"
	"fmt"
)

// Material is what a store keeps in its keyring besides the generation:
// its master key (the signing material) and the SMTP password. A backup
// carries it; Install puts it into another keyring.
type Material struct {
	StoreID      string
	Master       []byte
	MailPassword string
}

// Material returns the store's master key and SMTP password as held by the
// keyring backend.
func (k *Keyring) Material() (Material, error) {
	master, err := readMaster(k.backend, k.storeID)
	if err != nil {
		return Material{}, err
	}
	pw, err := k.MailPassword()
	if err != nil {
		return Material{}, err
	}
	return Material{StoreID: k.storeID, Master: master, MailPassword: pw}, nil
}

// InstallKeyring writes m into backend (master key, SMTP password, or its
// absence) and records generation as the store's generation: the restore
// of a backup, which is the one legitimate way back to an older state of a
// store (see Keyring.SetGeneration). It returns the installed keyring.
func InstallKeyring(backend KeyringBackend, m Material, generation uint64) (*Keyring, error) {
	if m.StoreID == "" {
		return nil, errors.New("install keyring: no store id")
	}
	if len(m.Master) != MasterKeySize {
		return nil, fmt.Errorf("install keyring: %w", ErrMasterKeyInvalid)
	}
	kr, err := newKeyring(backend, m.StoreID, m.Master)
	if err != nil {
		return nil, err
	}
	if err := backend.Set(masterUser(m.StoreID), base64.StdEncoding.EncodeToString(m.Master)); err != nil {
		return nil, unavailable(err)
	}
	if err := kr.SetMailPassword(m.MailPassword); err != nil {
		return nil, err
	}
	if err := kr.SetGeneration(generation); err != nil {
		return nil, err
	}
	return kr, nil
}

// ProbeKeyring reports whether backend can be used, reading the store's
// master key entry (which may be absent): ErrKeyringUnavailable when it
// cannot. Restore calls it before writing anything.
func ProbeKeyring(backend KeyringBackend, storeID string) error {
	if _, err := backend.Get(masterUser(storeID)); err != nil && !errors.Is(err, ErrNoEntry) {
		return unavailable(err)
	}
	return nil
}
