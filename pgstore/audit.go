package pgstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

// Audit entries an admin writes carry the store's Ed25519 signature (column
// sig) over the entry and its sequence number; entries a verification
// server writes (the digest's) carry none, since servers hold only the
// public key. A reader with the store's key (an admin) marks every entry
// without a valid signature core.AuditEvent.Unverified, so that an entry a
// server role or a database writer inserted never passes for an admin's.
// Entries written before schema v4 carry no signature either.

// auditMessage is what an audit entry's signature covers. Its prefix
// differs from a record payload's and the signed state's, so no signature
// passes for another kind.
func auditMessage(storeID string, seq int64, at time.Time, ev core.AuditEvent, osUser, host string) []byte {
	b := []byte("keydesk audit v1\x00")
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	str(storeID)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixMicro()))
	for _, s := range []string{ev.Actor, string(ev.Action), ev.KeyID, ev.KeyName, ev.Detail, osUser, host} {
		str(s)
	}
	return b
}

// appendAudit adds ev to the audit log with this process's OS user and
// host, signed when the store was opened with admin material (Sealed).
func (s *Store) appendAudit(ctx context.Context, tx pgx.Tx, ev core.AuditEvent) error {
	at := ev.Time
	if at.IsZero() {
		at = time.Now()
	}
	// PostgreSQL keeps microseconds: sign what it keeps.
	at = at.UTC().Truncate(time.Microsecond)
	var seq int64
	var sig []byte
	if s.auditSigner != nil {
		if err := tx.QueryRow(ctx, `SELECT nextval('audit_seq_seq')`).Scan(&seq); err != nil {
			return fmt.Errorf("append audit event: %w", err)
		}
		sig = s.auditSigner.SignAudit(auditMessage(s.storeID, seq, at, ev, s.osUser, s.host))
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit (seq, at, actor, action, key_id, key_name, detail, os_user, host, sig)
		VALUES (coalesce($1, nextval('audit_seq_seq')), $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		func() *int64 {
			if sig == nil {
				return nil
			}
			return &seq
		}(), at, ev.Actor, string(ev.Action), ev.KeyID, ev.KeyName, ev.Detail, s.osUser, s.host, sig)
	if err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// signUnsignedAudit signs every entry without a signature (SealFromRows:
// at store init they are the entries moved in from a data folder).
func (s *Store) signUnsignedAudit(ctx context.Context, tx pgx.Tx, signer *seal.EdSigner) error {
	rows, err := tx.Query(ctx, `SELECT seq, at, actor, action, key_id, key_name, detail, os_user, host FROM audit WHERE sig IS NULL`)
	if err != nil {
		return fmt.Errorf("sign audit log: %w", err)
	}
	type signed struct {
		seq int64
		sig []byte
	}
	var out []signed
	var e AuditEntry
	var seq int64
	var action string
	_, err = pgx.ForEachRow(rows, []any{&seq, &e.Time, &e.Actor, &action, &e.KeyID, &e.KeyName, &e.Detail, &e.OSUser, &e.Host}, func() error {
		e.Action = core.AuditAction(action)
		out = append(out, signed{seq, signer.SignAudit(auditMessage(s.storeID, seq, e.Time.UTC(), e.AuditEvent, e.OSUser, e.Host))})
		return nil
	})
	if err != nil {
		return fmt.Errorf("sign audit log: %w", err)
	}
	for _, o := range out {
		if _, err := tx.Exec(ctx, `UPDATE audit SET sig = $1 WHERE seq = $2`, o.sig, o.seq); err != nil {
			return fmt.Errorf("sign audit log: %w", err)
		}
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
// limit <= 0), newest first. Entries without a valid admin signature are
// marked Unverified (all of them when the store was opened without admin
// material: nothing here can tell).
func (s *Store) AuditEntries(limit int) ([]AuditEntry, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	out, err := s.queryAudit(`SELECT seq, at, actor, action, key_id, key_name, detail, os_user, host, sig
		FROM audit ORDER BY seq DESC LIMIT $1`, lim)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// KeyAudit returns the audit entries about the keys ids, newest first,
// marked Unverified as AuditEntries marks them (schema v6 indexes them by
// key).
func (s *Store) KeyAudit(ids ...string) ([]core.AuditEvent, error) {
	entries, err := s.queryAudit(`SELECT seq, at, actor, action, key_id, key_name, detail, os_user, host, sig
		FROM audit WHERE key_id = ANY($1) ORDER BY seq DESC`, ids)
	if err != nil {
		return nil, fmt.Errorf("read the keys' audit entries: %w", err)
	}
	out := make([]core.AuditEvent, len(entries))
	for i, e := range entries {
		out[i] = e.AuditEvent
	}
	return out, nil
}

// queryAudit runs query, which selects seq, at, actor, action, key_id,
// key_name, detail, os_user, host and sig from audit, and checks each
// entry's signature.
func (s *Store) queryAudit(query string, args ...any) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.query(func(ctx context.Context, db *pgxpool.Pool) error {
		rows, err := db.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, s.scanAudit)
		return err
	})
	return out, err
}

// scanAudit reads one row of queryAudit's columns.
func (s *Store) scanAudit(r pgx.CollectableRow) (AuditEntry, error) {
	var e AuditEntry
	var seq int64
	var action string
	var sig []byte
	err := r.Scan(&seq, &e.Time, &e.Actor, &action, &e.KeyID, &e.KeyName, &e.Detail, &e.OSUser, &e.Host, &sig)
	e.Seq, e.Action, e.Time = uint64(seq), core.AuditAction(action), e.Time.UTC()
	e.Unverified = s.auditSigner == nil || sig == nil ||
		!s.auditSigner.VerifyAudit(auditMessage(s.storeID, seq, e.Time, e.AuditEvent, e.OSUser, e.Host), sig)
	return e, err
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
