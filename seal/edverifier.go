package seal

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/keydesk/keydesk/core"
)

// ErrMasterKeyInvalid means signing material is of the wrong size (package
// storage reports it for a damaged keyring entry too).
var ErrMasterKeyInvalid = errors.New("signing key in the os keyring is damaged")

// KeySize is the size of the symmetric keys in verify-only material.
const KeySize = 32

// EdVerifier verifies a shared store's records: it digests presented
// secrets with the store's digest key (the same as the local Signer's, so
// keys issued by a local store keep verifying after it moves to a shared
// one) and checks Ed25519 record signatures with the store's public key.
// It holds nothing that signs, so a verification server given one cannot
// create, widen or extend a key. It also computes the keyed set elements
// of the shared store's signed state (see pgstore). It implements
// core.RecordVerifier and is safe for concurrent use.
type EdVerifier struct {
	pub            ed25519.PublicKey
	digestKey, set []byte
	digest, setMAC sync.Pool
}

var _ core.RecordVerifier = (*EdVerifier)(nil)

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
// shared state (storeID, gen, set): see StateMessage.
func (v *EdVerifier) VerifyState(storeID string, gen uint64, set *Set, sig []byte) bool {
	return v.verify(StateMessage(storeID, gen, set), sig)
}

// VerifyCatalogState reports whether sig is the store's Ed25519 signature
// of the shared state (storeID, gen, set, catalog): see
// CatalogStateMessage.
func (v *EdVerifier) VerifyCatalogState(storeID string, gen uint64, set *Set, catalog [sha256.Size]byte, sig []byte) bool {
	return v.verify(CatalogStateMessage(storeID, gen, set, catalog), sig)
}

// VerifyLegacyState reports whether sig is the store's Ed25519 signature
// of a state of format 2 (builds before Set). Only an admin moving a store
// to format 3 calls it (see XorSet).
func (v *EdVerifier) VerifyLegacyState(storeID string, gen uint64, set *XorSet, sig []byte) bool {
	return v.verify(legacyStateMessage(storeID, gen, set), sig)
}

// VerifyAudit reports whether sig is the store's Ed25519 signature of an
// audit entry's message (see EdSigner.SignAudit).
func (v *EdVerifier) VerifyAudit(msg, sig []byte) bool { return v.verify(msg, sig) }

// verify reports whether sig is the store's Ed25519 signature of msg.
func (v *EdVerifier) verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(v.pub, msg, sig)
}

// SetElement returns a live record's element in the shared store's set
// digest: HMAC-SHA256 under the set key of its id and signature. Servers
// hold the set key, so the digest's security against them rests on Set's
// collision resistance, not on the key.
func (v *EdVerifier) SetElement(id string, sig []byte) Element {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(id)))
	return Element(sum(&v.setMAC, []byte("keydesk shared record v2"), n[:], []byte(id), sig))
}

// StateMessage is what a shared store's state signature covers (state
// format 3): the store id, the generation and the set of live records
// (its count and LtHash digest, see Set). Its prefix differs from every
// record payload's and from the format 2 message's, so no signature of one
// passes for another.
func StateMessage(storeID string, gen uint64, set *Set) []byte {
	b := make([]byte, 0, 32+len(storeID)+SetSize)
	b = append(b, "keydesk shared state v3\x00"...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(storeID)))
	b = append(b, storeID...)
	b = binary.BigEndian.AppendUint64(b, gen)
	b, _ = set.AppendBinary(b)
	return b
}

// CatalogStateMessage is what a shared store's state signature covers in
// state format 4: StateMessage's fields and the digest of the store's
// permission catalog setting (package pgstore's CatalogDigest; zero when
// none is stored), so that a catalog written back or removed matches no
// signed state. Its prefix differs from StateMessage's, so neither
// signature passes for the other.
func CatalogStateMessage(storeID string, gen uint64, set *Set, catalog [sha256.Size]byte) []byte {
	b := make([]byte, 0, 32+len(storeID)+SetSize+sha256.Size)
	b = append(b, "keydesk shared state v4\x00"...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(storeID)))
	b = append(b, storeID...)
	b = binary.BigEndian.AppendUint64(b, gen)
	b, _ = set.AppendBinary(b)
	return append(b, catalog[:]...)
}

// legacyStateMessage is what the state signature covered in format 2
// (builds before Set): the XorSet's count and the SHA-256 of its
// accumulator.
func legacyStateMessage(storeID string, gen uint64, set *XorSet) []byte {
	h := sha256.Sum256(set.Acc[:])
	b := []byte("keydesk shared state v2\x00")
	b = binary.BigEndian.AppendUint32(b, uint32(len(storeID)))
	b = append(b, storeID...)
	b = binary.BigEndian.AppendUint64(b, gen)
	b = binary.BigEndian.AppendUint64(b, set.Count)
	return append(b, h[:]...)
}
