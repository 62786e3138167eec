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
//   - store_meta's row "signed_state" holds a generation, advanced by every
//     key change in the change's own transaction (under the change lock),
//     the number of live records, their set digest (seal.Set over
//     seal.EdVerifier.SetElement(id, signature)) masked with a pad only
//     admins can compute, and the Ed25519 signature of (store id,
//     generation, set) (seal.StateMessage).
//   - A reader (a replica, an admin opening the store) computes the
//     accumulator of the records it holds and accepts them only if the
//     signature checks and the generation is not below the highest it has
//     seen. So a deleted or replaced record's old row written back by a
//     database writer never verifies: the set it gives matches no signed
//     state.

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
)

// StateRow is the stored signed state.
type StateRow struct {
	Gen, Count uint64
	Masked     [sha256.Size]byte
	Sig        []byte
}

// Check reports whether the row is the store's signature of the set a.
func (r StateRow) Check(v *seal.EdVerifier, storeID string, a seal.Set) bool {
	return r.Count == a.Count && v.VerifyState(storeID, r.Gen, &a, r.Sig)
}

func (r StateRow) encode() string {
	b := binary.BigEndian.AppendUint64(nil, r.Gen)
	b = binary.BigEndian.AppendUint64(b, r.Count)
	b = append(b, r.Masked[:]...)
	b = append(b, r.Sig...)
	return base64.StdEncoding.EncodeToString(b)
}

func decodeStateRow(s string) (StateRow, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 16+sha256.Size+ed25519.SignatureSize {
		return StateRow{}, fmt.Errorf("%w: the signed state does not parse", ErrStateMismatch)
	}
	r := StateRow{Gen: binary.BigEndian.Uint64(b), Count: binary.BigEndian.Uint64(b[8:]), Sig: b[16+sha256.Size:]}
	copy(r.Masked[:], b[16:])
	return r, nil
}

// readState reads the signed state row; ok is false when there is none.
func readState(ctx context.Context, q querier) (StateRow, bool, error) {
	var v string
	err := q.QueryRow(ctx, `SELECT value FROM store_meta WHERE name = $1`, stateName).Scan(&v)
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
	var a seal.Set
	for _, k := range keys {
		a.Add(v.SetElement(k.ID, k.MAC))
	}
	return a
}

// SealedStore is a shared store opened with admin material: every key
// change also advances and re-signs the store's signed state, in the same
// transaction. It implements core.Store.
type SealedStore struct {
	*Store
	signer *seal.EdSigner
}

var (
	_ core.Store       = (*SealedStore)(nil)
	_ core.KeyRoller   = (*SealedStore)(nil)
	_ core.ExpiryIndex = (*Preloaded)(nil)
	_ core.KeyRoller   = (*Preloaded)(nil)
)

// Sealed returns s with admin material signer (see SealedStore). It does
// not check the state; LoadSigned does.
func Sealed(s *Store, signer *seal.EdSigner) *SealedStore {
	return &SealedStore{Store: s, signer: signer}
}

// Signer returns the store's admin material.
func (s *SealedStore) Signer() *seal.EdSigner { return s.signer }

