package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

// Setting returns a setting's value, or nil, nil when it is unset.
func (s *Store) Setting(name string) ([]byte, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", name, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// PutSetting stores a setting (a nil value deletes it) together with its
// audit event and change, in one transaction.
func (s *Store) PutSetting(name string, value []byte, ev core.AuditEvent) error {
	return s.putSetting(name, value, ev, nil)
}

// putSetting is PutSetting that runs after, when set, last in the same
// transaction (the sealed store advances its signed state there).
func (s *Store) putSetting(name string, value []byte, ev core.AuditEvent, after func(ctx context.Context, tx pgx.Tx) error) error {
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		op := OpUpdate
		var err error
		if value == nil {
			op = OpDelete
			_, err = tx.Exec(ctx, `DELETE FROM settings WHERE name = $1`, name)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
		}
		if err != nil {
			return err
		}
		if err := s.auditChange(ctx, tx, ev, KindSetting, op, name); err != nil {
			return err
		}
		if after != nil {
			return after(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save setting %s: %w", name, err)
	}
	return nil
}

// PutSetting is Store.PutSetting; for the catalog (core.CatalogSetting)
// it also advances the signed state, naming the new catalog (or none: the
// embedded one), in the same transaction, so that readers accept no other
// catalog setting from then on (see StateFormat).
func (s *SealedStore) PutSetting(name string, value []byte, ev core.AuditEvent) error {
	if name != core.CatalogSetting {
		return s.Store.PutSetting(name, value, ev)
	}
	if len(value) > core.MaxCatalogSetting {
		return fmt.Errorf("save the catalog: %w: it is larger than %d MB", core.ErrCatalog, core.MaxCatalogSetting>>20)
	}
	digest := DigestCatalog(value)
	var gen uint64
	err := s.Store.putSetting(name, value, ev, func(ctx context.Context, tx pgx.Tx) error {
		return s.advanceCatalog(ctx, tx, &gen, nil, nil, &digest)
	})
	return s.committed(gen, err)
}

// readCatalog reads the catalog setting's value in tx (nil when none is
// stored), with a limit: a longer value is refused with ErrCatalogMismatch
// (no admin stores one).
func readCatalog(ctx context.Context, tx pgx.Tx) ([]byte, error) {
	var v []byte
	err := tx.QueryRow(ctx, `SELECT substring(value FROM 1 FOR $2) FROM settings WHERE name = $1`,
		core.CatalogSetting, core.MaxCatalogSetting+1).Scan(&v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the catalog: %w", err)
	case len(v) > core.MaxCatalogSetting:
		return nil, fmt.Errorf("%w: the stored catalog is larger than %d MB", errCatalogMismatch, core.MaxCatalogSetting>>20)
	case v == nil:
		v = []byte{}
	}
	return v, nil
}

// SignedCatalog returns the store's catalog setting (nil when none is
// stored: the embedded catalog) read with the signed state in one
// snapshot, and checked against it with v: the state's signature over the
// set digest it stores and the catalog digest it names (format 4; the
// keys are not read), its generation not below minGen
// (ErrStateRolledBack), and the setting the one it names
// (ErrCatalogMismatch). A state of format 3 names no catalog: the setting
// is returned unchecked. The catalog's own signature is the caller's to
// check (core.OpenCatalog).
func (s *Store) SignedCatalog(ctx context.Context, v *seal.EdVerifier, minGen uint64) ([]byte, error) {
	var (
		state   StateRow
		ok      bool
		catalog []byte
	)
	err := pgx.BeginTxFunc(ctx, s.pool, snapshotTx, func(tx pgx.Tx) error {
		var err error
		if state, ok, err = readState(ctx, tx); err != nil || !ok {
			return err
		}
		catalog, err = readCatalog(ctx, tx)
		return err
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("read the catalog: %w", err)
	case !ok:
		return nil, ErrNoSignedState
	case state.Format == legacyStateFormat:
		return nil, errOldState
	case state.Digest.Count != state.Count || !state.Check(v, s.storeID, state.Digest):
		return nil, ErrStateMismatch
	case state.Gen < minGen:
		return nil, &RolledBackError{Gen: state.Gen, Seen: minGen}
	}
	if err := state.checkCatalog(catalog); err != nil {
		return nil, err
	}
	return catalog, nil
}
