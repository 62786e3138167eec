package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/keydesk/keydesk/core"
	bolt "go.etcd.io/bbolt"
)

// The catalog in the sealed state (schema v7). A key's sections reach
// operations through the permission catalog (the setting
// core.CatalogSetting), which is signed like a record but, before v7, was
// not part of the state MAC: someone who can edit the file could put back
// an older catalog (validly signed with the folder's own key, one in which
// an operation later moved out of a section is still in it) or remove it
// (the embedded catalog comes back), and so widen keys. From v7 on:
//
//   - The meta bucket names the SHA-256 of the catalog setting's value
//     (metaCatalog; zero, or no entry, when none is stored), and the state
//     MAC covers it (seal.Signer.CatalogStateMAC). PutSetting of the
//     catalog writes the new digest and the state MAC over it in the same
//     transaction (see change).
//   - Every read of the catalog setting (Setting) checks its value against
//     the digest: the state's, once Seal checked it; before that (a window
//     opened with SealInBackground reads the catalog first) the one in the
//     meta bucket, which the Seal then checks under the state MAC. Seal
//     also fails if a catalog handed out before it is not the one the
//     checked state names, so that nothing verifies on it (see
//     core.Service.VerifyAfter). A mismatch fails with ErrCatalogMismatch,
//     which is also core.ErrCatalogForged: catalog import and reset open
//     the store with the embedded catalog and replace it, as for a catalog
//     changed in place. A digest changed with it fails the whole Seal
//     (ErrTampered).
//   - A store of schema v6 (or older) is moved to v7 by Seal once its state
//     checks out the old way, naming the catalog stored then (nothing
//     better is known about it); the generation advances, so the v6 copy
//     of the file is older than the keyring's generation (ErrRolledBack),
//     and a v7 file set back to schema 6 fails its state MAC (ErrTampered).

// catalogDigest is the SHA-256 of the catalog setting's value; zero when
// none is stored.
type catalogDigest = [sha256.Size]byte

// catalogSchema is the schema version whose state MAC names the catalog
// setting (see above).
const catalogSchema = 7

// metaCatalog is the meta entry naming the catalog setting's digest.
var metaCatalog = []byte("catalog_digest")

// catalogKey is the catalog setting's key in the settings bucket.
var catalogKey = []byte(core.CatalogSetting)

// ErrCatalogMismatch means the permission catalog stored in the data file
// is not the one its signed state names: an older catalog was written
// back, or it was removed or replaced outside Keydesk. Errors wrapping it
// also wrap core.ErrCatalogForged, so that catalog import and reset, which
// replace a forged catalog, replace this one too.
var ErrCatalogMismatch = errors.New("the permission catalog in the data file is not the one its signed state names")

// errCatalogMismatch is ErrCatalogMismatch as the store returns it.
var errCatalogMismatch error = catalogMismatch{}

type catalogMismatch struct{}

func (catalogMismatch) Error() string { return ErrCatalogMismatch.Error() }

func (catalogMismatch) Is(target error) bool {
	return target == ErrCatalogMismatch || target == core.ErrCatalogForged
}

// digestCatalog returns the catalogDigest of a catalog setting's value
// (nil: none is stored).
func digestCatalog(value []byte) catalogDigest {
	if value == nil {
		return catalogDigest{}
	}
	return sha256.Sum256(value)
}

// storedCatalog returns the digest of the catalog setting in tx.
func storedCatalog(tx *bolt.Tx) catalogDigest {
	return digestCatalog(tx.Bucket(bucketSettings).Get(catalogKey))
}

// namedCatalog returns the catalog digest the meta bucket m names (zero
// without an entry) and whether the file's schema binds the catalog at all
// (v7 and later).
func namedCatalog(m *bolt.Bucket) (d catalogDigest, bound bool, err error) {
	if v := m.Get(metaSchema); len(v) != 8 || binary.BigEndian.Uint64(v) < catalogSchema {
		return d, false, nil
	}
	switch v := m.Get(metaCatalog); {
	case v == nil:
	case len(v) == len(d):
		copy(d[:], v)
	default:
		return d, true, fmt.Errorf("%w: the catalog digest is %d bytes long", ErrCorrupt, len(v))
	}
	return d, true, nil
}

// catalogSetting is Setting(core.CatalogSetting): the value, checked
// against the digest the sealed state names (see above), or the one the
// meta bucket names before Seal; a value longer than
// core.MaxCatalogSetting is refused (no Keydesk stores one). A value
// returned before Seal is remembered for Seal to check (catalogSeen).
func (s *Store) catalogSetting() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v []byte
	var got catalogDigest
	err := s.read(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketSettings).Get(catalogKey)
		got = digestCatalog(raw)
		named, bound, err := namedCatalog(tx.Bucket(bucketMeta))
		if err != nil {
			return err
		}
		if s.signer != nil {
			named, bound = s.state.catalog, true
		}
		if bound && got != named {
			return errCatalogMismatch
		}
		if len(raw) > core.MaxCatalogSetting {
			return fmt.Errorf("%w: the stored catalog is larger than %d MB", core.ErrCatalog, core.MaxCatalogSetting>>20)
		}
		v = bytes.Clone(raw)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", core.CatalogSetting, err)
	}
	if s.signer == nil {
		s.sawCatalog(got)
	}
	return v, nil
}

// sawCatalog remembers that a catalog of digest d was handed out before
// Seal (guarded by mu).
func (s *Store) sawCatalog(d catalogDigest) {
	for _, seen := range s.catalogSeen {
		if seen == d {
			return
		}
	}
	s.catalogSeen = append(s.catalogSeen, d)
}

// checkCatalogSeen fails with ErrCatalogMismatch if a catalog handed out
// before Seal is not named, the digest the state Seal checked names (or
// will name, moving the store to v7); it is called with mu held.
func (s *Store) checkCatalogSeen(named catalogDigest) error {
	for _, seen := range s.catalogSeen {
		if seen != named {
			return fmt.Errorf("%w (the catalog read before the check)", errCatalogMismatch)
		}
	}
	s.catalogSeen = nil
	return nil
}
