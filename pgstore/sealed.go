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
)

// StateFormat is the format of the signed state this build writes and
// reads: 3, the LtHash digest. Format 2 is the XOR digest of builds before.
const StateFormat = 3

// legacyStateFormat is the format of builds before the LtHash digest.
const legacyStateFormat = 2

// errOldState is the error of a reader given a state of an older format.
var errOldState = fmt.Errorf("%w (%w)", ErrStateMismatch, ErrOldState)

// StateRow is the stored signed state.
type StateRow struct {
	// Format is StateFormat, or legacyStateFormat for a row that builds
	// before the LtHash digest wrote (then Digest is empty).
	Format     int
	Gen, Count uint64
	// Digest is the stored set digest (format 3): admins read it back to
	// update it in O(1) per change; readers check the digest of the rows
	// they read instead.
	Digest seal.Set
	Sig    []byte
}

// Check reports whether the row is of the current format and the store's
// signature of the set a.
func (r StateRow) Check(v *seal.EdVerifier, storeID string, a seal.Set) bool {
	return r.Format == StateFormat && r.Count == a.Count && v.VerifyState(storeID, r.Gen, &a, r.Sig)
}

// checkLegacy reports whether the row is of format 2 and the store's
// signature of the set a (its XOR digest).
func (r StateRow) checkLegacy(v *seal.EdVerifier, storeID string, a seal.XorSet) bool {
	return r.Format == legacyStateFormat && r.Count == a.Count && v.VerifyLegacyState(storeID, r.Gen, &a, r.Sig)
}

// Sizes of the stored forms: format 2 is generation, count, the masked
// XOR accumulator and the signature; format 3 is the format byte,
// generation, the set digest (with its count) and the signature.
const (
	legacyStateSize = 16 + sha256.Size + ed25519.SignatureSize
	stateSize       = 1 + 8 + seal.SetSize + ed25519.SignatureSize
)

func (r StateRow) encode() string {
	b := make([]byte, 0, stateSize)
	b = append(b, StateFormat)
	b = binary.BigEndian.AppendUint64(b, r.Gen)
	b, _ = r.Digest.AppendBinary(b)
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
	case len(b) == stateSize && b[0] == StateFormat:
		r := StateRow{Format: StateFormat, Gen: binary.BigEndian.Uint64(b[1:]), Sig: b[1+8+seal.SetSize:]}
		if err := r.Digest.UnmarshalBinary(b[1+8 : 1+8+seal.SetSize]); err != nil {
			return StateRow{}, bad
		}
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

// writeState signs a and writes it as generation gen.
func (s *SealedStore) writeState(ctx context.Context, tx pgx.Tx, gen uint64, a seal.Set) error {
	r := StateRow{Format: StateFormat, Gen: gen, Count: a.Count, Digest: a, Sig: s.signer.SignState(s.storeID, gen, &a)}
	_, err := tx.Exec(ctx, `INSERT INTO store_meta (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, stateName, r.encode())
	if err != nil {
		return fmt.Errorf("write signed state: %w", err)
	}
	return nil
}

// advance moves the signed state by one generation: removed records leave
// the set, added ones join it. The caller holds the change lock (addChange).
// A state whose signature does not check, or of an older format, is
// refused: an admin never signs on top of a forged state. *gen receives
// the new generation.
func (s *SealedStore) advance(ctx context.Context, tx pgx.Tx, gen *uint64, removed, added []*core.Key) error {
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
	return s.writeState(ctx, tx, r.Gen+1, a)
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
		return s.writeState(ctx, tx, 1, Accumulate(s.signer.Verifier(), keys))
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
}

// ReadSignedSnapshot reads every key record, the last change number and
// the signed state in one snapshot, and checks the records against the
// state with v: a set that does not match fails with ErrStateMismatch, a
// store without a state with ErrNoSignedState, a generation below minGen
// with ErrStateRolledBack. Records whose own signature fails are returned
// (the caller marks them tampered).
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
	case snap.State.Format != StateFormat:
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

// KeyChanges reads, in one snapshot, the key changes numbered above after
// (one per key: its latest, with the key's current row), the number of the
// last change of any kind, and the signed state. A row that does not
// decode reads as a deleted key.
func (s *Store) KeyChanges(ctx context.Context, after int64) (changes []KeyChange, last int64, state StateRow, err error) {
	var ok bool
	err = pgx.BeginTxFunc(ctx, s.pool, snapshotTx, func(tx pgx.Tx) error {
		var err error
		if last, err = lastChange(ctx, tx); err != nil {
			return err
		}
		if state, ok, err = readState(ctx, tx); err != nil {
			return err
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
			changes = append(changes, ch)
			return nil
		})
		return err
	})
	if err == nil && !ok {
		err = ErrNoSignedState
	}
	if err != nil {
		return nil, 0, StateRow{}, fmt.Errorf("read changes: %w", err)
	}
	return changes, last, state, nil
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
// digest) to the current format, in one transaction under the change
// lock: the rows are checked against the old state with the XOR digest
// (ErrStateMismatch if they do not match it, ErrStateRolledBack if its
// generation is below minGen) and the new state is signed over their
// LtHash digest at the next generation. A state already in the current
// format, or none, is left alone.
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
		var old seal.XorSet
		for _, e := range elems {
			old.Add(e)
		}
		switch {
		case !r.checkLegacy(v, s.storeID, old):
			return ErrStateMismatch
		case r.Gen < minGen:
			return fmt.Errorf("%w (generation %d, seen %d)", ErrStateRolledBack, r.Gen, minGen)
		}
		return s.writeState(ctx, tx, r.Gen+1, seal.SetOf(elems))
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
