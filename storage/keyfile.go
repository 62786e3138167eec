package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/keydesk/keydesk/atomicfile"
	"github.com/keydesk/keydesk/envelope"
)

// KeyFileName is the file in a data folder that keeps the store's signing
// material when there is no OS keyring (the --keyfile choice).
const KeyFileName = "keydesk.key"

// keyFileGenName keeps the generation entries of a key file: the
// generation is not a secret, and it changes with every change to the
// store, while rewriting keydesk.key costs an scrypt derivation (about a
// second). Whoever can replace keydesk.db with an older copy can replace
// this file (or keydesk.key) too, so the rollback check is no weaker here
// than it would be inside keydesk.key.
const keyFileGenName = "keydesk.key.generation"

// keyFileKind is the kind of the envelope (see package envelope) keydesk.key
// is; its one file holds the entries as a JSON object.
const (
	keyFileKind    = "keyfile"
	keyFileEntries = "keyring.json"
	// maxKeyFileEntries bounds keyring.json: a master key and an SMTP
	// password take a few hundred bytes.
	maxKeyFileEntries = 1 << 20
)

// ErrNoKeyFile means the data folder has no keydesk.key.
var ErrNoKeyFile = errors.New("no key file (keydesk.key) in the data folder")

// KeyFilePath returns the path of a data folder's key file.
func KeyFilePath(dir string) string { return filepath.Join(dir, KeyFileName) }

// KeyFileExists reports whether dir holds a key file.
func KeyFileExists(dir string) (bool, error) { return fileExists(KeyFilePath(dir), "key file") }

// KeyFile is a KeyringBackend kept in a data folder instead of the OS
// keyring: the master key and the SMTP password in keydesk.key, an
// envelope (see package envelope: age with an scrypt passphrase) rewritten
// atomically on each change to them, and the generation in the clear in
// keydesk.key.generation. The passphrase stays in memory for the session
// and is never written anywhere.
type KeyFile struct {
	mu         sync.Mutex
	dir        string
	passphrase string
	secrets    map[string]string // master:..., smtp:...
	gens       map[string]string // generation:...
	workFactor int
	now        func() time.Time
}

var _ KeyringBackend = (*KeyFile)(nil)

// KeyFileOptions tune a KeyFile.
type KeyFileOptions struct {
	// WorkFactor is the scrypt work factor's log2 for writing keydesk.key;
	// zero means age's default (18). Tests lower it.
	WorkFactor int
}

// NewKeyFile returns an empty key file for dir protected by passphrase
// (at least envelope.MinPassphrase characters); nothing is written until the
// first entry is set. It refuses a folder that already holds one.
func NewKeyFile(dir, passphrase string, opts KeyFileOptions) (*KeyFile, error) {
	if err := envelope.CheckPassphrase(passphrase); err != nil {
		return nil, err
	}
	if ok, err := KeyFileExists(dir); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("create key file: %s already exists", KeyFilePath(dir))
	}
	return &KeyFile{dir: dir, passphrase: passphrase, secrets: map[string]string{}, gens: map[string]string{},
		workFactor: opts.WorkFactor, now: time.Now}, nil
}

// OpenKeyFile reads dir's key file with passphrase. It fails with
// ErrNoKeyFile when there is none, and with envelope's errors
// (envelope.ErrWrongPassphrase, envelope.ErrDamaged, ...) when it cannot be read.
func OpenKeyFile(dir, passphrase string, opts KeyFileOptions) (*KeyFile, error) {
	f, err := os.Open(KeyFilePath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoKeyFile
	} else if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	defer f.Close()
	r, err := envelope.Open(f, passphrase, envelope.OpenOptions{
		Kind: keyFileKind, WorkFactor: opts.WorkFactor, Files: map[string]int64{keyFileEntries: maxKeyFileEntries},
	})
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	if r.Manifest.Kind != keyFileKind {
		return nil, fmt.Errorf("open key file: %w (it is a %q envelope)", envelope.ErrNotEnvelope, r.Manifest.Kind)
	}
	files, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	k := &KeyFile{dir: dir, passphrase: passphrase, secrets: map[string]string{}, gens: map[string]string{},
		workFactor: opts.WorkFactor, now: time.Now}
	if err := json.Unmarshal(files[keyFileEntries], &k.secrets); err != nil || k.secrets == nil {
		return nil, fmt.Errorf("open key file: %w: no entries", envelope.ErrDamaged)
	}
	gens, err := os.ReadFile(filepath.Join(dir, keyFileGenName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open key file: %w", err)
	default:
		if err := json.Unmarshal(gens, &k.gens); err != nil || k.gens == nil {
			return nil, fmt.Errorf("%w: %s is not valid", ErrCorrupt, keyFileGenName)
		}
	}
	return k, nil
}

// Dir returns the folder the key file lives in.
func (k *KeyFile) Dir() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.dir
}

func (k *KeyFile) table(user string) map[string]string {
	if strings.HasPrefix(user, "generation:") {
		return k.gens
	}
	return k.secrets
}

// Get returns an entry, or ErrNoEntry.
func (k *KeyFile) Get(user string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return entry(k.table(user), user)
}

// Set stores an entry and writes the file it belongs to.
func (k *KeyFile) Set(user, value string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.table(user)
	prev, had := t[user]
	if had && prev == value {
		return nil
	}
	t[user] = value
	if err := k.write(user); err != nil {
		if had {
			t[user] = prev
		} else {
			delete(t, user)
		}
		return err
	}
	return nil
}

// Delete removes an entry, or returns ErrNoEntry.
func (k *KeyFile) Delete(user string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.table(user)
	prev, ok := t[user]
	if !ok {
		return ErrNoEntry
	}
	delete(t, user)
	if err := k.write(user); err != nil {
		t[user] = prev
		return err
	}
	return nil
}

// write rewrites the file holding user's entry; k.mu is held. A key file
// left with no secret is removed (a first run that is undone).
func (k *KeyFile) write(user string) error {
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if strings.HasPrefix(user, "generation:") {
		data, err := json.Marshal(k.gens)
		if err != nil {
			return err
		}
		return atomicfile.Write(filepath.Join(k.dir, keyFileGenName), func(f *os.File) error {
			_, err := f.Write(data)
			return err
		})
	}
	if len(k.secrets) == 0 {
		for _, name := range []string{KeyFileName, keyFileGenName} {
			if err := os.Remove(filepath.Join(k.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove key file: %w", err)
			}
		}
		return nil
	}
	data, err := json.Marshal(k.secrets)
	if err != nil {
		return err
	}
	m := envelope.Manifest{Kind: keyFileKind, TakenAt: k.now()}
	return atomicfile.Write(KeyFilePath(k.dir), func(f *os.File) error {
		return envelope.Write(f, k.passphrase, m, []envelope.File{envelope.Bytes(keyFileEntries, data)}, envelope.Options{WorkFactor: k.workFactor})
	})
}

// MoveTo moves the key file's files into dir (same file system) and keeps
// them there from now on. Restore writes a key file next to the restored
// database in a temporary folder and moves both in.
func (k *KeyFile) MoveTo(dir string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, name := range []string{KeyFileName, keyFileGenName} {
		err := os.Rename(filepath.Join(k.dir, name), filepath.Join(dir, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move key file: %w", err)
		}
	}
	k.dir = dir
	return nil
}
