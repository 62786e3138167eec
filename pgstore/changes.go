package pgstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
)

// Change kinds and operations.
const (
	KindKey     = "key"
	KindSetting = "setting"
	KindDigest  = "digest"

	OpInsert = "insert"
	OpUpdate = "update"
	OpDelete = "delete"
)

// auditChange appends ev to the audit log and then records the change
// (kind, op, name): the two writes every change ends with.
func (s *Store) auditChange(ctx context.Context, tx pgx.Tx, ev core.AuditEvent, kind, op, name string) error {
	if err := s.appendAudit(ctx, tx, ev); err != nil {
		return err
	}
	return addChange(ctx, tx, kind, op, name)
}

// lockChanges takes the transaction-level change lock: changes, and the
// signed state they advance, are numbered in commit order under it.
func lockChanges(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockClass, lockChange); err != nil {
		return fmt.Errorf("lock change sequence: %w", err)
	}
	return nil
}

// addChange records a change as the transaction's last write and notifies
// ChangeChannel at commit. The transaction-level lock makes change numbers
// follow commit order: a follower that has read seq n has seen every change
// numbered below n.
func addChange(ctx context.Context, tx pgx.Tx, kind, op, name string) error {
	if err := lockChanges(ctx, tx); err != nil {
		return err
	}
	var seq int64
	if err := tx.QueryRow(ctx, `INSERT INTO changes (kind, op, name) VALUES ($1, $2, $3) RETURNING seq`, kind, op, name).Scan(&seq); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ChangeChannel, strconv.FormatInt(seq, 10)); err != nil {
		return fmt.Errorf("notify change: %w", err)
	}
	return nil
}

// Snapshot returns every record (in no particular order) and the sequence
// number of the last change they include, read in one consistent snapshot:
// a replica loads it, then follows changes after that number.
func (s *Store) Snapshot(ctx context.Context) ([]*core.Key, int64, error) {
	var keys []*core.Key
	var seq int64
	err := pgx.BeginTxFunc(ctx, s.pool, snapshotTx, func(tx pgx.Tx) error {
		var err error
		if seq, err = lastChange(ctx, tx); err != nil {
			return err
		}
		keys, err = allKeys(ctx, tx)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read snapshot: %w", err)
	}
	return keys, seq, nil
}

// snapshotTx is a read-only transaction whose every query sees one
// consistent snapshot.
var snapshotTx = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// issuedBound is an SQL expression for the highest change number the
// change table's sequence has issued. A statement (or a snapshot
// transaction) that reads it after its snapshot was taken gets a bound on
// every change it can see that Keydesk wrote: numbers come from the
// sequence before the change commits. A row numbered above it was written
// with a number of its own choosing, outside Keydesk (only the owner of the
// table can: see ServerGrants), and is ignored: trusted, such a row would
// move every follower past all later changes.
const issuedBound = `(SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('changes', 'seq')::regclass), 0))`

// lastChange returns the number of the last change recorded (0 if none),
// of those the change sequence issued (see issuedBound).
func lastChange(ctx context.Context, tx pgx.Tx) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM changes WHERE seq <= `+issuedBound).Scan(&seq)
	return seq, err
}
