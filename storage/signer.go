package storage

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"

	"github.com/keydesk/keydesk/core"
)

// HKDF labels of the keys derived from a master key. Each label gives an
// independent key; a new use gets a new label.
const (
	infoDigest = "keydesk v1 secret digest"
	infoRecord = "keydesk v1 record mac"
	infoState  = "keydesk v1 store state mac"
)

// Signer implements core.Signer with keys derived by HKDF-SHA256 from a
// store's master key: one HMACs secrets, one MACs records, and one MACs the
// store's state (its generation and the set of its live records, see
// seal.go). It is safe for concurrent use. HMAC states are pooled so that
// DigestSecret, which is on the verification hot path, costs only the HMAC
// itself.
type Signer struct {
	digest, record, state sync.Pool
}

var _ core.Signer = (*Signer)(nil)

// NewSigner derives the digest, record and state keys from a 256-bit master
// key.
func NewSigner(master []byte) (*Signer, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes", MasterKeySize)
	}
	s := &Signer{}
	for _, d := range []struct {
		info string
		pool *sync.Pool
	}{{infoDigest, &s.digest}, {infoRecord, &s.record}, {infoState, &s.state}} {
		k, err := deriveKey(master, d.info, sha256.Size)
		if err != nil {
			return nil, err
		}
		d.pool.New = newMAC(k)
	}
	return s, nil
}

// deriveKey returns the n-byte key labelled info derived from master by
// HKDF-SHA256.
func deriveKey(master []byte, info string, n int) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, master, nil, info, n)
	if err != nil {
		return nil, fmt.Errorf("derive key %q: %w", info, err)
	}
	return k, nil
}

// pooledMAC is a keyed HMAC state and scratch buffers for its input and
// its sum.
type pooledMAC struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

func newMAC(key []byte) func() any {
	return func() any { return &pooledMAC{h: hmac.New(sha256.New, key), buf: make([]byte, 0, 128)} }
}

func sum(pool *sync.Pool, data ...[]byte) []byte {
	m := pool.Get().(*pooledMAC)
	m.h.Reset()
	for _, d := range data {
		m.h.Write(d)
	}
	out := m.h.Sum(make([]byte, 0, sha256.Size))
	pool.Put(m)
	return out
}

// digestArray returns the HMAC of secret with a state from pool, without
// allocating: the secret is copied into the state's scratch buffer rather
// than converted to a []byte, and summed into its scratch array. A buffer
// grown past 1 KiB by an oversized secret is dropped rather than pooled.
func digestArray(pool *sync.Pool, secret string) [sha256.Size]byte {
	m := pool.Get().(*pooledMAC)
	m.buf = append(m.buf[:0], secret...)
	m.h.Reset()
	m.h.Write(m.buf)
	m.h.Sum(m.sum[:0])
	out := m.sum
	if cap(m.buf) <= 1024 {
		pool.Put(m)
	}
	return out
}

// digestSecret is digestArray as a slice.
func digestSecret(pool *sync.Pool, secret string) []byte {
	d := digestArray(pool, secret)
	return d[:]
}

// DigestSecret returns HMAC-SHA256 of secret under the digest key.
func (s *Signer) DigestSecret(secret string) []byte { return digestSecret(&s.digest, secret) }

// SecretDigest is DigestSecret without allocating (core.SecretDigester).
func (s *Signer) SecretDigest(secret string) [sha256.Size]byte { return digestArray(&s.digest, secret) }

// SignRecord returns HMAC-SHA256 of payload under the record key.
func (s *Signer) SignRecord(payload []byte) []byte { return sum(&s.record, payload) }

// VerifyRecord reports, in constant time, whether mac authenticates payload.
func (s *Signer) VerifyRecord(payload, mac []byte) bool {
	return hmac.Equal(sum(&s.record, payload), mac)
}

// stateMAC returns HMAC-SHA256 of the concatenated parts under the state
// key.
func (s *Signer) stateMAC(parts ...[]byte) []byte { return sum(&s.state, parts...) }
