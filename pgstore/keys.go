package pgstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

// keyColumns are the columns written for a key, in the order of keyArgs.
const keyColumns = `id, digest, name, hint, scopes, kind, permissions, created_ns, expires_ns, last_used_ns, mac, record`

// keyArgs returns the column values of k (see keyColumns).
func keyArgs(k *core.Key) []any {
	rec := *k
	rec.LastUsedAt = time.Time{}
	rec.Tampered = false
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	var lastUsed *int64
	if !k.LastUsedAt.IsZero() {
		n := nanos(k.LastUsedAt)
		lastUsed = &n
	}
	mac := k.MAC
	if mac == nil {
		mac = []byte{}
	}
	// The permissions as JSON text (a struct has no encoding in the simple
	// protocol); they cannot fail to marshal (strings and maps of strings).
	perms, _ := json.Marshal(k.Permissions)
	return []any{k.ID, k.Digest, k.Name, k.Hint, scopes, string(k.Permissions.Kind), string(perms),
		nanos(k.CreatedAt), nanos(k.ExpiresAt), lastUsed, mac, seal.EncodeRecord(&rec)}
}

// newKeyIDs checks new records (checkNewKey) and returns their ids.
func newKeyIDs(keys []*core.Key) ([]string, error) {
	ids := make([]string, len(keys))
	for i, k := range keys {
		if err := checkNewKey(k); err != nil {
			return nil, err
		}
		ids[i] = k.ID
	}
	return ids, nil
}

