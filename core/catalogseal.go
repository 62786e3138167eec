package core

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// CatalogSetting is the name of the store setting holding an imported
// catalog (SealCatalog's output). No such setting means the embedded
// catalog.
const CatalogSetting = "catalog"

// MaxCatalogSetting bounds the stored catalog read back from a store.
const MaxCatalogSetting = 64 << 20

// ErrCatalogForged means the stored catalog does not match its signature:
// someone changed it outside Keydesk (a section moved, an operation made
// read-only). The store's keys are not checked against it.
var ErrCatalogForged = errors.New("the stored permission catalog does not match its signature: it was changed outside Keydesk; import it again or run keydesk catalog reset")

// sealedCatalog is the stored form: the catalog's JSON and its signature
// by the store's signing material (a MAC on a data folder, the admins'
// Ed25519 key on the shared store).
type sealedCatalog struct {
	Catalog   json.RawMessage `json:"catalog"`
	Signature []byte          `json:"signature"`
}

// catalogPayload is what the signature covers, in a domain of its own so
// that no key record's signature can pass for a catalog's (key payloads
// start with "keydesk-key-v1").
func catalogPayload(raw []byte) []byte {
	const domain = "keydesk-catalog-v1"
	b := binary.BigEndian.AppendUint32(nil, uint32(len(domain)))
	b = append(b, domain...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(raw)))
	return append(b, raw...)
}

// SealCatalog returns the stored form of c, signed with s.
func SealCatalog(c *Catalog, s Signer) ([]byte, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("seal catalog: %w", err)
	}
	out, err := json.Marshal(sealedCatalog{Catalog: raw, Signature: s.SignRecord(catalogPayload(raw))})
	if err != nil {
		return nil, fmt.Errorf("seal catalog: %w", err)
	}
	return out, nil
}

// OpenCatalog checks the signature of a stored catalog (SealCatalog's
// output) with v and parses it. A changed catalog or signature fails with
// ErrCatalogForged, an oversized one with ErrCatalog.
func OpenCatalog(stored []byte, v RecordVerifier) (*Catalog, error) {
	if len(stored) > MaxCatalogSetting {
		return nil, fmt.Errorf("%w: the stored catalog is larger than %d MB", ErrCatalog, MaxCatalogSetting>>20)
	}
	var sc sealedCatalog
	if err := json.Unmarshal(stored, &sc); err != nil || len(sc.Catalog) == 0 {
		return nil, ErrCatalogForged
	}
	if !v.VerifyRecord(catalogPayload(sc.Catalog), sc.Signature) {
		return nil, ErrCatalogForged
	}
	return ParseCatalog(sc.Catalog)
}

// SettingsReader reads named store settings (storage.Store and
// pgstore.Store implement it).
type SettingsReader interface {
	Setting(name string) ([]byte, error)
}

// StoredCatalog returns the catalog kept in st (see CatalogSetting),
// checked with v; the embedded default when none is stored.
func StoredCatalog(st SettingsReader, v RecordVerifier) (*Catalog, error) {
	raw, err := st.Setting(CatalogSetting)
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	return OpenStoredCatalog(raw, v)
}

// OpenStoredCatalog is StoredCatalog over the setting's value already
// read (nil when none is stored: the embedded catalog).
func OpenStoredCatalog(raw []byte, v RecordVerifier) (*Catalog, error) {
	if raw == nil {
		return DefaultCatalog(), nil
	}
	return OpenCatalog(raw, v)
}
