package pgstore

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

// A sealed shared store protects the set of its key records, not only each
// record, against anyone who can write to the database but holds no admin
// material:
//
//   - Each record is signed with the store's Ed25519 key over
//     core.Key.MACPayload (which covers its id); servers hold the public
//     key only (seal.EdVerifier).
//   - store_meta's row "signed_state" holds the state's format
//     (StateFormat), a generation, advanced by every key change in the
//     change's own transaction (under the change lock), the set digest of
//     the live records (seal.Set, an LtHash over
//     seal.EdVerifier.SetElement(id, signature), with their number), and
//     the Ed25519 signature of (format, store id, generation, set)
//     (seal.StateMessage).
//   - A reader (a replica, an admin opening the store) computes the digest
//     of the records it holds and accepts them only if the signature
//     checks and the generation is not below the highest it has seen. So
//     a deleted or replaced record's old row written back by a database
//     writer never verifies: the set it gives matches no signed state,
//     even for one who holds a server's credential (the set key) and can
//     compute every row's element (seal.Set says why).
//
// Builds before the LtHash digest wrote state format 2: an XOR digest
// (seal.XorSet), which such a writer could forge. Readers accept only the
// current format (a row of format 2 fails with ErrOldState). An admin's
// OpenSealed moves a store of format 2 to the current one: in one
// transaction under the change lock it checks the old state (with the XOR
// digest, this once) and writes the new one at the next generation. The
// format is part of what is signed, so a format 2 row written back later
// is refused by every reader; an admin whose keyring has seen a later
// generation than the row's refuses it too, but an admin that never opened
// the store since before the move cannot tell a format 2 row written back
// from one never moved.
//
// State format 4 binds the store's permission catalog too: the signed
// message (seal.CatalogStateMessage) adds the SHA-256 of the catalog
// setting's value (CatalogDigest; zero when none is stored, the embedded
// catalog), and every import or reset of the catalog by an admin
// (SealedStore.PutSetting) advances the state in the setting's own
// transaction. A key's sections map to operations through the catalog, so
// an older, validly signed catalog written back (an operation moved out of
// a section comes back into it), or the setting removed, would widen keys;
// readers check the setting they read against the digest the state names
// and refuse both (ErrCatalogMismatch). Format 3 (the catalog not bound)
// is still read, with the catalog unchecked, until an admin's open moves
// it to format 4 (UpgradeState) at the next generation; every format 3
// state is therefore older than every format 4 one, and a reader that has
// seen format 4 refuses a format 3 state written back as a rollback (its
// generation is older; the replica checks the format too).

// stateName is the store_meta row of the signed state.
const stateName = "signed_state"

// StateFormat is the format of the signed state this build writes: 4, the
// LtHash digest of the keys and the digest of the catalog setting.
// Format 3 (the keys only) is still read; format 2 is the XOR digest of
// builds before format 3, which readers refuse.
const StateFormat = 4

// Formats of older builds: unboundStateFormat (3) signs the keys' LtHash
// digest but not the catalog; legacyStateFormat (2) the XOR digest.
const (
	unboundStateFormat = 3
	legacyStateFormat  = 2
)

// errOldState is the error of a reader given a state of an older format.
var errOldState = fmt.Errorf("%w (%w)", ErrStateMismatch, ErrOldState)

// errCatalogMismatch is ErrCatalogMismatch as readers return it: it is
// also ErrStateMismatch (the state is refused) and core.ErrCatalogForged
// (an admin's catalog import or reset replaces it, as it replaces a
// catalog whose own signature fails).
var errCatalogMismatch error = catalogMismatch{}

type catalogMismatch struct{}

func (catalogMismatch) Error() string { return ErrCatalogMismatch.Error() }

func (catalogMismatch) Is(target error) bool {
	return target == ErrCatalogMismatch || target == ErrStateMismatch || target == core.ErrCatalogForged
}

// CatalogDigest is what a signed state of format 4 names of the store's
// catalog setting (core.CatalogSetting): the SHA-256 of its value, zero
// when none is stored (the embedded catalog).
type CatalogDigest [sha256.Size]byte

// DigestCatalog returns the CatalogDigest of a catalog setting's value
// (nil: none stored).
func DigestCatalog(value []byte) CatalogDigest {
	if value == nil {
		return CatalogDigest{}
	}
	return sha256.Sum256(value)
}

// DowngradeError returns the error of a reader that accepted a state of
// format 4 given one of format 3 at generation gen: a rollback (every
// format 3 state is older than the first format 4 one). It wraps
// ErrStateRolledBack.
func DowngradeError(gen uint64) error {
	return fmt.Errorf("%w (a state of format %d, which does not name the catalog, at generation %d, after one of format %d)",
		ErrStateRolledBack, unboundStateFormat, gen, StateFormat)
}

// StateRow is the stored signed state.
type StateRow struct {
	// Format is StateFormat, 3 for a row that builds before the catalog's
	// binding wrote (then Catalog is zero and not signed), or 2 for one
	// that builds before the LtHash digest wrote (then Digest is empty).
	Format     int
	Gen, Count uint64
	// Digest is the stored set digest (formats 3 and 4): admins read it
	// back to update it in O(1) per change; readers check the digest of
	// the rows they read instead.
	Digest seal.Set
	// Catalog is the digest of the catalog setting the state names
	// (format 4).
	Catalog CatalogDigest
	Sig     []byte
}

