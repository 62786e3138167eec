package storage

import (
	"errors"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// DefaultKeyringTimeout bounds each OS keyring call, which may wait for the
// user to answer an unlock prompt.
const DefaultKeyringTimeout = 2 * time.Minute

// ErrNoEntry is what a KeyringBackend returns for an entry it does not
// hold.
var ErrNoEntry = errors.New("no such keyring entry")

// KeyringBackend holds Keydesk's keyring entries (under KeyringService),
// named by user ("master:<storeID>", ...). Get and Delete return ErrNoEntry
// for a missing entry; any other error means the keyring could not be used.
// Implementations must be safe for concurrent use.
type KeyringBackend interface {
	Get(user string) (string, error)
	Set(user, value string) error
	Delete(user string) error
}

// OSKeyring returns the OS keyring (Secret Service, macOS Keychain, Windows
// Credential Manager) as a KeyringBackend, each call bounded by timeout
// (zero means DefaultKeyringTimeout). A call that does not answer in time
// is abandoned (its goroutine ends whenever the keyring answers) and fails
// with ErrKeyringUnavailable.
func OSKeyring(timeout time.Duration) KeyringBackend {
	if timeout <= 0 {
		timeout = DefaultKeyringTimeout
	}
	return osKeyring{timeout: timeout}
}

type osKeyring struct{ timeout time.Duration }

func (o osKeyring) Get(user string) (string, error) {
	return call(o.timeout, func() (string, error) { return keyring.Get(KeyringService, user) })
}

func (o osKeyring) Set(user, value string) error {
	_, err := call(o.timeout, func() (struct{}, error) { return struct{}{}, keyring.Set(KeyringService, user, value) })
	return err
}

func (o osKeyring) Delete(user string) error {
	_, err := call(o.timeout, func() (struct{}, error) { return struct{}{}, keyring.Delete(KeyringService, user) })
	return err
}

// call runs one keyring operation, bounded by timeout, and translates
// go-keyring's not-found error into ErrNoEntry.
func call[T any](timeout time.Duration, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		if errors.Is(err, keyring.ErrNotFound) {
			err = ErrNoEntry
		}
		ch <- result{v, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-t.C:
		var zero T
		return zero, &keyringError{cause: errors.New("the keyring did not answer in time")}
	}
}

// MemoryKeyring is a KeyringBackend in memory: the demo's keyring, and the
// one for tests that are not about the OS keyring. The zero value is ready
// to use.
type MemoryKeyring struct {
	mu      sync.Mutex
	entries map[string]string
}

// NewMemoryKeyring returns an empty in-memory keyring.
func NewMemoryKeyring() *MemoryKeyring { return &MemoryKeyring{} }

// Get returns an entry, or ErrNoEntry.
func (m *MemoryKeyring) Get(user string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return entry(m.entries, user)
}

// entry returns entries[user], or ErrNoEntry: the lookup of the backends
// that keep their entries in a map.
func entry(entries map[string]string, user string) (string, error) {
	v, ok := entries[user]
	if !ok {
		return "", ErrNoEntry
	}
	return v, nil
}

// Set stores an entry.
func (m *MemoryKeyring) Set(user, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = make(map[string]string)
	}
	m.entries[user] = value
	return nil
}

// Delete removes an entry, or returns ErrNoEntry.
func (m *MemoryKeyring) Delete(user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[user]; !ok {
		return ErrNoEntry
	}
	delete(m.entries, user)
	return nil
}
