package seal

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/keydesk/keydesk/core"
)

// HKDF labels of the shared store's keys (see EdSigner).
const (
	infoEd25519 = "keydesk v2 record ed25519 seed"
	infoSet     = "keydesk v2 shared set mac"
)

// EdSigner is a shared store's admin material, derived by HKDF-SHA256 from
// the store's master key: the EdVerifier's keys plus the Ed25519 private
// key that signs records and the store's state. It implements
// core.Signer. (Builds before the LtHash set digest also derived a key,
// labelled "keydesk v2 shared state mask", that hid the stored XOR
// accumulator; the LtHash digest of the live records is no secret from
// whoever can read them, so it is stored as it is.)
type EdSigner struct {
	*EdVerifier
	priv ed25519.PrivateKey
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
	priv := ed25519.NewKeyFromSeed(seed)
	v, err := NewEdVerifier(VerifyMaterial{DigestKey: digest, SetKey: set, PublicKey: priv.Public().(ed25519.PublicKey)})
	if err != nil {
		return nil, err
	}
	return &EdSigner{EdVerifier: v, priv: priv}, nil
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

// SignCatalogState returns the Ed25519 signature of the shared state
// (storeID, gen, set, catalog): see CatalogStateMessage.
func (s *EdSigner) SignCatalogState(storeID string, gen uint64, set *Set, catalog [sha256.Size]byte) []byte {
	return ed25519.Sign(s.priv, CatalogStateMessage(storeID, gen, set, catalog))
}

// SignAudit returns the Ed25519 signature of an audit entry's message
// (package pgstore's, whose prefix differs from every record payload's and
// state message's, so that no signature passes for another).
func (s *EdSigner) SignAudit(msg []byte) []byte { return ed25519.Sign(s.priv, msg) }

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
