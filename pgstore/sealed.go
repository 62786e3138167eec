package pgstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

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
