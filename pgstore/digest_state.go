package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
)

// LastDeliveredSlot returns the last digest slot marked delivered, or the
// zero time when none was.
func (s *Store) LastDeliveredSlot() (time.Time, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var ns int64
	err := s.pool.QueryRow(ctx, `SELECT last_slot_ns FROM digest_state WHERE id = 1`).Scan(&ns)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read digest state: %w", err)
	}
	return time.Unix(0, ns).UTC(), nil
}

// MarkSlotDelivered records slot as the last delivered digest slot together
// with its audit event and a change (KindDigest), in one transaction. A slot older than the one
// already recorded leaves the record unchanged (the event is still logged).
func (s *Store) MarkSlotDelivered(slot time.Time, ev core.AuditEvent) error {
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO digest_state (id, last_slot_ns) VALUES (1, $1)
			ON CONFLICT (id) DO UPDATE SET last_slot_ns = GREATEST(digest_state.last_slot_ns, excluded.last_slot_ns)`, nanos(slot)); err != nil {
			return err
		}
		if err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		// Servers may not write change rows: the function numbers this
		// one from the sequence (see ServerGrants).
		if _, err := tx.Exec(ctx, `SELECT keydesk_digest_changed()`); err != nil {
			return fmt.Errorf("record change: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark digest slot delivered: %w", err)
	}
	return nil
}
