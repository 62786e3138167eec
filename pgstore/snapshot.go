package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

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
