package seal

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"

	"github.com/keydesk/keydesk/core"
)

// MasterKeySize is the size of a store's master key in bytes (256 bits).
const MasterKeySize = 32

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
// StateMAC). It is safe for concurrent use. HMAC states are pooled so that
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

// ElementV1 returns a record's set element in a local store before schema
// v5 (records without signatures): HMAC under the state key of its id and
// MAC.
func (s *Signer) ElementV1(id, mac []byte) Element {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(id)))
	return Element(s.stateMAC([]byte("keydesk record v1"), n[:], id, mac))
}

// Element returns a signed record's set element in a local store: HMAC
// under the state key of its id, MAC and signature, so that a signature
// removed, replaced or copied from another record changes the set.
func (s *Signer) Element(id, mac, sig []byte) Element {
	var n [8]byte
	binary.BigEndian.PutUint32(n[:4], uint32(len(id)))
	binary.BigEndian.PutUint32(n[4:], uint32(len(mac)))
	return Element(s.stateMAC([]byte("keydesk signed record v2"), n[:], id, mac, sig))
}

// StateMAC returns the MAC of a local store's state: its id, generation,
// and the set of its live records (schema v6; CatalogStateMAC from v7 on,
// which Seal moves a v6 store to after checking this one). Its label differs
// from LegacyStateMAC's, so no state passes for one of another format.
func (s *Signer) StateMAC(storeID string, gen uint64, set *Set) []byte {
	b := stateHeader(storeID, gen)
	b, _ = set.AppendBinary(b)
	return s.stateMAC([]byte("keydesk store state v3"), b)
}

// CatalogStateMAC returns the MAC of a local store's state from schema v7
// on: StateMAC's input and the SHA-256 of the store's catalog setting
// (zero when none is stored), so that an older catalog written back, or
// the catalog removed, no longer matches the state. Its label differs
// from StateMAC's, so no state passes for one of another format.
func (s *Signer) CatalogStateMAC(storeID string, gen uint64, set *Set, catalog [sha256.Size]byte) []byte {
	b := stateHeader(storeID, gen)
	b, _ = set.AppendBinary(b)
	return s.stateMAC([]byte("keydesk store state v4"), b, catalog[:])
}

// LegacyStateMAC returns the MAC of a local store's state as Keydesk wrote
// it before Set: schema v5 (v1 false) or older (v1 true). Seal checks it
// once, when it moves the store to schema v6.
func (s *Signer) LegacyStateMAC(storeID string, gen uint64, set *XorSet, v1 bool) []byte {
	b := stateHeader(storeID, gen)
	b = binary.BigEndian.AppendUint64(b, set.Count)
	label := "keydesk store state v2"
	if v1 {
		label = "keydesk store state v1"
	}
	return s.stateMAC([]byte(label), b, set.Acc[:])
}

// stateHeader is the start of a state MAC's input: the store id (with its
// length) and the generation.
func stateHeader(storeID string, gen uint64) []byte {
	b := make([]byte, 0, 4+len(storeID)+8+SetSize)
	b = binary.BigEndian.AppendUint32(b, uint32(len(storeID)))
	b = append(b, storeID...)
	return binary.BigEndian.AppendUint64(b, gen)
}
