package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// migrations[i] moves a database from schema version i to i+1. Each runs in
// one transaction with the version row it adds, under an advisory lock, so
// several processes opening the same database at once migrate it once. To
// add schema v2, append a statement list and nothing else.
var migrations = [][]string{
	// v0 -> v1: the initial layout.
	{
		// The store's identity: its random id (which names its signing
		// material) and its creation time.
		`CREATE TABLE store_meta (
			name  text PRIMARY KEY,
			value text NOT NULL
		)`,
		// Key records. record is the authoritative, signed record in the
		// bbolt store's binary encoding (with a zero last-used time); the
		// other columns repeat its fields for SQL, indexes and grants.
		// Times are Unix nanoseconds, as the record MAC covers them.
		`CREATE TABLE keys (
			id           text COLLATE "C" PRIMARY KEY,
			digest       bytea NOT NULL UNIQUE,
			name         text NOT NULL,
			hint         text NOT NULL,
			scopes       text[] NOT NULL,
			kind         text NOT NULL,
			permissions  jsonb NOT NULL,
			created_ns   bigint NOT NULL,
			expires_ns   bigint NOT NULL,
			last_used_ns bigint,
			mac          bytea NOT NULL,
			record       bytea NOT NULL
		)`,
		// The expiry index: the digest reads one range of it.
		`CREATE INDEX keys_expiry ON keys (expires_ns, id)`,
		`CREATE TABLE audit (
			seq      bigserial PRIMARY KEY,
			at       timestamptz NOT NULL,
			actor    text NOT NULL,
			action   text NOT NULL,
			key_id   text NOT NULL DEFAULT '',
			key_name text NOT NULL DEFAULT '',
			detail   text NOT NULL DEFAULT '',
			os_user  text NOT NULL,
			host     text NOT NULL
		)`,
		`CREATE TABLE settings (
			name  text PRIMARY KEY,
			value bytea NOT NULL
		)`,
		// The last digest slot delivered (one row).
		`CREATE TABLE digest_state (
			id           int PRIMARY KEY CHECK (id = 1),
			last_slot_ns bigint NOT NULL
		)`,
		// One row per digest slot that a process claimed; delivered once
		// its message went out.
		`CREATE TABLE digest_slots (
			slot_ns      bigint PRIMARY KEY,
			claimed_by   text NOT NULL,
			claimed_at   timestamptz NOT NULL DEFAULT now(),
			delivered    boolean NOT NULL DEFAULT false,
			delivered_at timestamptz
		)`,
		// Every change to keys, settings and digest state, in commit order
		// (writers take changeLock before adding theirs). kind is key,
		// setting or digest; name the key id or setting name.
		`CREATE TABLE changes (
			seq  bigserial PRIMARY KEY,
			at   timestamptz NOT NULL DEFAULT now(),
			kind text NOT NULL,
			op   text NOT NULL,
			name text NOT NULL
		)`,
	},
	// v1 -> v2: a rolled key's record is in format 2 (seal/record.go),
	// with its roll links; other records are unchanged. The bump keeps
	// older builds, which cannot read such records, from opening the store.
	{
		`COMMENT ON COLUMN keys.record IS 'signed key record, storage record format 1, or 2 for rolled keys'`,
	},
	// v2 -> v3: change rows are written only by the table's owner (the
	// admin role), so that nothing a server role writes moves the change
	// sequence: a row numbered by hand far ahead froze every follower.
	// Servers record a delivered digest through keydesk_digest_changed
	// (which numbers the row from the sequence) and may read the
	// sequence's position (issuedBound). Every role that could insert
	// change rows without being able to insert keys (a server role under
	// the earlier GRANTs) loses that and gets the function instead.
	{
		`DO $migrate$
		DECLARE
			r record;
			seqname text := pg_get_serial_sequence('changes', 'seq');
		BEGIN
			EXECUTE format($f$CREATE FUNCTION keydesk_digest_changed() RETURNS bigint
				LANGUAGE plpgsql SECURITY DEFINER SET search_path = %I, pg_temp AS $body$
				DECLARE s bigint;
				BEGIN
					PERFORM pg_advisory_xact_lock(%s, %s);
					INSERT INTO changes (kind, op, name) VALUES ('digest', 'update', 'last_delivered_slot') RETURNING seq INTO s;
					PERFORM pg_notify(%L, s::text);
					RETURN s;
				END $body$$f$, current_schema(), ` + strconv.Itoa(lockClass) + `, ` + strconv.Itoa(lockChange) + `, '` + ChangeChannel + `');
			REVOKE ALL ON FUNCTION keydesk_digest_changed() FROM PUBLIC;
			FOR r IN SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
				WHERE c.oid = 'changes'::regclass AND a.privilege_type = 'INSERT' AND a.grantee <> c.relowner
			LOOP
				IF r.grantee = 0 THEN
					REVOKE INSERT ON changes FROM PUBLIC;
					EXECUTE format('REVOKE USAGE, UPDATE ON SEQUENCE %s FROM PUBLIC', seqname);
				ELSIF NOT has_table_privilege(r.grantee, 'keys', 'INSERT') THEN
					EXECUTE format('REVOKE INSERT ON changes FROM %I', pg_get_userbyid(r.grantee));
					EXECUTE format('REVOKE USAGE, UPDATE ON SEQUENCE %s FROM %I', seqname, pg_get_userbyid(r.grantee));
					EXECUTE format('GRANT EXECUTE ON FUNCTION keydesk_digest_changed() TO %I', pg_get_userbyid(r.grantee));
				END IF;
			END LOOP;
			FOR r IN SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
				WHERE c.oid = 'changes'::regclass AND a.privilege_type = 'SELECT' AND a.grantee <> c.relowner AND a.grantee <> 0
			LOOP
				EXECUTE format('GRANT SELECT ON SEQUENCE %s TO %I', seqname, pg_get_userbyid(r.grantee));
			END LOOP;
		END $migrate$`,
	},
	// v3 -> v4: audit entries written by an admin carry the store's
	// Ed25519 signature (pgstore/audit.go); servers' entries carry none.
	{
		`ALTER TABLE audit ADD COLUMN IF NOT EXISTS sig bytea`,
	},
	// v4 -> v5: usage counts (pgstore/usage.go). Each writer (a replica,
	// an admin's serve or window) upserts its own absolute counts per day
	// and key; servers may write this table and nothing more: it feeds no
	// change row, no signature and no key state. Server roles granted
	// before it (they may update keys.last_used_ns but not insert keys)
	// get it too.
	{
		`CREATE TABLE IF NOT EXISTS key_usage (
			day       date NOT NULL,
			writer    text COLLATE "C" NOT NULL CHECK (writer ~ '^[a-z0-9-]{1,64}$'),
			key_id    text COLLATE "C" NOT NULL CHECK (length(key_id) <= 64),
			allowed   bigint NOT NULL DEFAULT 0 CHECK (allowed >= 0),
			denied    bigint NOT NULL DEFAULT 0 CHECK (denied >= 0),
			expired   bigint NOT NULL DEFAULT 0 CHECK (expired >= 0),
			unknown   bigint NOT NULL DEFAULT 0 CHECK (unknown >= 0),
			malformed bigint NOT NULL DEFAULT 0 CHECK (malformed >= 0),
			PRIMARY KEY (day, writer, key_id)
		)`,
		`DO $migrate$
		DECLARE r record;
		BEGIN
			FOR r IN SELECT rolname FROM pg_roles
				WHERE NOT rolsuper AND oid <> (SELECT relowner FROM pg_class WHERE oid = 'keys'::regclass)
					AND has_column_privilege(oid, 'keys', 'last_used_ns', 'UPDATE')
					AND NOT has_table_privilege(oid, 'keys', 'INSERT')
			LOOP
				EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON key_usage TO %I', r.rolname);
			END LOOP;
		END $migrate$`,
	},
	// v5 -> v6: the details panel reads one key's audit entries
	// (Store.KeyAudit): index them by key.
	{
		`CREATE INDEX IF NOT EXISTS audit_key ON audit (key_id, seq)`,
	},
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

// Advisory lock ids (the two-int form: lockClass, then one of these).
const (
	lockClass     = 0x4b44 // "KD"
	lockMigrate   = 1
	lockChange    = 2
	lockSlotClass = 0x4b45 // digest slots: (lockSlotClass, slot minute)
)

// migrate brings the schema up to SchemaVersion and reports the version it
// found. A schema newer than this code fails with ErrSchemaTooNew and
// changes nothing.
func migrate(ctx context.Context, tx pgx.Tx) (found int, err error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockClass, lockMigrate); err != nil {
		return 0, fmt.Errorf("lock schema: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    int PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return 0, fmt.Errorf("create schema_version: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&found); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if found > SchemaVersion {
		return found, ErrSchemaTooNew
	}
	for v := found; v < SchemaVersion; v++ {
		for _, stmt := range migrations[v] {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return found, fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, v+1); err != nil {
			return found, fmt.Errorf("record schema %d: %w", v+1, err)
		}
	}
	return found, nil
}

// readSchema returns the schema version of the database without changing
// it: 0 when it holds no Keydesk schema.
func readSchema(ctx context.Context, q querier) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// querier is what pgx.Tx, *pgx.Conn and *pgxpool.Pool have in common.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var errNoMeta = errors.New("no store identity")