// copyKeys writes new records with COPY, in tx: a duplicate id or digest
// fails with core.ErrDuplicate.
func copyKeys(ctx context.Context, tx pgx.Tx, keys []*core.Key) error {
	cols := strings.Split(keyColumns, ", ")
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"keys"}, cols, pgx.CopyFromSlice(len(keys), func(i int) ([]any, error) {
		return keyArgs(keys[i]), nil
	}))
	switch {
	case isUnique(err):
		return core.ErrDuplicate
	case err != nil:
		return fmt.Errorf("copy keys: %w", err)
	}
	return nil
}

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// insertRow writes the row of a new record, in tx: a duplicate id or
// digest fails with core.ErrDuplicate.
func insertRow(ctx context.Context, tx pgx.Tx, k *core.Key) error {
	_, err := tx.Exec(ctx, `INSERT INTO keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, keyArgs(k)...)
	if isUnique(err) {
		return fmt.Errorf("%w (id %s)", core.ErrDuplicate, k.ID)
	}
	return err
}

// updateRow rewrites the row of an existing record, in tx; the stored
// last-used time only moves forward. An unknown id fails with
// core.ErrNotFound, a digest that another key has with core.ErrDuplicate.
func updateRow(ctx context.Context, tx pgx.Tx, k *core.Key) error {
	tag, err := tx.Exec(ctx, `UPDATE keys SET digest = $2, name = $3, hint = $4, scopes = $5, kind = $6, permissions = $7,
		created_ns = $8, expires_ns = $9, last_used_ns = GREATEST(last_used_ns, $10), mac = $11, record = $12
		WHERE id = $1`, keyArgs(k)...)
	switch {
	case isUnique(err):
		return core.ErrDuplicate
	case err != nil:
		return err
	case tag.RowsAffected() == 0:
		return fmt.Errorf("%w %q", core.ErrNotFound, k.ID)
	}
	return nil
}

// oldRecord reads and locks the stored record of id for a change.
func oldRecord(ctx context.Context, tx pgx.Tx, id string) (*core.Key, error) {
	var rec []byte
	err := tx.QueryRow(ctx, `SELECT record FROM keys WHERE id = $1 FOR UPDATE`, id).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w %q", core.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	return decodeRow(rec, nil)
}

func checkNewKey(k *core.Key) error {
	if k.ID == "" || len(k.Digest) == 0 {
		return errors.New("a key record needs an id and a digest")
	}
	return nil
}

// InsertKey stores a new record with its audit event and change, in one
// transaction. A duplicate id or digest fails with core.ErrDuplicate.
func (s *Store) InsertKey(k *core.Key, ev core.AuditEvent) error {
	return s.insertKey(k, ev, nil)
}

// insertKey is InsertKey that runs after, when set, last in the same
// transaction (the sealed store advances its signed state there).
func (s *Store) insertKey(k *core.Key, ev core.AuditEvent, after func(ctx context.Context, tx pgx.Tx) error) error {
	if err := checkNewKey(k); err != nil {
		return fmt.Errorf("insert key: %w", err)
	}
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		if err := insertRow(ctx, tx, k); err != nil {
			return err
		}
		if err := s.auditChange(ctx, tx, ev, KindKey, OpInsert, k.ID); err != nil {
			return err
		}
		if after != nil {
			return after(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert key: %w", err)
	}
	return nil
}

// InsertKeys stores many new records in one transaction with one audit
// event (imports, moving a local store, benchmarks). Any duplicate id or
// digest fails the whole batch with core.ErrDuplicate.
func (s *Store) InsertKeys(keys []*core.Key, ev core.AuditEvent) error {
	return s.insertKeys(keys, ev, nil)
}

// insertKeys is InsertKeys that runs after, when set, last in the same
// transaction (the sealed store advances its signed state there).
func (s *Store) insertKeys(keys []*core.Key, ev core.AuditEvent, after func(ctx context.Context, tx pgx.Tx) error) error {
	ids, err := newKeyIDs(keys)
	if err != nil {
		return fmt.Errorf("insert keys: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout+time.Duration(len(keys))*time.Millisecond)
	defer cancel()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := copyKeys(ctx, tx, keys); err != nil {
			return err
		}
		if err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		if err := lockChanges(ctx, tx); err != nil {
			return err
		}
		var last *int64
		if err := tx.QueryRow(ctx, `WITH c AS (INSERT INTO changes (kind, op, name) SELECT 'key', 'insert', unnest($1::text[]) RETURNING seq)
			SELECT max(seq) FROM c`, ids).Scan(&last); err != nil {
			return fmt.Errorf("record changes: %w", err)
		}
		if last != nil {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ChangeChannel, strconv.FormatInt(*last, 10)); err != nil {
				return fmt.Errorf("notify change: %w", err)
			}
		}
		if after != nil {
			return after(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert keys: %w", err)
	}
	return nil
}

// UpdateKey replaces an existing record, with its audit event and change, in
// one transaction. The stored last-used time only moves forward. An unknown
// id fails with core.ErrNotFound; a digest that another key has, with
// core.ErrDuplicate.
func (s *Store) UpdateKey(k *core.Key, ev core.AuditEvent) error {
	return s.updateKey(k, ev, nil)
}

// updateKey is UpdateKey that, when withOld is set, reads and locks the
// stored record first and hands it to withOld last in the same transaction
// (the sealed store advances its signed state there).
func (s *Store) updateKey(k *core.Key, ev core.AuditEvent, withOld func(ctx context.Context, tx pgx.Tx, old *core.Key) error) error {
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		var old *core.Key
		if withOld != nil {
			var err error
			if old, err = oldRecord(ctx, tx, k.ID); err != nil {
				return err
			}
		}
		if err := updateRow(ctx, tx, k); err != nil {
			return err
		}
		if err := s.auditChange(ctx, tx, ev, KindKey, OpUpdate, k.ID); err != nil {
			return err
		}
		if withOld != nil {
			return withOld(ctx, tx, old)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	return nil
}

// RollKey replaces the record of old (its shortened expiry and RolledTo
// set), inserts new, and appends ev, in one transaction with a change for
// each key (followers apply both at once). The stored record of old is
// locked and checked first: a missing one fails with core.ErrNotFound, one
// already rolled (by another admin) with core.ErrAlreadyRolled, one
// changed otherwise since the caller read it with core.ErrKeyChanged, a
// duplicate id or digest of new with core.ErrDuplicate; then nothing is
// written.
func (s *Store) RollKey(old, new *core.Key, ev core.AuditEvent) error {
	return s.rollKey(old, new, ev, nil)
}

// rollKey is RollKey; after, when not nil, runs last in the transaction
// with the record of old as it was stored before the roll (a store that
// keeps a signed state over its records advances it there: the stored old
// record leaves the set, the rolled old record and the new one join it).
func (s *Store) rollKey(old, new *core.Key, ev core.AuditEvent, after func(ctx context.Context, tx pgx.Tx, stored *core.Key) error) error {
	if err := checkNewKey(new); err != nil {
		return fmt.Errorf("roll key: %w", err)
	}
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		stored, err := oldRecord(ctx, tx, old.ID)
		if err != nil {
			return err
		}
		if stored.RolledTo != "" {
			return core.ErrAlreadyRolled
		}
		if !core.SameBeforeRoll(stored, old) {
			// Renamed (or otherwise rewritten) by another admin since
			// this process loaded it: writing old would undo that.
			return core.ErrKeyChanged
		}
		if err := updateRow(ctx, tx, old); err != nil {
			return err
		}
		if err := insertRow(ctx, tx, new); err != nil {
			return err
		}
		if err := s.auditChange(ctx, tx, ev, KindKey, OpUpdate, old.ID); err != nil {
			return err
		}
		if err := addChange(ctx, tx, KindKey, OpInsert, new.ID); err != nil {
			return err
		}
		if after != nil {
			return after(ctx, tx, stored)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("roll key: %w", err)
	}
	return nil
}

// DeleteKey removes a record, with its audit event and change, in one
// transaction. An unknown id fails with core.ErrNotFound.
func (s *Store) DeleteKey(id string, ev core.AuditEvent) error {
	return s.deleteKey(id, ev, nil)
}

// deleteKey is DeleteKey that, when withOld is set, reads and locks the
// stored record first and hands it to withOld last in the same transaction.
func (s *Store) deleteKey(id string, ev core.AuditEvent, withOld func(ctx context.Context, tx pgx.Tx, old *core.Key) error) error {
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		var old *core.Key
		if withOld != nil {
			var err error
			if old, err = oldRecord(ctx, tx, id); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM keys WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w %q", core.ErrNotFound, id)
		}
		if err := s.auditChange(ctx, tx, ev, KindKey, OpDelete, id); err != nil {
			return err
		}
		if withOld != nil {
			return withOld(ctx, tx, old)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	return nil
}

// decodeRow decodes a stored record and sets its last-used time.
func decodeRow(record []byte, lastUsed *int64) (*core.Key, error) {
	return decodeRowWith(nil, record, lastUsed)
}

// decodeRowWith is decodeRow with the record in d's blocks (nil: its own
// allocations).
func decodeRowWith(d *seal.RecordDecoder, record []byte, lastUsed *int64) (*core.Key, error) {
	k, err := d.Decode(record)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if lastUsed != nil {
		k.LastUsedAt = time.Unix(0, *lastUsed).UTC()
	}
	return k, nil
}

// GetKey returns one record, or core.ErrNotFound.
func (s *Store) GetKey(id string) (*core.Key, error) {
	var rec []byte
	var lastUsed *int64
	err := s.query(func(ctx context.Context, db *pgxpool.Pool) error {
		return db.QueryRow(ctx, `SELECT record, last_used_ns FROM keys WHERE id = $1`, id).Scan(&rec, &lastUsed)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get key: %w %q", core.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("get key: %w", err)
	}
	k, err := decodeRow(rec, lastUsed)
	if err != nil {
		return nil, fmt.Errorf("get key: %w", err)
	}
	return k, nil
}

// collectKeys decodes rows of (record, last_used_ns), in order. The rows'
// bytes are copied into a few large buffers as they arrive and decoded
// afterwards on every CPU (a replica's start with 100,000 keys is mostly
// this).
func collectKeys(rows pgx.Rows) ([]*core.Key, error) {
	defer rows.Close()
	fds := rows.FieldDescriptions()
	if len(fds) != 2 || fds[0].Format != pgx.BinaryFormatCode || fds[1].Format != pgx.BinaryFormatCode {
		return collectKeysScan(rows)
	}
	type row struct {
		rec      []byte
		lastUsed int64
		used     bool
	}
	var recs []row
	var arena []byte
	for rows.Next() {
		raw := rows.RawValues()
		if raw[0] == nil || (raw[1] != nil && len(raw[1]) != 8) {
			return nil, fmt.Errorf("%w: a key row has no record", ErrCorrupt)
		}
		if len(arena)+len(raw[0]) > cap(arena) {
			arena = make([]byte, 0, max(1<<20, len(raw[0])))
		}
		start := len(arena)
		arena = append(arena, raw[0]...)
		r := row{rec: arena[start:len(arena):len(arena)]}
		if raw[1] != nil {
			r.lastUsed, r.used = int64(binary.BigEndian.Uint64(raw[1])), true
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*core.Key, len(recs))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(recs)/1024))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			// The records are kept together: in blocks of the worker's
			// decoder.
			var d seal.RecordDecoder
			for i := w; i < len(recs); i += workers {
				var lu *int64
				if recs[i].used {
					lu = &recs[i].lastUsed
				}
				k, err := decodeRowWith(&d, recs[i].rec, lu)
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = k
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// collectKeysScan is collectKeys for rows in text format (e.g. through a
// pooler that forces the simple protocol).
func collectKeysScan(rows pgx.Rows) ([]*core.Key, error) {
	var out []*core.Key
	var rec []byte
	var lastUsed *int64
	_, err := pgx.ForEachRow(rows, []any{&rec, &lastUsed}, func() error {
		k, err := decodeRow(rec, lastUsed)
		if err != nil {
			return err
		}
		out = append(out, k)
		return nil
	})
	return out, err
}

// ListKeys returns every record, in id order (bytewise).
func (s *Store) ListKeys() ([]*core.Key, error) {
	var keys []*core.Key
	err := s.query(func(ctx context.Context, db *pgxpool.Pool) error {
		rows, err := db.Query(ctx, `SELECT record, last_used_ns FROM keys ORDER BY id`)
		if err != nil {
			return err
		}
		keys, err = collectKeys(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// allKeys reads every key record in tx, in no particular order: sorting
// 100,000 rows would delay a replica's start for nothing.
func allKeys(ctx context.Context, tx pgx.Tx) ([]*core.Key, error) {
	rows, err := tx.Query(ctx, `SELECT record, last_used_ns FROM keys`)
	if err != nil {
		return nil, err
	}
	return collectKeys(rows)
}

// KeysExpiring returns the records whose ExpiresAt is in (after, until],
// soonest first, through the expiry index.
func (s *Store) KeysExpiring(after, until time.Time) ([]*core.Key, error) {
	if !until.After(after) {
		return nil, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT record, last_used_ns FROM keys
		WHERE expires_ns > $1 AND expires_ns <= $2 ORDER BY expires_ns, id`, nanos(after), nanos(until))
	if err != nil {
		return nil, fmt.Errorf("keys expiring: %w", err)
	}
	keys, err := collectKeys(rows)
	if err != nil {
		return nil, fmt.Errorf("keys expiring: %w", err)
	}
	return keys, nil
}

