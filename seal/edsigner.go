package seal

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/keydesk/keydesk/core"
)

// HKDF labels of the shared store's keys (see EdSigner).
const (
	infoEd25519 = "keydesk v2 record ed25519 seed"
	infoSet     = "keydesk v2 shared set mac"
	infoMask    = "keydesk v2 shared state mask"
)

// EdSigner is a shared store's admin material, derived by HKDF-SHA256 from
// the store's master key: the EdVerifier's keys plus the Ed25519 private
// key that signs records and the store's state, and the key that hides the
// stored accumulator from readers of the database. It implements
// core.Signer.
type EdSigner struct {
	*EdVerifier
	priv ed25519.PrivateKey
	mask []byte
}

var _ core.Signer = (*EdSigner)(nil)

// NewEdSigner derives a shared store's admin material from its 256-bit
// master key.
func NewEdSigner(master []byte) (*EdSigner, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes", MasterKeySize)
	}
	digest, err := deriveKey(master, infoDigest, KeySize)
	if err != nil {
		return nil, err
	}
	set, err := deriveKey(master, infoSet, KeySize)
	if err != nil {
		return nil, err
	}
	seed, err := deriveKey(master, infoEd25519, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	mask, err := deriveKey(master, infoMask, KeySize)
	if err != nil {
		return nil, err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	v, err := NewEdVerifier(VerifyMaterial{DigestKey: digest, SetKey: set, PublicKey: priv.Public().(ed25519.PublicKey)})
	if err != nil {
		return nil, err
	}
	return &EdSigner{EdVerifier: v, priv: priv, mask: mask}, nil
}

// Verifier returns the verify-only part of the material.
func (s *EdSigner) Verifier() *EdVerifier { return s.EdVerifier }

// SignRecord returns the Ed25519 signature of payload.
func (s *EdSigner) SignRecord(payload []byte) []byte { return ed25519.Sign(s.priv, payload) }

// SignState returns the Ed25519 signature of the shared state (storeID,
// gen, set): see StateMessage.
func (s *EdSigner) SignState(storeID string, gen uint64, set *Set) []byte {
	return ed25519.Sign(s.priv, StateMessage(storeID, gen, set))
}

// Mask returns the set's accumulator hidden under a one-time pad for
// generation gen of store storeID, as the shared store keeps it (admins
// read it back with Unmask to update it; a database reader learns nothing
// from it).
func (s *EdSigner) Mask(storeID string, gen uint64, set *Set) [sha256.Size]byte {
	m := s.pad(storeID, gen)
	for i := range m {
		m[i] ^= set.acc[i]
	}
	return m
}

// Unmask returns the set of count records whose accumulator Mask hid as
// masked.
func (s *EdSigner) Unmask(storeID string, gen uint64, masked [sha256.Size]byte, count uint64) Set {
	set := Set{acc: s.pad(storeID, gen), Count: count}
	set.xor(masked)
	return set
}

// pad returns the one-time pad of generation gen of store storeID.
func (s *EdSigner) pad(storeID string, gen uint64) [sha256.Size]byte {
	h := hmac.New(sha256.New, s.mask)
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(len(storeID)))
	b = append(b, storeID...)
	b = binary.BigEndian.AppendUint64(b, gen)
	h.Write(b)
	return [sha256.Size]byte(h.Sum(nil))
}

// MasterSigners returns the local store's HMAC signer and the shared
// store's Ed25519 signer of one master key (moving a local store checks
// its records with the first and re-signs them with the second).
func MasterSigners(master []byte) (*Signer, *EdSigner, error) {
	h, err := NewSigner(master)
	if err != nil {
		return nil, nil, err
	}
	e, err := NewEdSigner(master)
	if err != nil {
		return nil, nil, err
	}
	return h, e, nil
}
