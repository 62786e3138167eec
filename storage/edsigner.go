package storage

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/keydesk/keydesk/core"
)

// HKDF labels of the shared store's keys (see EdSigner).
const (
	infoEd25519 = "keydesk v2 record ed25519 seed"
	infoSet     = "keydesk v2 shared set mac"
	infoMask    = "keydesk v2 shared state mask"
)

// KeySize is the size of the symmetric keys in verify-only material.
const KeySize = 32

// EdVerifier verifies a shared store's records: it digests presented
// secrets with the store's digest key (the same as the local Signer's, so
// keys issued by a local store keep verifying after it moves to a shared
// one) and checks Ed25519 record signatures with the store's public key.
// It holds nothing that signs, so a verification server given one cannot
// create, widen or extend a key. It also computes the keyed set elements
// of the shared store's signed state (see pgstore). It implements
// core.Verifier and is safe for concurrent use.
type EdVerifier struct {
	pub            ed25519.PublicKey
	digestKey, set []byte
	digest, setMAC sync.Pool
}

var _ core.Verifier = (*EdVerifier)(nil)

// VerifyMaterial is what a verification server needs: the digest key, the
// set key and the Ed25519 public key. Servers keep it in a file readable
// by them alone (see the README): whoever holds it can tell valid secrets
// from invalid ones, but cannot sign a record.
type VerifyMaterial struct {
	DigestKey []byte
	SetKey    []byte
	PublicKey ed25519.PublicKey
}

// NewEdVerifier returns the verifier for material m.
func NewEdVerifier(m VerifyMaterial) (*EdVerifier, error) {
	if len(m.DigestKey) != KeySize || len(m.SetKey) != KeySize || len(m.PublicKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: verification material of the wrong size", ErrMasterKeyInvalid)
	}
	v := &EdVerifier{pub: append(ed25519.PublicKey(nil), m.PublicKey...), digestKey: append([]byte(nil), m.DigestKey...), set: append([]byte(nil), m.SetKey...)}
	v.digest.New = newMAC(v.digestKey)
	v.setMAC.New = newMAC(v.set)
	return v, nil
}

// Material returns the verifier's material (for export).
func (v *EdVerifier) Material() VerifyMaterial {
	return VerifyMaterial{
		DigestKey: append([]byte(nil), v.digestKey...),
		SetKey:    append([]byte(nil), v.set...),
		PublicKey: append(ed25519.PublicKey(nil), v.pub...),
	}
}

// PublicKey returns the store's Ed25519 public key.
func (v *EdVerifier) PublicKey() ed25519.PublicKey { return v.pub }

// DigestSecret returns HMAC-SHA256 of secret under the digest key.
func (v *EdVerifier) DigestSecret(secret string) []byte { return digestSecret(&v.digest, secret) }

// SecretDigest is DigestSecret without allocating (core.SecretDigester).
func (v *EdVerifier) SecretDigest(secret string) [sha256.Size]byte {
	return digestArray(&v.digest, secret)
}

// VerifyRecord reports whether sig is the store's Ed25519 signature of
// payload.
func (v *EdVerifier) VerifyRecord(payload, sig []byte) bool { return v.verify(payload, sig) }

// VerifyState reports whether sig is the store's Ed25519 signature of the
// state message msg (a message distinct from every record payload: see
// pgstore's state encoding).
func (v *EdVerifier) VerifyState(msg, sig []byte) bool { return v.verify(msg, sig) }

// verify reports whether sig is the store's Ed25519 signature of msg.
func (v *EdVerifier) verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(v.pub, msg, sig)
}

// SetElement returns a live record's keyed contribution to the shared
// store's set accumulator: HMAC-SHA256 under the set key of its id and
// signature. Without the set key nobody can compute it, so nobody can pick
// old signed records whose contributions add up to the signed state.
func (v *EdVerifier) SetElement(id string, sig []byte) [sha256.Size]byte {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(id)))
	return [sha256.Size]byte(sum(&v.setMAC, []byte("keydesk shared record v2"), n[:], []byte(id), sig))
}

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

// SignState returns the Ed25519 signature of a state message.
func (s *EdSigner) SignState(msg []byte) []byte { return ed25519.Sign(s.priv, msg) }

// Mask returns the one-time pad that hides the accumulator stored with
// generation gen of store storeID (admins read it back to update it; a
// database reader learns nothing from it).
func (s *EdSigner) Mask(storeID string, gen uint64) [sha256.Size]byte {
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
