package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
)

// appendAudit adds ev to the audit log with this process's OS user and host.
func (s *Store) appendAudit(ctx context.Context, tx pgx.Tx, ev core.AuditEvent) error {
	at := ev.Time
	if at.IsZero() {
		at = time.Now()
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit (at, actor, action, key_id, key_name, detail, os_user, host)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		at.UTC(), ev.Actor, string(ev.Action), ev.KeyID, ev.KeyName, ev.Detail, s.osUser, s.host)
	if err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// AppendAudit records an event that changes no key.
func (s *Store) AppendAudit(ev core.AuditEvent) error {
	err := s.write(func(ctx context.Context, tx pgx.Tx) error { return s.appendAudit(ctx, tx, ev) })
	if err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// AuditEntry is one line of the audit log with where it was written.
type AuditEntry struct {
	core.AuditEvent
	// OSUser and Host are the OS user and computer of the process that
	// wrote the entry.
	OSUser, Host string
}

// AuditEntries returns the newest limit entries of the audit log (all when
// limit <= 0), newest first.
func (s *Store) AuditEntries(limit int) ([]AuditEntry, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, at, actor, action, key_id, key_name, detail, os_user, host
		FROM audit ORDER BY seq DESC LIMIT $1`, lim)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		var seq int64
		var action string
		err := r.Scan(&seq, &e.Time, &e.Actor, &action, &e.KeyID, &e.KeyName, &e.Detail, &e.OSUser, &e.Host)
		e.Seq, e.Action, e.Time = uint64(seq), core.AuditAction(action), e.Time.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// Audit returns the audit log, newest first.
func (s *Store) Audit() ([]core.AuditEvent, error) {
	entries, err := s.AuditEntries(0)
	if err != nil {
		return nil, err
	}
	out := make([]core.AuditEvent, len(entries))
	for i, e := range entries {
		out[i] = e.AuditEvent
	}
	return out, nil
}
