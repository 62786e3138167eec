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
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

// ChangeChannel is the LISTEN/NOTIFY channel on which every committed change
// announces its sequence number.
const ChangeChannel = "keydesk_changes"

// DefaultConnectTimeout bounds making one connection, unless the URL sets
// connect_timeout.
const DefaultConnectTimeout = 10 * time.Second

// DefaultQueryExecMode is how queries run unless the URL sets
// default_query_exec_mode: one round trip each with the unnamed statement
// (statement descriptions are cached per connection), never a named
// prepared statement. A pooler in transaction mode (PgBouncer's
// pool_mode=transaction, RDS Proxy, Supavisor) hands each transaction to
// any server connection, where a named statement is missing or already
// exists (SQLSTATE 26000, 42P05): pgx's default mode fails there.
const DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe

// DefaultTimeout bounds each operation of the core.Store methods, which take
// no context.
const DefaultTimeout = 10 * time.Second

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
	// auditSigner signs the audit entries this process writes and checks
	// those it reads; nil without admin material (see Sealed).
	auditSigner *seal.EdSigner
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
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) && pgErr.Code == "42501" {
					return fmt.Errorf("%w (schema %d, this version needs %d)", ErrUpgradeNeeded, v, SchemaVersion)
				}
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
			if id, err = seal.NewStoreID(); err != nil {
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
	// Notifications are read only by a Follower, on a connection of its
	// own; through a pooler in transaction mode, one meant for another
	// client may reach a pooled connection, where pgx would keep it.
	cfg.ConnConfig.OnNotification = func(*pgconn.PgConn, *pgconn.Notification) {}
	if !strings.Contains(url, "default_query_exec_mode") {
		cfg.ConnConfig.DefaultQueryExecMode = DefaultQueryExecMode
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

// write runs fn in one transaction (through query).
func (s *Store) write(fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.query(func(ctx context.Context, db *pgxpool.Pool) error {
		return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return fn(ctx, tx) })
	})
}

// query runs fn on the pool within the store's timeout and returns its
// error, first closing every pooled connection when that error says the
// server went away (it restarted, or the network failed): the next
// operation then connects afresh instead of failing on another dead
// connection. Every one-shot operation on the pool goes through it.
func (s *Store) query(fn func(ctx context.Context, db *pgxpool.Pool) error) error {
	ctx, cancel := s.ctx()
	defer cancel()
	err := fn(ctx, s.pool)
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