// KeyIDsExpiring returns the ids of the records whose ExpiresAt is in
// (after, until], soonest first, from the expiry index alone.
func (s *Store) KeyIDsExpiring(after, until time.Time) ([]string, error) {
	if !until.After(after) {
		return nil, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id FROM keys
		WHERE expires_ns > $1 AND expires_ns <= $2 ORDER BY expires_ns, id`, nanos(after), nanos(until))
	if err != nil {
		return nil, fmt.Errorf("key ids expiring: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("key ids expiring: %w", err)
	}
	return ids, nil
}

// SetLastUsed records last-used times for several keys in one statement.
// Ids that no longer exist are skipped; a time earlier than the stored one
// is ignored (the latest use wins, whichever replica saw it), unless the
// stored one lies more than core.MaxClockSkew after the database's clock:
// no replica saw that use, so a forged future time never hides real ones.
// It writes no audit entry and no change.
func (s *Store) SetLastUsed(times map[string]time.Time) error {
	if len(times) == 0 {
		return nil
	}
	ids := make([]string, 0, len(times))
	ns := make([]int64, 0, len(times))
	for id, t := range times {
		ids = append(ids, id)
		ns = append(ns, nanos(t))
	}
	err := s.query(func(ctx context.Context, db *pgxpool.Pool) error {
		_, err := db.Exec(ctx, `UPDATE keys k SET last_used_ns = v.t
		FROM unnest($1::text[], $2::bigint[]) AS v(id, t)
		WHERE k.id = v.id AND (k.last_used_ns IS NULL OR k.last_used_ns < v.t OR
			k.last_used_ns > (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint + $3)`,
			ids, ns, core.MaxClockSkew.Nanoseconds())
		return err
	})
	if err != nil {
		return fmt.Errorf("save last used: %w", err)
	}
	return nil
}

// Check verifies that every row decodes and agrees with its record (id,
// digest, expiry, MAC): a row whose columns were edited apart from its
// record is reported, wrapping ErrCorrupt.
func (s *Store) Check(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT id, digest, expires_ns, mac, record FROM keys`)
	if err != nil {
		return fmt.Errorf("check store: %w", err)
	}
	var id string
	var digest, mac, rec []byte
	var expires int64
	_, err = pgx.ForEachRow(rows, []any{&id, &digest, &expires, &mac, &rec}, func() error {
		k, err := decodeRow(rec, nil)
		if err != nil {
			return err
		}
		if k.ID != id || string(k.Digest) != string(digest) || nanos(k.ExpiresAt) != expires || string(k.MAC) != string(mac) {
			return fmt.Errorf("%w: the columns of key %q do not match its record", ErrCorrupt, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("check store: %w", err)
	}
	return nil
}
