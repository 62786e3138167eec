package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
)

// Source is a store to move into PostgreSQL; the local store
// (*storage.Store) implements it.
type Source interface {
	StoreID() string
	Created() time.Time
	ListKeys() ([]*core.Key, error)
	// Audit returns the audit log, newest first.
	Audit() ([]core.AuditEvent, error)
	Setting(name string) ([]byte, error)
	LastDeliveredSlot() (time.Time, error)
}

// InitFrom creates the store at url as a copy of src, in one transaction:
// the same store id and creation time (so the signing material of src keeps
// verifying every key it issued), every key record with its last-used time,
// the audit log (oldest first, each entry's OS user taken from its actor and
// its computer from opts.Host or this one), the settings named in settings,
// and the last delivered digest slot; then ev, recording the move. A
// database that already holds a store fails with ErrAlreadyInitialised and
// is not changed; so does any failure part-way.
func InitFrom(ctx context.Context, url string, src Source, settings []string, ev core.AuditEvent, opts Options) (*Store, error) {
	keys, err := src.ListKeys()
	if err != nil {
		return nil, fmt.Errorf("read the local store: %w", err)
	}
	audit, err := src.Audit()
	if err != nil {
		return nil, fmt.Errorf("read the local store: %w", err)
	}
	values := make(map[string][]byte, len(settings))
	for _, name := range settings {
		v, err := src.Setting(name)
		if err != nil {
			return nil, fmt.Errorf("read the local store: %w", err)
		}
		if v != nil {
			values[name] = v
		}
	}
	slot, err := src.LastDeliveredSlot()
	if err != nil {
		return nil, fmt.Errorf("read the local store: %w", err)
	}
	if src.StoreID() == "" {
		return nil, errors.New("the local store has no id")
	}

	s, err := connect(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	err = s.initTx(ctx, func(tx pgx.Tx) error {
		created, _ := src.Created().UTC().MarshalText()
		if _, err := tx.Exec(ctx, `INSERT INTO store_meta (name, value) VALUES ('store_id', $1), ('created', $2)`, src.StoreID(), string(created)); err != nil {
			return fmt.Errorf("write store identity: %w", err)
		}
		ids, err := newKeyIDs(keys)
		if err != nil {
			return err
		}
		if err := copyKeys(ctx, tx, keys); err != nil {
			return err
		}
		for i := len(audit) - 1; i >= 0; i-- {
			e := audit[i]
			_, err := tx.Exec(ctx, `INSERT INTO audit (at, actor, action, key_id, key_name, detail, os_user, host)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				e.Time.UTC(), e.Actor, string(e.Action), e.KeyID, e.KeyName, e.Detail, e.Actor, s.host)
			if err != nil {
				return fmt.Errorf("copy audit log: %w", err)
			}
		}
		for name, v := range values {
			if _, err := tx.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)`, name, v); err != nil {
				return fmt.Errorf("copy setting %s: %w", name, err)
			}
		}
		if !slot.IsZero() {
			if _, err := tx.Exec(ctx, `INSERT INTO digest_state (id, last_slot_ns) VALUES (1, $1)`, nanos(slot)); err != nil {
				return fmt.Errorf("copy digest state: %w", err)
			}
		}
		if err := lockChanges(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO changes (kind, op, name) SELECT 'key', 'insert', unnest($1::text[])`, ids); err != nil {
			return fmt.Errorf("record changes: %w", err)
		}
		if err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		return s.readMeta(ctx, tx)
	})
	if err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("initialise store from a local store: %w", err)
	}
	return s, nil
}
