package storage

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/zalando/go-keyring"
)

// KeyringService is the service name of every Keydesk entry in the OS
// keyring. Entries are per store: "master:<storeID>" holds the master key,
// "smtp:<storeID>" the SMTP password.
const KeyringService = "keydesk"

// MasterKeySize is the size of a store's master key in bytes (256 bits).
const MasterKeySize = 32

// KeyringTimeout bounds each OS keyring call, which may wait for the user
// to answer an unlock prompt.
var KeyringTimeout = 2 * time.Minute

// Keyring errors callers branch on.
var (
	// ErrKeyringUnavailable means the OS keyring cannot be reached or is
	// locked.
	ErrKeyringUnavailable = errors.New("The OS keyring is not available or is locked: unlock it (or start a Secret Service such as gnome-keyring) and try again")
	// ErrMasterKeyMissing means the store exists but its master key is not
	// in the OS keyring, so its keys can neither be verified nor changed.
	ErrMasterKeyMissing = errors.New("This data folder's signing key is missing from the OS keyring, so its keys cannot be verified or changed: restore the keyring entry or use a new data folder")
	// ErrMasterKeyInvalid means the keyring entry exists but does not hold
	// a Keydesk master key.
	ErrMasterKeyInvalid = errors.New("This data folder's signing key in the OS keyring is damaged, so its keys cannot be verified or changed: restore the keyring entry or use a new data folder")
)

// keyringError reports an OS keyring failure as ErrKeyringUnavailable while
// keeping the underlying cause for logs (errors.Unwrap).
type keyringError struct{ cause error }

func (e *keyringError) Error() string        { return ErrKeyringUnavailable.Error() }
func (e *keyringError) Is(target error) bool { return target == ErrKeyringUnavailable }
func (e *keyringError) Unwrap() error        { return e.cause }

// call runs one keyring operation, bounded by KeyringTimeout. On timeout
// the operation is abandoned (its goroutine ends whenever the keyring
// answers) and the caller gets ErrKeyringUnavailable.
func call[T any](f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	t := time.NewTimer(KeyringTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-t.C:
		var zero T
		return zero, &keyringError{cause: errors.New("the keyring did not answer in time")}
	}
}

func kget(user string) (string, error) {
	return call(func() (string, error) { return keyring.Get(KeyringService, user) })
}

func kset(user, value string) error {
	_, err := call(func() (struct{}, error) { return struct{}{}, keyring.Set(KeyringService, user, value) })
	return err
}

func kdelete(user string) error {
	_, err := call(func() (struct{}, error) { return struct{}{}, keyring.Delete(KeyringService, user) })
	return err
}

func unavailable(err error) error {
	var ke *keyringError
	if errors.As(err, &ke) {
		return err
	}
	return &keyringError{cause: err}
}

// Keyring is a store's signing material and secrets in the OS keyring.
type Keyring struct {
	storeID string
	signer  *Signer
}

func masterUser(storeID string) string { return "master:" + storeID }
func smtpUser(storeID string) string   { return "smtp:" + storeID }

// CreateKeyring generates a random 256-bit master key for a new store and
// saves it in the OS keyring. A missing or locked keyring fails with
// ErrKeyringUnavailable.
func CreateKeyring(storeID string) (*Keyring, error) {
	master := make([]byte, MasterKeySize)
	if _, err := rand.Read(master); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	if err := kset(masterUser(storeID), base64.StdEncoding.EncodeToString(master)); err != nil {
		return nil, unavailable(err)
	}
	return newKeyring(storeID, master)
}

// OpenKeyring fetches an existing store's master key from the OS keyring.
// It fails with ErrKeyringUnavailable when the keyring cannot be used and
// with ErrMasterKeyMissing when the entry is absent.
func OpenKeyring(storeID string) (*Keyring, error) {
	enc, err := kget(masterUser(storeID))
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return nil, fmt.Errorf("%w (keyring service %q, entry %q)", ErrMasterKeyMissing, KeyringService, masterUser(storeID))
	case err != nil:
		return nil, unavailable(err)
	}
	master, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(master) != MasterKeySize {
		return nil, fmt.Errorf("%w (keyring service %q, entry %q)", ErrMasterKeyInvalid, KeyringService, masterUser(storeID))
	}
	return newKeyring(storeID, master)
}

