package workspace

import (
	"errors"
	"fmt"

	"github.com/keydesk/keydesk/storage"
)

// Key-file errors callers branch on.
var (
	// ErrKeyFileFolder means the data folder keeps its signing material
	// in keydesk.key but the key file was not chosen (--keyfile).
	ErrKeyFileFolder = errors.New("data folder keeps its signing key in keydesk.key")
	// ErrNotKeyFileFolder means the key file was chosen for a data folder
	// whose store keeps its signing material in the OS keyring.
	ErrNotKeyFileFolder = errors.New("data folder keeps its signing key in the os keyring, not in keydesk.key")
	// ErrNoPassphrase means the key file needs a passphrase and none
	// could be asked for.
	ErrNoPassphrase = errors.New("the key file needs a passphrase")
)

// folderBackend returns the keyring backend for the data folder dir: the
// one given in opts, the key file when opts.KeyFile, else the OS keyring.
// Without the key file chosen, a folder holding keydesk.key is refused
// (the choice is explicit both ways).
func folderBackend(dir string, opts Options) (storage.KeyringBackend, error) {
	if opts.Keyring != nil {
		return opts.Keyring, nil
	}
	hasKeyFile, err := storage.KeyFileExists(dir)
	if err != nil {
		return nil, err
	}
	if !opts.KeyFile {
		if hasKeyFile {
			return nil, ErrKeyFileFolder
		}
		return storage.OSKeyring(0), nil
	}
	return openKeyFile(dir, hasKeyFile, opts.Passphrase, opts.KeyFileOptions)
}

// orOSKeyring returns backend, or the OS keyring when it is nil (the
// default of Options.Keyring and RestoreOptions.Keyring).
func orOSKeyring(backend storage.KeyringBackend) storage.KeyringBackend {
	if backend == nil {
		return storage.OSKeyring(0)
	}
	return backend
}

// openKeyFile opens the key file of the data folder dir (hasKeyFile: the
// folder holds one), asking passphrase for its passphrase, or, when the
// folder holds no store yet, prepares a new one (asking with create set). A
// folder with a store but no key file fails with ErrNotKeyFileFolder; a
// wrong passphrase with envelope.ErrWrongPassphrase.
func openKeyFile(dir string, hasKeyFile bool, passphrase func(create bool) (string, error), opts storage.KeyFileOptions) (*storage.KeyFile, error) {
	if passphrase == nil {
		return nil, ErrNoPassphrase
	}
	if hasKeyFile {
		p, err := passphrase(false)
		if err != nil {
			return nil, err
		}
		return storage.OpenKeyFile(dir, p, opts)
	}
	if ok, err := storage.Exists(dir); err != nil {
		return nil, err
	} else if ok {
		return nil, ErrNotKeyFileFolder
	}
	p, err := passphrase(true)
	if err != nil {
		return nil, err
	}
	kf, err := storage.NewKeyFile(dir, p, opts)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	return kf, nil
}
