package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
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
		return s.auditChange(ctx, tx, ev, KindSetting, op, name)
	})
	if err != nil {
		return fmt.Errorf("save setting %s: %w", name, err)
	}
	return nil
}
