// Package credential reads and writes the files that carry a shared
// store's signing material between computers:
//
//   - The admin credential holds the store's 256-bit master key (from which
//     every key of the store derives: see seal.NewEdSigner). It is the
//     same envelope as a backup (package envelope: age with a scrypt passphrase
//     recipient, so the standard `age -d` opens it, holding a tar with a
//     manifest of kind "credential" and one file, credential.json).
//   - The verify-only credential holds what a verification server needs
//     and nothing that signs: the secret-digest key, the set key and the
//     Ed25519 public key. It is plain JSON, written mode 0600: servers
//     start unattended, so a passphrase would have to sit next to the file
//     with the same protection; keep it in a systemd credential
//     (LoadCredentialEncrypted=) or a Kubernetes secret instead.
//
// Both carry the store's id, so a credential for another store is refused.
package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/seal"
)

// Format is the "format" field of every credential.
const Format = "keydesk-credential"

// Kinds of credential.
const (
	KindAdmin      = "admin"
	KindVerifyOnly = "verify-only"
)

// MinPassphrase is the shortest passphrase accepted for an admin
// credential, in characters: the envelope's own minimum.
const MinPassphrase = envelope.MinPassphrase

// Errors callers branch on.
var (
	ErrNotCredential   = errors.New("the file is not a Keydesk credential")
	ErrWrongPassphrase = errors.New("the passphrase does not open this credential")
	ErrShortPassphrase = fmt.Errorf("the passphrase must have at least %d characters", MinPassphrase)
)

// Credential is the content of a credential file.
type Credential struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Kind    string `json:"kind"`
	StoreID string `json:"storeId"`
	// Master is the admin credential's master key.
	Master []byte `json:"master,omitempty"`
	// DigestKey, SetKey and PublicKey are the verify-only material.
	DigestKey []byte `json:"digestKey,omitempty"`
	SetKey    []byte `json:"setKey,omitempty"`
	PublicKey []byte `json:"publicKey,omitempty"`
}

// Admin returns the admin credential of a store.
func Admin(storeID string, master []byte) *Credential {
	return &Credential{Format: Format, Version: 1, Kind: KindAdmin, StoreID: storeID, Master: master}
}

// VerifyOnly returns the verify-only credential of a store.
func VerifyOnly(storeID string, m seal.VerifyMaterial) *Credential {
	return &Credential{Format: Format, Version: 1, Kind: KindVerifyOnly, StoreID: storeID,
		DigestKey: m.DigestKey, SetKey: m.SetKey, PublicKey: m.PublicKey}
}

// Verifier returns the verification material of a credential of either
// kind.
func (c *Credential) Verifier() (*seal.EdVerifier, error) {
	if c.Kind == KindAdmin {
		s, err := seal.NewEdSigner(c.Master)
		if err != nil {
			return nil, err
		}
		return s.Verifier(), nil
	}
	return seal.NewEdVerifier(seal.VerifyMaterial{DigestKey: c.DigestKey, SetKey: c.SetKey, PublicKey: c.PublicKey})
}

// CheckPassphrase refuses a passphrase chosen for a new admin credential
// that is too short (ErrShortPassphrase) or easy to guess (envelope's
// ErrWeakPassphrase errors, see envelope.CheckNewPassphrase).
func CheckPassphrase(p string) error {
	err := envelope.CheckNewPassphrase(p)
	if errors.Is(err, envelope.ErrShortPassphrase) {
		return ErrShortPassphrase
	}
	return err
}

// EnvelopeKind is the envelope manifest kind of an admin credential, and
// envelopeFile the name of its one file.
const (
	EnvelopeKind = "credential"
	envelopeFile = "credential.json"
)

// Encode returns the file content of c: an admin credential in an envelope
// envelope under passphrase, a verify-only one as JSON.
func Encode(c *Credential, passphrase string) ([]byte, error) {
	plain, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode credential: %w", err)
	}
	plain = append(plain, '\n')
	if c.Kind == KindVerifyOnly {
		return plain, nil
	}
	if err := CheckPassphrase(passphrase); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	m := envelope.Manifest{Kind: EnvelopeKind, StoreID: c.StoreID, TakenAt: time.Now()}
	if err := envelope.Write(&buf, passphrase, m, []envelope.File{envelope.Bytes(envelopeFile, plain)}, envelope.Options{}); err != nil {
		return nil, fmt.Errorf("encrypt credential: %w", err)
	}
	return buf.Bytes(), nil
}

// Encrypted reports whether data is an age-encrypted file (an admin
// credential), which needs a passphrase to read.
func Encrypted(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("age-encryption.org/"))
}

// MaxFile is the largest credential file read: either kind takes well
// under a kilobyte.
const MaxFile = 64 << 10

// Decode reads a credential file's content (at most MaxFile bytes);
// passphrase is used only for an encrypted one. An encrypted file that
// holds what Keydesk never writes, or made with another scrypt work factor,
// fails with envelope.ErrUnsafe or envelope.ErrWorkFactor before anything of it
// is read; any other file that is not a credential, with ErrNotCredential.
func Decode(data []byte, passphrase string) (*Credential, error) {
	if len(data) > MaxFile {
		return nil, ErrNotCredential
	}
	plain := data
	if Encrypted(data) {
		r, err := envelope.Open(bytes.NewReader(data), passphrase, envelope.OpenOptions{
			Kind: EnvelopeKind, Files: map[string]int64{envelopeFile: MaxFile},
		})
		switch {
		case errors.Is(err, envelope.ErrWrongPassphrase):
			return nil, ErrWrongPassphrase
		case errors.Is(err, envelope.ErrUnsafe), errors.Is(err, envelope.ErrWorkFactor):
			return nil, err
		case err != nil:
			return nil, ErrNotCredential
		}
		if r.Manifest.Kind != EnvelopeKind {
			return nil, ErrNotCredential
		}
		files, err := r.ReadAll()
		if errors.Is(err, envelope.ErrUnsafe) {
			return nil, err
		} else if err != nil || files[envelopeFile] == nil {
			return nil, ErrNotCredential
		}
		plain = files[envelopeFile]
	}
	var c Credential
	if err := json.Unmarshal(plain, &c); err != nil || c.Format != Format || c.Version != 1 || c.StoreID == "" {
		return nil, ErrNotCredential
	}
	switch c.Kind {
	case KindAdmin:
		if len(c.Master) != seal.MasterKeySize {
			return nil, ErrNotCredential
		}
	case KindVerifyOnly:
		if _, err := c.Verifier(); err != nil {
			return nil, ErrNotCredential
		}
	default:
		return nil, ErrNotCredential
	}
	return &c, nil
}