// Legacy reports whether the row is of format 2 (the XOR digest), which
// readers refuse (ErrOldState).
func (r StateRow) Legacy() bool { return r.Format == legacyStateFormat }

// BindsCatalog reports whether the row names the store's catalog (format
// 4): then a reader accepts only the catalog setting whose digest is
// Catalog.
func (r StateRow) BindsCatalog() bool { return r.Format == StateFormat }

// Check reports whether the row is of a format readers accept (4, or 3)
// and the store's signature of the set a (and, in format 4, of Catalog).
func (r StateRow) Check(v *seal.EdVerifier, storeID string, a seal.Set) bool {
	if r.Count != a.Count {
		return false
	}
	switch r.Format {
	case StateFormat:
		return v.VerifyCatalogState(storeID, r.Gen, &a, r.Catalog, r.Sig)
	case unboundStateFormat:
		return v.VerifyState(storeID, r.Gen, &a, r.Sig)
	}
	return false
}

// checkCatalog fails with ErrCatalogMismatch (wrapping ErrStateMismatch)
// if the row binds the catalog and value (the catalog setting read with
// it; nil when none is stored) is not the one it names.
func (r StateRow) checkCatalog(value []byte) error {
	if r.BindsCatalog() && DigestCatalog(value) != r.Catalog {
		return errCatalogMismatch
	}
	return nil
}

// checkLegacy reports whether the row is of format 2 and the store's
// signature of the set a (its XOR digest).
func (r StateRow) checkLegacy(v *seal.EdVerifier, storeID string, a seal.XorSet) bool {
	return r.Format == legacyStateFormat && r.Count == a.Count && v.VerifyLegacyState(storeID, r.Gen, &a, r.Sig)
}

// Sizes of the stored forms: format 2 is generation, count, the masked
// XOR accumulator and the signature; format 3 is the format byte,
// generation, the set digest (with its count) and the signature; format 4
// adds the catalog digest before the signature.
const (
	legacyStateSize  = 16 + sha256.Size + ed25519.SignatureSize
	unboundStateSize = 1 + 8 + seal.SetSize + ed25519.SignatureSize
	stateSize        = unboundStateSize + sha256.Size
)

// encode returns the stored form of r in its format (4, or 3: the tests
// write format 3 rows as builds before format 4 did).
func (r StateRow) encode() string {
	b := make([]byte, 0, stateSize)
	b = append(b, byte(r.Format))
	b = binary.BigEndian.AppendUint64(b, r.Gen)
	b, _ = r.Digest.AppendBinary(b)
	if r.Format == StateFormat {
		b = append(b, r.Catalog[:]...)
	}
	b = append(b, r.Sig...)
	return base64.StdEncoding.EncodeToString(b)
}

// maxStateText bounds the stored state read back (base64 of stateSize
// bytes, with room to spare).
const maxStateText = 4 * stateSize

func decodeStateRow(s string) (StateRow, error) {
	bad := fmt.Errorf("%w: the signed state does not parse", ErrStateMismatch)
	if len(s) > maxStateText {
		return StateRow{}, bad
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return StateRow{}, bad
	}
	switch {
	case len(b) == legacyStateSize:
		// Format 2: the masked accumulator is of no use to the one
		// check it is read for (its digest is recomputed from the rows).
		return StateRow{Format: legacyStateFormat, Gen: binary.BigEndian.Uint64(b), Count: binary.BigEndian.Uint64(b[8:]),
			Sig: b[16+sha256.Size:]}, nil
	case len(b) == unboundStateSize && b[0] == unboundStateFormat, len(b) == stateSize && b[0] == StateFormat:
		r := StateRow{Format: int(b[0]), Gen: binary.BigEndian.Uint64(b[1:])}
		if err := r.Digest.UnmarshalBinary(b[1+8 : 1+8+seal.SetSize]); err != nil {
			return StateRow{}, bad
		}
		rest := b[1+8+seal.SetSize:]
		if r.Format == StateFormat {
			r.Catalog = CatalogDigest(rest[:sha256.Size])
			rest = rest[sha256.Size:]
		}
		r.Sig = rest
		r.Count = r.Digest.Count
		return r, nil
	}
	return StateRow{}, bad
}

// readState reads the signed state row; ok is false when there is none.
func readState(ctx context.Context, q querier) (StateRow, bool, error) {
	var v string
	// Read with a limit: a longer value (written by someone else) is cut
	// and then fails to parse.
	err := q.QueryRow(ctx, `SELECT left(value, $2) FROM store_meta WHERE name = $1`, stateName, maxStateText+1).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return StateRow{}, false, nil
	}
	if err != nil {
		return StateRow{}, false, fmt.Errorf("read signed state: %w", err)
	}
	r, err := decodeStateRow(v)
	return r, err == nil, err
}

// Accumulate returns the set digest of keys (every live record, tampered
// or not: the state covers the rows as admins wrote them).
func Accumulate(v *seal.EdVerifier, keys []*core.Key) seal.Set {
	return seal.SetOf(elements(v, keys))
}

// elements returns the set elements of keys.
func elements(v *seal.EdVerifier, keys []*core.Key) []seal.Element {
	out := make([]seal.Element, len(keys))
	for i, k := range keys {
		out[i] = v.SetElement(k.ID, k.MAC)
	}
	return out
}
