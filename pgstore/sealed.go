package pgstore

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

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

// Errors callers branch on.
var (
	// ErrStateMismatch means the key records do not match the store's
	// signed state: rows were added, removed or replaced outside Keydesk.
	ErrStateMismatch = errors.New("the keys in the database do not match their signed state")
	// ErrStateRolledBack means the store's signed state is older than one
	// already seen (the database was put back to an older copy).
	ErrStateRolledBack = errors.New("the database holds an older state of the store than this process has seen")
	// ErrNoSignedState means the store has no signed state (it was not
	// created by `keydesk store init`, or the row was removed).
	ErrNoSignedState = errors.New("the shared store has no signed state")
	// ErrOldState means the store's signed state is in the format of an
	// older Keydesk (an XOR digest), which readers do not accept: an
	// admin's Keydesk moves the store to the current format when it opens
	// it. Errors wrapping it also wrap ErrStateMismatch.
	ErrOldState = errors.New("the shared store's signed state is in an older format; an admin's keydesk upgrades it when it opens the store")
	// ErrCatalogMismatch means the permission catalog stored in the
	// database is not the one the store's signed state names: an older
	// catalog was written back, or it was removed or replaced outside
	// Keydesk. Errors wrapping it also wrap ErrStateMismatch and
	// core.ErrCatalogForged.
	ErrCatalogMismatch = errors.New("the permission catalog in the database is not the one the store's signed state names")
)

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

// SealedStore is a shared store opened with admin material: every key
// change also advances and re-signs the store's signed state, in the same
// transaction. It implements core.Store.
type SealedStore struct {
	*Store
	signer   *seal.EdSigner
	onCommit func(gen uint64) // see OnCommit
}

var (
	_ core.Store       = (*SealedStore)(nil)
	_ core.KeyRoller   = (*SealedStore)(nil)
	_ core.ExpiryIndex = (*Preloaded)(nil)
	_ core.KeyRoller   = (*Preloaded)(nil)
)

// Sealed returns s with admin material signer (see SealedStore); s signs
// the audit entries it writes from now on and checks those it reads. It
// does not check the state; LoadSigned does.
func Sealed(s *Store, signer *seal.EdSigner) *SealedStore {
	s.auditSigner = signer
	return &SealedStore{Store: s, signer: signer}
}

// Signer returns the store's admin material.
func (s *SealedStore) Signer() *seal.EdSigner { return s.signer }