// writeState signs a and writes it as generation gen.
func (s *SealedStore) writeState(ctx context.Context, tx pgx.Tx, gen uint64, a seal.Set) error {
	r := StateRow{Gen: gen, Count: a.Count, Masked: s.signer.Mask(s.storeID, gen, &a), Sig: s.signer.SignState(s.storeID, gen, &a)}
	_, err := tx.Exec(ctx, `INSERT INTO store_meta (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, stateName, r.encode())
	if err != nil {
		return fmt.Errorf("write signed state: %w", err)
	}
	return nil
}

// advance moves the signed state by one generation: removed records leave
// the set, added ones join it. The caller holds the change lock (addChange).
// A state whose signature does not check is refused: an admin never signs
// on top of a forged state.
func (s *SealedStore) advance(ctx context.Context, tx pgx.Tx, removed, added []*core.Key) error {
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
	a := s.signer.Unmask(s.storeID, r.Gen, r.Masked, r.Count)
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
		return s.writeState(ctx, tx, 1, Accumulate(s.signer.Verifier(), keys))
	})
	if err != nil {
		return fmt.Errorf("sign the store's state: %w", err)
	}
	return nil
}

// InsertKey is Store.InsertKey that also advances the signed state.
func (s *SealedStore) InsertKey(k *core.Key, ev core.AuditEvent) error {
	return s.Store.insertKey(k, ev, func(ctx context.Context, tx pgx.Tx) error {
		return s.advance(ctx, tx, nil, []*core.Key{k})
	})
}

// InsertKeys is Store.InsertKeys that also advances the signed state.
func (s *SealedStore) InsertKeys(keys []*core.Key, ev core.AuditEvent) error {
	for _, k := range keys {
		if err := s.InsertKey(k, ev); err != nil {
			return fmt.Errorf("insert keys: %w", err)
		}
	}
	return nil
}

// UpdateKey is Store.UpdateKey that also advances the signed state.
func (s *SealedStore) UpdateKey(k *core.Key, ev core.AuditEvent) error {
	return s.Store.updateKey(k, ev, func(ctx context.Context, tx pgx.Tx, old *core.Key) error {
		return s.advance(ctx, tx, []*core.Key{old}, []*core.Key{k})
	})
}

// DeleteKey is Store.DeleteKey that also advances the signed state, so the
// deleted record's row written back later matches no signed state.
func (s *SealedStore) DeleteKey(id string, ev core.AuditEvent) error {
	return s.Store.deleteKey(id, ev, func(ctx context.Context, tx pgx.Tx, old *core.Key) error {
		return s.advance(ctx, tx, []*core.Key{old}, nil)
	})
}

// SignedSnapshot is a consistent read of every key record, the last
// change number they include and the signed state.
type SignedSnapshot struct {
	Keys []*core.Key
	// Elements are the keys' set elements (Elements[i] is Keys[i]'s,
	// seal.EdVerifier.SetElement), as the state check computed them.
	Elements []seal.Element
	Seq      int64
	State    StateRow
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
	seen := make(map[string]struct{}, len(snap.Keys))
	snap.Elements = make([]seal.Element, len(snap.Keys))
	var a seal.Set
	for i, k := range snap.Keys {
		if _, dup := seen[k.ID]; dup {
			// Two rows holding one record: a copy under another id.
			return nil, fmt.Errorf("%w (key %s is stored twice)", ErrStateMismatch, k.ID)
		}
		seen[k.ID] = struct{}{}
		snap.Elements[i] = v.SetElement(k.ID, k.MAC)
		a.Add(snap.Elements[i])
	}
	switch {
	case !ok:
		return nil, ErrNoSignedState
	case !snap.State.Check(v, s.storeID, a):
		return nil, ErrStateMismatch
	case snap.State.Gen < minGen:
		return nil, fmt.Errorf("%w (generation %d, seen %d)", ErrStateRolledBack, snap.State.Gen, minGen)
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

// OpenSealed opens the store at url with admin material and checks its
// records against the signed state (see ReadSignedSnapshot). It returns
// the store and the checked records, with Tampered set on any whose own
// signature fails.
func OpenSealed(ctx context.Context, url string, signer *seal.EdSigner, opts Options) (*SealedStore, *SignedSnapshot, error) {
	st, err := Open(ctx, url, opts)
	if err != nil {
		return nil, nil, err
	}
	snap, err := st.ReadSignedSnapshot(ctx, signer.Verifier(), 0)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	return Sealed(st, signer), snap, nil
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
	return s.Store.rollKey(old, new, ev, func(ctx context.Context, tx pgx.Tx, stored *core.Key) error {
		return s.advance(ctx, tx, []*core.Key{stored}, []*core.Key{old, new})
	})
}
