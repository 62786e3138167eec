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

// VerifyRecord reports whether sig is the store's Ed25519 signature of
// payload.
func (v *EdVerifier) VerifyRecord(payload, sig []byte) bool { return v.verify(payload, sig) }

// VerifyState reports whether sig is the store's Ed25519 signature of the
// shared state (storeID, gen, set): see StateMessage.
func (v *EdVerifier) VerifyState(storeID string, gen uint64, set *Set, sig []byte) bool {
	return v.verify(StateMessage(storeID, gen, set), sig)
}

// verify reports whether sig is the store's Ed25519 signature of msg.
func (v *EdVerifier) verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(v.pub, msg, sig)
}

// SetElement returns a live record's keyed contribution to the shared
// store's set accumulator: HMAC-SHA256 under the set key of its id and
// signature. Without the set key nobody can compute it, so nobody can pick
// old signed records whose contributions add up to the signed state.
func (v *EdVerifier) SetElement(id string, sig []byte) Element {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(id)))
	return Element(sum(&v.setMAC, []byte("keydesk shared record v2"), n[:], []byte(id), sig))
}

// StateMessage is what a shared store's state signature covers: the store
// id, the generation and the set of live records (its count and the
// SHA-256 of its accumulator). Its prefix differs from every record
// payload's, so neither signature can pass for the other.
func StateMessage(storeID string, gen uint64, set *Set) []byte {
	h := sha256.Sum256(set.acc[:])
	b := []byte("keydesk shared state v2\x00")
	b = binary.BigEndian.AppendUint32(b, uint32(len(storeID)))
	b = append(b, storeID...)
	b = binary.BigEndian.AppendUint64(b, gen)
	b = binary.BigEndian.AppendUint64(b, set.Count)
	return append(b, h[:]...)
}