// writeState signs a and catalog and writes them as generation gen.
func (s *SealedStore) writeState(ctx context.Context, tx pgx.Tx, gen uint64, a seal.Set, catalog CatalogDigest) error {
	r := StateRow{Format: StateFormat, Gen: gen, Count: a.Count, Digest: a, Catalog: catalog,
		Sig: s.signer.SignCatalogState(s.storeID, gen, &a, catalog)}
	_, err := tx.Exec(ctx, `INSERT INTO store_meta (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, stateName, r.encode())
	if err != nil {
		return fmt.Errorf("write signed state: %w", err)
	}
	return nil
}

// advance moves the signed state by one generation: removed records leave
// the set, added ones join it; the catalog it names stays (see
// advanceCatalog). The caller holds the change lock (addChange). A state
// whose signature does not check, or of an older format, is refused: an
// admin never signs on top of a forged state. *gen receives the new
// generation.
func (s *SealedStore) advance(ctx context.Context, tx pgx.Tx, gen *uint64, removed, added []*core.Key) error {
	return s.advanceCatalog(ctx, tx, gen, removed, added, nil)
}

// advanceCatalog is advance that also names catalog, when not nil, as the
// store's catalog setting.
func (s *SealedStore) advanceCatalog(ctx context.Context, tx pgx.Tx, gen *uint64, removed, added []*core.Key, catalog *CatalogDigest) error {
	if err := lockChanges(ctx, tx); err != nil {
		return err
	}
	r, ok, err := readState(ctx, tx)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNoSignedState
	}
	if r.Format != StateFormat {
		return errOldState
	}
	*gen = r.Gen + 1
	a := r.Digest
	if !r.Check(s.signer.Verifier(), s.storeID, a) {
		return ErrStateMismatch
	}
	for _, k := range removed {
		a.Remove(s.signer.SetElement(k.ID, k.MAC))
	}
	for _, k := range added {
		a.Add(s.signer.SetElement(k.ID, k.MAC))
	}
	c := r.Catalog
	if catalog != nil {
		c = *catalog
	}
	return s.writeState(ctx, tx, r.Gen+1, a, c)
}

// SealFromRows writes the first signed state, over the key rows the
// database holds now (store init, after creating the schema or moving a
// local store in). A store that already has a signed state is refused
// with ErrAlreadyInitialised.
func (s *SealedStore) SealFromRows(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockChanges(ctx, tx); err != nil {
			return err
		}
		if _, ok, err := readState(ctx, tx); err != nil || ok {
			if err == nil {
				err = ErrAlreadyInitialised
			}
			return err
		}
		keys, err := allKeys(ctx, tx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if !s.signer.VerifyRecord(k.MACPayload(), k.MAC) {
				return fmt.Errorf("%w: key %s is not signed with this store's key", core.ErrTampered, k.ID)
			}
		}
		if err := s.signUnsignedAudit(ctx, tx, s.signer); err != nil {
			return err
		}
		catalog, err := readCatalog(ctx, tx)
		if err != nil {
			return err
		}
		return s.writeState(ctx, tx, 1, Accumulate(s.signer.Verifier(), keys), DigestCatalog(catalog))
	})
	if err != nil {
		return fmt.Errorf("sign the store's state: %w", err)
	}
	return nil
}

// InsertKey is Store.InsertKey that also advances the signed state.
func (s *SealedStore) InsertKey(k *core.Key, ev core.AuditEvent) error {
	var gen uint64
	err := s.Store.insertKey(k, ev, func(ctx context.Context, tx pgx.Tx) error {
		return s.advance(ctx, tx, &gen, nil, []*core.Key{k})
	})
	return s.committed(gen, err)
}

// InsertKeys is Store.InsertKeys that also advances the signed state, once
// for the whole batch in the same transaction.
func (s *SealedStore) InsertKeys(keys []*core.Key, ev core.AuditEvent) error {
	if len(keys) == 0 {
		return nil
	}
	var gen uint64
	err := s.Store.insertKeys(keys, ev, func(ctx context.Context, tx pgx.Tx) error {
		return s.advance(ctx, tx, &gen, nil, keys)
	})
	return s.committed(gen, err)
}

// UpdateKey is Store.UpdateKey that also advances the signed state.
func (s *SealedStore) UpdateKey(k *core.Key, ev core.AuditEvent) error {
	var gen uint64
	err := s.Store.updateKey(k, ev, func(ctx context.Context, tx pgx.Tx, old *core.Key) error {
		return s.advance(ctx, tx, &gen, []*core.Key{old}, []*core.Key{k})
	})
	return s.committed(gen, err)
}

// DeleteKey is Store.DeleteKey that also advances the signed state, so the
// deleted record's row written back later matches no signed state.
func (s *SealedStore) DeleteKey(id string, ev core.AuditEvent) error {
	var gen uint64
	err := s.Store.deleteKey(id, ev, func(ctx context.Context, tx pgx.Tx, old *core.Key) error {
		return s.advance(ctx, tx, &gen, []*core.Key{old}, nil)
	})
	return s.committed(gen, err)
}

// SignedSnapshot is a consistent read of every key record, the last
// change number they include and the signed state.
type SignedSnapshot struct {
	Keys []*core.Key
	// Elements are the keys' set elements (Elements[i] is Keys[i]'s,
	// seal.EdVerifier.SetElement), as the state check computed them.
	Elements []seal.Element
	// Set is their digest, which the signed state covers.
	Set   seal.Set
	Seq   int64
	State StateRow
	// Catalog is the catalog setting's value (core.CatalogSetting) read
	// in the same snapshot, nil when none is stored. A caller that uses
	// it checks it against State (CheckCatalog), and its own signature
	// (core.OpenStoredCatalog).
	Catalog []byte
}

// CheckCatalog fails with ErrCatalogMismatch (wrapping ErrStateMismatch)
// if the state is of format 4 and Catalog is not the catalog it names.
func (s *SignedSnapshot) CheckCatalog() error { return s.State.checkCatalog(s.Catalog) }

// ReadSignedSnapshot reads every key record, the last change number, the
// catalog setting and the signed state in one snapshot, and checks the
// records against the state with v: a set that does not match fails with
// ErrStateMismatch, a store without a state with ErrNoSignedState, a
// generation below minGen with ErrStateRolledBack. The catalog is checked
// by callers that use it (SignedSnapshot.CheckCatalog): an admin opening a
// store whose catalog was written back must still be able to replace it.
// Records whose own signature fails are returned (the caller marks them
// tampered).
func (s *Store) ReadSignedSnapshot(ctx context.Context, v *seal.EdVerifier, minGen uint64) (*SignedSnapshot, error) {
	snap := &SignedSnapshot{}
	var ok bool
	err := pgx.BeginTxFunc(ctx, s.pool, snapshotTx, func(tx pgx.Tx) error {
		var err error
		if snap.Seq, err = lastChange(ctx, tx); err != nil {
			return err
		}
		if snap.State, ok, err = readState(ctx, tx); err != nil || !ok {
			return err
		}
		if snap.Catalog, err = readCatalog(ctx, tx); err != nil {
			return err
		}
		snap.Keys, err = allKeys(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if err := distinctIDs(snap.Keys); err != nil {
		return nil, err
	}
	snap.Elements = elements(v, snap.Keys)
	snap.Set = seal.SetOf(snap.Elements)
	switch {
	case !ok:
		return nil, ErrNoSignedState
	case snap.State.Format == legacyStateFormat:
		return nil, errOldState
	case !snap.State.Check(v, s.storeID, snap.Set):
		return nil, ErrStateMismatch
	case snap.State.Gen < minGen:
		return nil, &RolledBackError{Gen: snap.State.Gen, Seen: minGen}
	}
	return snap, nil
}

// KeyChange is one key's change since a given change number, with the
// key's row as it is in the same snapshot as the signed state.
type KeyChange struct {
	Seq int64
	ID  string
	// Key is the key's current record; nil when it no longer exists.
	Key *core.Key
}

// Changes is what KeyChanges reads in one snapshot.
type Changes struct {
	// Keys are the key changes (one per key: its latest).
	Keys []KeyChange
	// Last is the number of the last change of any kind.
	Last int64
	// State is the signed state.
	State StateRow
	// CatalogRead says State binds a catalog other than the one the
	// caller holds: then Catalog is the catalog setting's value (nil when
	// none is stored), read in the same snapshot.
	CatalogRead bool
	Catalog     []byte
}

// CheckCatalog fails with ErrCatalogMismatch (wrapping ErrStateMismatch)
// if the catalog read (CatalogRead) is not the one State names. The caller
// checks State itself first (StateRow.Check).
func (c *Changes) CheckCatalog() error {
	if !c.CatalogRead {
		return nil
	}
	return c.State.checkCatalog(c.Catalog)
}

// KeyChanges reads, in one snapshot, the key changes numbered above after
// (one per key: its latest, with the key's current row), the number of the
// last change of any kind, and the signed state; and the catalog setting
// when have is not nil and the state (of format 4) names another one than
// *have. A row that does not decode reads as a deleted key.
func (s *Store) KeyChanges(ctx context.Context, after int64, have *CatalogDigest) (*Changes, error) {
	var ok bool
	var out Changes
	err := pgx.BeginTxFunc(ctx, s.pool, snapshotTx, func(tx pgx.Tx) error {
		var err error
		if out.Last, err = lastChange(ctx, tx); err != nil {
			return err
		}
		if out.State, ok, err = readState(ctx, tx); err != nil {
			return err
		}
		if ok && have != nil && out.State.BindsCatalog() && out.State.Catalog != *have {
			out.CatalogRead = true
			if out.Catalog, err = readCatalog(ctx, tx); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `SELECT c.seq, c.name, k.record, k.last_used_ns FROM
			(SELECT name, max(seq) AS seq FROM changes WHERE kind = 'key' AND seq > $1 GROUP BY name) c
			LEFT JOIN keys k ON k.id = c.name ORDER BY c.seq`, after)
		if err != nil {
			return err
		}
		var c KeyChange
		var rec []byte
		var lastUsed *int64
		_, err = pgx.ForEachRow(rows, []any{&c.Seq, &c.ID, &rec, &lastUsed}, func() error {
			ch := KeyChange{Seq: c.Seq, ID: c.ID}
			if rec != nil {
				if k, err := decodeRow(rec, lastUsed); err == nil && k.ID == c.ID {
					ch.Key = k
				}
			}
			out.Keys = append(out.Keys, ch)
			return nil
		})
		return err
	})
	if err == nil && !ok {
		err = ErrNoSignedState
	}
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return &out, nil
}

// distinctIDs fails with ErrStateMismatch if two rows hold one record (a
// copy under another id).
func distinctIDs(keys []*core.Key) error {
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[k.ID]; dup {
			return fmt.Errorf("%w (key %s is stored twice)", ErrStateMismatch, k.ID)
		}
		seen[k.ID] = struct{}{}
	}
	return nil
}

// OpenSealed opens the store at url with admin material, moves a signed
// state of an older format to the current one (UpgradeState), and checks
// the records against the signed state (see ReadSignedSnapshot). It
// returns the store and the checked records, with Tampered set on any
// whose own signature fails.
func OpenSealed(ctx context.Context, url string, signer *seal.EdSigner, opts Options) (*SealedStore, *SignedSnapshot, error) {
	st, err := Open(ctx, url, opts)
	if err != nil {
		return nil, nil, err
	}
	ss := Sealed(st, signer)
	if err := ss.UpgradeState(ctx, 0); err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	snap, err := st.ReadSignedSnapshot(ctx, signer.Verifier(), 0)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	return ss, snap, nil
}

// UpgradeState moves a signed state of format 2 (builds before the LtHash
// digest) or 3 (before the catalog's binding) to the current format, in
// one transaction under the change lock: the rows are checked against the
// old state (with the XOR digest for format 2; ErrStateMismatch if they do
// not match it, ErrStateRolledBack if its generation is below minGen) and
// the new state is signed over their LtHash digest and the catalog
// setting stored now at the next generation. A state already in the
// current format, or none, is left alone. (The catalog bound is the one
// the database holds at the move: a catalog written back before it cannot
// be told from the current one; its own signature is still checked by
// every reader.)
func (s *SealedStore) UpgradeState(ctx context.Context, minGen uint64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockChanges(ctx, tx); err != nil {
			return err
		}
		r, ok, err := readState(ctx, tx)
		if err != nil || !ok || r.Format == StateFormat {
			return err
		}
		keys, err := allKeys(ctx, tx)
		if err != nil {
			return err
		}
		if err := distinctIDs(keys); err != nil {
			return err
		}
		v := s.signer.Verifier()
		elems := elements(v, keys)
		set := seal.SetOf(elems)
		var old seal.XorSet
		for _, e := range elems {
			old.Add(e)
		}
		switch {
		case r.Format == legacyStateFormat && !r.checkLegacy(v, s.storeID, old),
			r.Format == unboundStateFormat && !r.Check(v, s.storeID, set):
			return ErrStateMismatch
		case r.Gen < minGen:
			return fmt.Errorf("%w (generation %d, seen %d)", ErrStateRolledBack, r.Gen, minGen)
		}
		catalog, err := readCatalog(ctx, tx)
		if err != nil {
			return err
		}
		return s.writeState(ctx, tx, r.Gen+1, set, DigestCatalog(catalog))
	})
	if err != nil {
		return fmt.Errorf("move the signed state to the current format: %w", err)
	}
	return nil
}

// Preloaded is a core.Store whose ListKeys returns, once, records already
// read (a checked snapshot), and otherwise is the store it wraps.
type Preloaded struct {
	core.Store
	idx  core.ExpiryIndex // the same store
	keys []*core.Key
	used atomic.Bool
}

// Preload returns st (a *Store or *SealedStore) answering its first
// ListKeys with keys.
func Preload(st interface {
	core.Store
	core.ExpiryIndex
}, keys []*core.Key) *Preloaded {
	return &Preloaded{Store: st, idx: st, keys: keys}
}

// KeyIDsExpiring reads the wrapped store's expiry index (so that a
// service over it selects the digest from its own, checked records).
func (p *Preloaded) KeyIDsExpiring(after, until time.Time) ([]string, error) {
	return p.idx.KeyIDsExpiring(after, until)
}

// RollKey rolls through the wrapped store (an admin's service over a
// checked snapshot of a sealed store rolls keys like one over the store
// itself); a store that cannot roll fails with core.ErrRollUnsupported.
func (p *Preloaded) RollKey(old, new *core.Key, ev core.AuditEvent) error {
	if r, ok := p.Store.(core.KeyRoller); ok {
		return r.RollKey(old, new, ev)
	}
	return core.ErrRollUnsupported
}

// ListKeys returns the preloaded records the first time, then reads the
// store.
func (p *Preloaded) ListKeys() ([]*core.Key, error) {
	if p.used.CompareAndSwap(false, true) {
		return p.keys, nil
	}
	return p.Store.ListKeys()
}

// RollKey is Store.RollKey that also advances the signed state: the old
// record is replaced (shorter expiry, its link) and the new one added in the
// same transaction.
func (s *SealedStore) RollKey(old, new *core.Key, ev core.AuditEvent) error {
	var gen uint64
	err := s.Store.rollKey(old, new, ev, func(ctx context.Context, tx pgx.Tx, stored *core.Key) error {
		return s.advance(ctx, tx, &gen, []*core.Key{stored}, []*core.Key{old, new})
	})
	return s.committed(gen, err)
}
