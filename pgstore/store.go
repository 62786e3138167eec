// Package pgstore keeps a Keydesk store in PostgreSQL, shared by several
// administrators' computers and verification servers: key records with a
// digest index and an expiry index, the audit log (with the OS user and the
// computer of each change), settings, digest state, a per-slot digest claim,
// and a change sequence that replicas follow (Follower) so that nothing is
// missed across a reconnect. It implements core.Store with the semantics of
// the local bbolt store (package storage), whose record encoding it uses.
//
// Every change is one transaction: the row, its audit entry and a change
// row, followed by a notification on the channel ChangeChannel.
package pgstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/storage"
)

// ChangeChannel is the LISTEN/NOTIFY channel on which every committed change
// announces its sequence number.
const ChangeChannel = "keydesk_changes"

// DefaultConnectTimeout bounds making one connection, unless the URL sets
// connect_timeout.
const DefaultConnectTimeout = 10 * time.Second

// DefaultTimeout bounds each operation of the core.Store methods, which take
// no context.
const DefaultTimeout = 10 * time.Second

// Errors callers branch on. Front ends add what the user should do.
var (
	// ErrBadURL means the store URL does not parse.
	ErrBadURL = errors.New("the store URL is not a valid PostgreSQL URL")
	// ErrUnreachable means no connection to the server could be made.
	ErrUnreachable = errors.New("the PostgreSQL server cannot be reached")
	// ErrLoginRefused means the server refused the user or password.
	ErrLoginRefused = errors.New("the PostgreSQL server refused the login")
	// ErrNotInitialised means the database holds no Keydesk store.
	ErrNotInitialised = errors.New("the database holds no Keydesk store")
	// ErrAlreadyInitialised means Init found a store in the database.
	ErrAlreadyInitialised = errors.New("the database already holds a Keydesk store")
	// ErrSchemaTooNew means the database was written by a newer Keydesk.
	ErrSchemaTooNew = errors.New("the database was written by a newer version of Keydesk")
	// ErrCorrupt means a row does not decode or contradicts its record.
	ErrCorrupt = errors.New("the Keydesk database is damaged")
)

// Options tune Open and Init.
type Options struct {
	// Timeout bounds each operation of the core.Store methods; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// OSUser and Host go into every audit entry; empty means this
	// process's OS user and host name.
	OSUser, Host string
	// MaxConns caps the connection pool; zero means pgxpool's default.
	MaxConns int32
}

// InitOptions tune Init.
type InitOptions struct {
	Options
	// StoreID is the new store's id; empty means a random one.
	StoreID string
	// Now is the creation time recorded; zero means now.
	Now time.Time
}

// Store is a Keydesk store in PostgreSQL. It implements core.Store and
// core.ExpiryIndex, plus the settings and digest-state methods of the mail
// package, and is safe for concurrent use by many goroutines and processes.
type Store struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	osUser  string
	host    string
	storeID string
	created time.Time
}

var (
	_ core.Store       = (*Store)(nil)
	_ core.ExpiryIndex = (*Store)(nil)
)

// Open connects to the store at url (a libpq URL or key=value string),
// upgrading an older schema. A database without a store fails with
// ErrNotInitialised, one written by a newer Keydesk with ErrSchemaTooNew;
// neither is changed.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	s, err := connect(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		v, err := readSchema(ctx, tx)
		switch {
		case err != nil:
			return err
		case v == 0:
			return ErrNotInitialised
		case v > SchemaVersion:
			return ErrSchemaTooNew
		case v < SchemaVersion:
			if _, err := migrate(ctx, tx); err != nil {
				return err
			}
		}
		return s.readMeta(ctx, tx)
	})
	if err != nil {
		s.pool.Close()
		if errors.Is(err, errNoMeta) {
			return nil, ErrNotInitialised
		}
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// initTx runs fn in one transaction after bringing the schema up to date,
// unless the database already holds a store (ErrAlreadyInitialised; nothing
// is changed): the shared start of Init and InitFrom.
func (s *Store) initTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := migrate(ctx, tx); err != nil {
			return err
		}
		switch err := s.readMeta(ctx, tx); {
		case err == nil:
			return ErrAlreadyInitialised
		case !errors.Is(err, errNoMeta):
			return err
		}
		return fn(tx)
	})
}

// Init creates the schema and the store's identity in the database at url
// and returns the open store. A database that already holds a store fails
// with ErrAlreadyInitialised and is not changed.
func Init(ctx context.Context, url string, opts InitOptions) (*Store, error) {
	s, err := connect(ctx, url, opts.Options)
	if err != nil {
		return nil, err
	}
	err = s.initTx(ctx, func(tx pgx.Tx) error {
		id := opts.StoreID
		if id == "" {
			if id, err = storage.NewStoreID(); err != nil {
				return err
			}
		}
		now := opts.Now
		if now.IsZero() {
			now = time.Now()
		}
		created, _ := now.UTC().MarshalText()
		if _, err := tx.Exec(ctx, `INSERT INTO store_meta (name, value) VALUES ('store_id', $1), ('created', $2)`, id, string(created)); err != nil {
			return fmt.Errorf("write store identity: %w", err)
		}
		return s.readMeta(ctx, tx)
	})
	if err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("initialise store: %w", err)
	}
	return s, nil
}