func newKeyring(storeID string, master []byte) (*Keyring, error) {
	s, err := NewSigner(master)
	if err != nil {
		return nil, err
	}
	return &Keyring{storeID: storeID, signer: s}, nil
}

// StoreID returns the id of the store the keyring entries belong to.
func (k *Keyring) StoreID() string { return k.storeID }

// Signer returns the signing material derived from the master key.
func (k *Keyring) Signer() core.Signer { return k.signer }

// Forget deletes the store's entries (master key and SMTP password) from the
// OS keyring. Open uses it to undo a first run that could not create its
// database; after Forget the store's keys can no longer be verified.
func (k *Keyring) Forget() error {
	for _, user := range []string{masterUser(k.storeID), smtpUser(k.storeID)} {
		if err := kdelete(user); err != nil && !errors.Is(err, keyring.ErrNotFound) {
			return unavailable(err)
		}
	}
	return nil
}

// MailPassword returns the SMTP password, or "" when none is set.
func (k *Keyring) MailPassword() (string, error) {
	p, err := kget(smtpUser(k.storeID))
	switch {
	case errors.Is(err, keyring.ErrNotFound):
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
		err = kdelete(smtpUser(k.storeID))
		if errors.Is(err, keyring.ErrNotFound) {
			err = nil
		}
	} else {
		err = kset(smtpUser(k.storeID), p)
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// HKDF labels of the two keys derived from a master key.
const (
	infoDigest = "keydesk v1 secret digest"
	infoRecord = "keydesk v1 record mac"
)

// Signer implements core.Signer with two keys derived by HKDF-SHA256 from a
// store's master key: one HMACs secrets, the other MACs records. It is safe
// for concurrent use. HMAC states are pooled so that DigestSecret, which is
// on the verification hot path, costs only the HMAC itself.
type Signer struct {
	digest, record sync.Pool
}

var _ core.Signer = (*Signer)(nil)

// NewSigner derives the digest and record keys from a 256-bit master key.
func NewSigner(master []byte) (*Signer, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes", MasterKeySize)
	}
	dk, err := hkdf.Key(sha256.New, master, nil, infoDigest, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("derive digest key: %w", err)
	}
	rk, err := hkdf.Key(sha256.New, master, nil, infoRecord, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("derive record key: %w", err)
	}
	s := &Signer{}
	s.digest.New = newMAC(dk)
	s.record.New = newMAC(rk)
	return s, nil
}

// pooledMAC is a keyed HMAC state and a scratch buffer for its input.
type pooledMAC struct {
	h   hash.Hash
	buf []byte
}

func newMAC(key []byte) func() any {
	return func() any { return &pooledMAC{h: hmac.New(sha256.New, key), buf: make([]byte, 0, 128)} }
}

func sum(pool *sync.Pool, data []byte) []byte {
	m := pool.Get().(*pooledMAC)
	m.h.Reset()
	m.h.Write(data)
	out := m.h.Sum(make([]byte, 0, sha256.Size))
	pool.Put(m)
	return out
}

// DigestSecret returns HMAC-SHA256 of secret under the digest key.
func (s *Signer) DigestSecret(secret string) []byte {
	m := s.digest.Get().(*pooledMAC)
	m.buf = append(m.buf[:0], secret...)
	m.h.Reset()
	m.h.Write(m.buf)
	out := m.h.Sum(make([]byte, 0, sha256.Size))
	if cap(m.buf) <= 1024 {
		s.digest.Put(m)
	}
	return out
}

// SignRecord returns HMAC-SHA256 of payload under the record key.
func (s *Signer) SignRecord(payload []byte) []byte { return sum(&s.record, payload) }

// VerifyRecord reports, in constant time, whether mac authenticates payload.
func (s *Signer) VerifyRecord(payload, mac []byte) bool {
	return hmac.Equal(sum(&s.record, payload), mac)
}