// connect parses url, opens the pool and checks that the server answers.
func connect(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included: say only
		// that it does not parse.
		return nil, ErrBadURL
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A server that does not answer must not hang a window or a
		// command (connect_timeout in the URL overrides this).
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	s := &Store{timeout: opts.Timeout, osUser: opts.OSUser, host: opts.Host}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.osUser == "" {
		s.osUser = osUserName()
	}
	if s.host == "" {
		s.host, _ = os.Hostname()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, connectError(err)
	}
	s.pool = pool
	return s, nil
}

// connectError classifies a failure to connect.
func connectError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000") {
		return fmt.Errorf("%w: %s", ErrLoginRefused, pgErr.Message)
	}
	if errors.As(err, &pgErr) {
		return fmt.Errorf("open store: %w", err)
	}
	return fmt.Errorf("%w: %v", ErrUnreachable, err)
}

func osUserName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if n := os.Getenv("USER"); n != "" {
		return n
	}
	return "unknown"
}

func (s *Store) readMeta(ctx context.Context, q pgx.Tx) error {
	rows, err := q.Query(ctx, `SELECT name, value FROM store_meta WHERE name IN ('store_id', 'created')`)
	if err != nil {
		return fmt.Errorf("read store identity: %w", err)
	}
	meta, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var kv [2]string
		err := r.Scan(&kv[0], &kv[1])
		return kv, err
	})
	if err != nil {
		return fmt.Errorf("read store identity: %w", err)
	}
	var id, created string
	for _, kv := range meta {
		switch kv[0] {
		case "store_id":
			id = kv[1]
		case "created":
			created = kv[1]
		}
	}
	if id == "" {
		return errNoMeta
	}
	if err := s.created.UnmarshalText([]byte(created)); err != nil {
		return fmt.Errorf("%w: bad creation time", ErrCorrupt)
	}
	s.storeID = id
	return nil
}

// Close closes every connection of the store.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// StoreID returns the store's random id, fixed at creation.
func (s *Store) StoreID() string { return s.storeID }

// Created returns when the store was created.
func (s *Store) Created() time.Time { return s.created }

// Schema returns the schema version stored in the database.
func (s *Store) Schema() (int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	return readSchema(ctx, s.pool)
}

// Pool returns the store's connection pool (for tools and tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// write runs fn in one transaction.
func (s *Store) write(fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.lost(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, tx) }))
}

// lost returns err, first closing every pooled connection when err says the
// server went away (it restarted, or the network failed): the next
// operation then connects afresh instead of failing on another dead
// connection.
func (s *Store) lost(err error) error {
	if err != nil && IsUnavailable(err) {
		s.pool.Reset()
	}
	return err
}

// nanos returns t in Unix nanoseconds, clamped to the int64 range.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

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
		nanos(k.CreatedAt), nanos(k.ExpiresAt), lastUsed, mac, storage.EncodeRecord(&rec)}
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
	k, err := storage.DecodeRecord(record)
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
	ctx, cancel := s.ctx()
	defer cancel()
	var rec []byte
	var lastUsed *int64
	err := s.pool.QueryRow(ctx, `SELECT record, last_used_ns FROM keys WHERE id = $1`, id).Scan(&rec, &lastUsed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get key: %w %q", core.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("get key: %w", s.lost(err))
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
			for i := w; i < len(recs); i += workers {
				var lu *int64
				if recs[i].used {
					lu = &recs[i].lastUsed
				}
				k, err := decodeRow(recs[i].rec, lu)
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
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT record, last_used_ns FROM keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", s.lost(err))
	}
	keys, err := collectKeys(rows)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", s.lost(err))
	}
	return keys, nil
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

// lastChange returns the number of the last change recorded (0 if none).
func lastChange(ctx context.Context, tx pgx.Tx) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM changes`).Scan(&seq)
	return seq, err
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
// is ignored (the latest use wins, whichever replica saw it). It writes no
// audit entry and no change.
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
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.pool.Exec(ctx, `UPDATE keys k SET last_used_ns = v.t
		FROM unnest($1::text[], $2::bigint[]) AS v(id, t)
		WHERE k.id = v.id AND (k.last_used_ns IS NULL OR k.last_used_ns < v.t)`, ids, ns)
	if err != nil {
		return fmt.Errorf("save last used: %w", s.lost(err))
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
// with its audit event, in one transaction. A slot older than the one
// already recorded leaves the record unchanged (the event is still logged).
func (s *Store) MarkSlotDelivered(slot time.Time, ev core.AuditEvent) error {
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO digest_state (id, last_slot_ns) VALUES (1, $1)
			ON CONFLICT (id) DO UPDATE SET last_slot_ns = GREATEST(digest_state.last_slot_ns, excluded.last_slot_ns)`, nanos(slot)); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, ev, KindDigest, OpUpdate, "last_delivered_slot")
	})
	if err != nil {
		return fmt.Errorf("mark digest slot delivered: %w", err)
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

// IsUnavailable reports whether err means the store could not be reached
// (the server is down, restarting or unreachable, or the operation timed
// out) rather than that the operation was refused. Nothing was written.
func IsUnavailable(err error) bool {
	if errors.Is(err, ErrUnreachable) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P0x: the server is shutting
		// down or starting.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P0")
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.Timeout(err) || errors.Is(err, io.ErrUnexpectedEOF)
}
