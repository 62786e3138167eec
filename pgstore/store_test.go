package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/storetest"
)

// TestConformance runs the store contract (the same suite as the bbolt
// store's) on PostgreSQL.
func TestConformance(t *testing.T) {
	serverURL(t)
	storetest.Run(t, func(t *testing.T) core.Store {
		s, _ := newStore(t)
		return s
	})
}

// TestConformanceSimpleProtocol runs the contract through the simple query
// protocol (as behind a pooler such as PgBouncer in statement mode): rows
// then arrive as text.
func TestConformanceSimpleProtocol(t *testing.T) {
	serverURL(t)
	storetest.Run(t, func(t *testing.T) core.Store {
		_, u := newStore(t)
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		s, err := Open(context.Background(), u+sep+"default_query_exec_mode=simple_protocol", Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestOpenRefusesWhatItCannotUse(t *testing.T) {
	ctx := context.Background()
	u := newDatabase(t)

	if _, err := Open(ctx, u, Options{}); !errors.Is(err, ErrNotInitialised) {
		t.Fatalf("Open of an empty database = %v, want ErrNotInitialised", err)
	}
	if v := schemaOf(t, u); v != -1 {
		t.Fatalf("Open of an empty database created schema %d", v)
	}
	s, err := Init(ctx, u, InitOptions{StoreID: "0123abcd"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Init(ctx, u, InitOptions{}); !errors.Is(err, ErrAlreadyInitialised) {
		t.Fatalf("Init of a store = %v, want ErrAlreadyInitialised", err)
	}
	s, err = Open(ctx, u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.StoreID() != "0123abcd" {
		t.Fatalf("StoreID = %q", s.StoreID())
	}
	if v, err := s.Schema(); err != nil || v != SchemaVersion {
		t.Fatalf("Schema = %d, %v", v, err)
	}
	// A newer Keydesk wrote the database: refuse, change nothing.
	if _, err := s.Pool().Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, u, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema = %v, want ErrSchemaTooNew", err)
	}
	if _, err := Init(ctx, u, InitOptions{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Init on a newer schema = %v, want ErrSchemaTooNew", err)
	}
	if v := schemaOf(t, u); v != SchemaVersion+1 {
		t.Fatalf("schema after refusals = %d", v)
	}

	// A URL that does not parse: one error, no password in it.
	_, err = Open(ctx, "postgres://keydesk:s3cret-pw@[::1:5432/x", Options{})
	if !errors.Is(err, ErrBadURL) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open of a bad URL = %v, want ErrBadURL without the password", err)
	}
	// Nothing listens there (port 1 on loopback).
	if _, err := Open(ctx, "postgres://keydesk:s3cret-pw@127.0.0.1:1/x?connect_timeout=5", Options{}); !errors.Is(err, ErrUnreachable) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open of a server that is down = %v, want ErrUnreachable without the password", err)
	}
	// A role that may not log in.
	role := randomName("kdnologin_")
	adminExec(t, "CREATE ROLE "+role+" NOLOGIN")
	t.Cleanup(func() { adminExec(t, "DROP ROLE IF EXISTS "+role) })
	if _, err := Open(ctx, withUser(t, u, role), Options{}); !errors.Is(err, ErrLoginRefused) {
		t.Fatalf("Open as a role that may not log in = %v, want ErrLoginRefused", err)
	}
}

// schemaOf returns the schema version of the database at u, -1 when it has
// no schema table.
func schemaOf(t *testing.T, u string) int {
	t.Helper()
	s, err := connect(context.Background(), u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var exists bool
	if err := s.pool.QueryRow(context.Background(), `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if !exists {
		return -1
	}
	v, err := readSchema(context.Background(), s.pool)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestInitConcurrently: several processes initialising one database at once
// create it once; the others are told it exists (no half-made schema, no
// catalog conflict).
func TestInitConcurrently(t *testing.T) {
	u := newDatabase(t)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := Init(context.Background(), u, InitOptions{})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrAlreadyInitialised):
			t.Errorf("concurrent Init: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent Inits created the store, want 1", ok, n)
	}
	if v := schemaOf(t, u); v != SchemaVersion {
		t.Fatalf("schema = %d", v)
	}
}

func TestAuditRecordsOSUserAndHost(t *testing.T) {
	s, _ := newStore(t)
	if err := s.InsertKey(keytest.Key("aaaa", storetest.T0), storetest.Event(core.ActionCreate, "aaaa")); err != nil {
		t.Fatal(err)
	}
	entries, err := s.AuditEntries(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].OSUser != "tester" || entries[0].Host != "test-host" || entries[0].Action != core.ActionCreate {
		t.Fatalf("audit entries = %+v", entries)
	}
}

// TestConcurrentCreates: eight admins in one process create 25 keys each at
// once through one store: 200 whole records, each with its audit entry and
// change, all verifying.
func TestConcurrentCreates(t *testing.T) {
	s, _ := newStore(t)
	const admins, each = 8, 25
	secrets := make([][]string, admins)
	var wg sync.WaitGroup
	errs := make([]error, admins)
	for a := range admins {
		wg.Go(func() {
			svc, err := core.NewService(s, newSigner(), core.SystemClock{}, nil)
			if err != nil {
				errs[a] = err
				return
			}
			for i := range each {
				_, secret, err := svc.Create(keytest.SectionRequest(fmt.Sprintf("admin %d key %d", a, i)))
				if err != nil {
					errs[a] = err
					return
				}
				secrets[a] = append(secrets[a], secret)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	checkAllVerify(t, s, slices.Concat(secrets...), admins*each)
}

// TestConcurrentCreatesFromProcesses: four admin processes create 25 keys
// each at once: 100 whole records, all verifying.
func TestConcurrentCreatesFromProcesses(t *testing.T) {
	s, u := newStore(t)
	// A follower watches the creates: it must see each of them once, in
	// sequence order, with no gap (change numbers follow commit order).
	_, changes, statuses := startFollower(t, s, 0, FollowOptions{})
	expectStatus(t, statuses, true)
	var children []*child
	for n := range 4 {
		children = append(children, startChild(t, "create25", u, fmt.Sprintf("KEYDESK_TEST_N=%d", n)))
	}
	for _, c := range children { // all are ready: start them together
		c.send(t, "go")
	}
	var secrets []string
	for _, c := range children {
		for range 25 {
			f := strings.Fields(c.line(t))
			if len(f) != 2 {
				t.Fatalf("child printed %q", f)
			}
			secrets = append(secrets, f[1])
		}
		c.wait(t)
	}
	checkAllVerify(t, s, secrets, 100)
	seen := map[string]bool{}
	for i := 1; i <= 100; i++ {
		c := within(t, changes, wait, "a change")
		if c.Seq != int64(i) || c.Kind != KindKey || c.Op != OpInsert || c.Key == nil || seen[c.Name] {
			t.Fatalf("change %d: %d %s %s %s (key %v, seen %v)", i, c.Seq, c.Kind, c.Op, c.Name, c.Key != nil, seen[c.Name])
		}
		seen[c.Name] = true
	}
}

// checkAllVerify checks that the store holds exactly n whole records, with n
// create entries and n changes, and that every secret verifies on a service
// freshly loaded from it.
func checkAllVerify(t *testing.T, s *Store, secrets []string, n int) {
	t.Helper()
	ctx := context.Background()
	keys, err := s.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n || len(secrets) != n {
		t.Fatalf("%d records and %d secrets, want %d", len(keys), len(secrets), n)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(s, newSigner(), core.SystemClock{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range svc.List() {
		if k.Tampered {
			t.Fatalf("record %s does not match its MAC", k.ID)
		}
	}
	for _, secret := range secrets {
		if v := svc.Verify(secret, core.Target{}); !v.Valid {
			t.Fatalf("a created key does not verify: %s", v.Reason)
		}
	}
	audit, err := s.AuditEntries(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != n {
		t.Fatalf("%d audit entries for %d creates", len(audit), n)
	}
	var changes, maxSeq int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*), max(seq) FROM changes WHERE kind = 'key' AND op = 'insert'`).Scan(&changes, &maxSeq); err != nil {
		t.Fatal(err)
	}
	if changes != int64(n) || maxSeq != int64(n) {
		t.Fatalf("%d changes numbered up to %d for %d creates, want 1..%d", changes, maxSeq, n, n)
	}
}

// TestSnapshot: the snapshot's sequence number names the last change its
// records include.
func TestSnapshot(t *testing.T) {
	s, _ := newStore(t)
	for _, id := range []string{"aaaa", "bbbb"} {
		if err := s.InsertKey(keytest.Key(id, storetest.T0), storetest.Event(core.ActionCreate, id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteKey("aaaa", storetest.Event(core.ActionDelete, "aaaa")); err != nil {
		t.Fatal(err)
	}
	keys, seq, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].ID != "bbbb" || seq != 3 {
		t.Fatalf("Snapshot = %d keys, seq %d; want [bbbb], 3", len(keys), seq)
	}
}

// TestEditedRowIsCaught: a database writer who changes a row's columns or
// record without the signing material is caught: Check reports the
// mismatch, a record that does not decode fails with ErrCorrupt, and a
// follower delivers it as gone (fail closed).
func TestEditedRowIsCaught(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"aaaa", "bbbb"} {
		if err := s.InsertKey(keytest.Key(id, storetest.T0), storetest.Event(core.ActionCreate, id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE keys SET expires_ns = expires_ns + 86400000000000 WHERE id = 'aaaa'`); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Check after editing a column = %v, want ErrCorrupt", err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE keys SET record = '\x01ff'::bytea WHERE id = 'bbbb'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetKey("bbbb"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("GetKey of an unreadable record = %v, want ErrCorrupt", err)
	}
	if _, err := s.ListKeys(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ListKeys with an unreadable record = %v, want ErrCorrupt", err)
	}
	got := make(chan Change, 10)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.Follower(0, func(c Change) { got <- c }, FollowOptions{}).Run(fctx)
	for _, id := range []string{"aaaa", "bbbb"} {
		c := within(t, got, 10*time.Second, "a change")
		if c.Name != id {
			t.Fatalf("change for %s, want %s", c.Name, id)
		}
		if (c.Key == nil) != (id == "bbbb") {
			t.Fatalf("change for %s has record %v", id, c.Key)
		}
	}
}

// TestMigrateAgain: running the migrations on an up-to-date database
// changes nothing and fails nothing.
func TestMigrateAgain(t *testing.T) {
	s, u := newStore(t)
	insert(t, s, "aaaa")
	ctx := context.Background()
	for range 2 {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found, err := migrate(ctx, tx)
		if err != nil || found != SchemaVersion {
			t.Fatalf("migrate again = %d, %v", found, err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_version`).Scan(&rows); err != nil || rows != SchemaVersion {
		t.Fatalf("schema_version has %d rows, %v", rows, err)
	}
	if v := schemaOf(t, u); v != SchemaVersion {
		t.Fatalf("schema = %d", v)
	}
	if keys, err := s.ListKeys(); err != nil || len(keys) != 1 {
		t.Fatalf("after migrating again: %d keys, %v", len(keys), err)
	}
}

// TestColumnsForSQL: the plain columns repeat the record for SQL (reports,
// grants, an administrator's psql): JSON permissions, scopes, times.
func TestColumnsForSQL(t *testing.T) {
	for _, mode := range []string{"", "default_query_exec_mode=simple_protocol"} {
		_, u := newStore(t)
		if mode != "" {
			u += "&" + mode
		}
		s, err := Open(context.Background(), u, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		k := keytest.Key("aaaa", storetest.T0)
		k.Permissions = core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"users": core.AccessRead}}
		k.Scopes = []string{"users:read"}
		if err := s.InsertKey(k, storetest.Event(core.ActionCreate, "aaaa")); err != nil {
			t.Fatal(err)
		}
		var kind, access string
		var scopes []string
		var expires time.Time
		err = s.pool.QueryRow(context.Background(), `SELECT permissions->>'kind', permissions->'sections'->>'users', scopes,
			to_timestamp(expires_ns / 1e9) FROM keys WHERE id = 'aaaa'`).Scan(&kind, &access, &scopes, &expires)
		if err != nil || kind != "sections" || access != "read" || !slices.Equal(scopes, k.Scopes) || !expires.Equal(k.ExpiresAt) {
			t.Fatalf("mode %q: columns = %q %q %v %v, %v", mode, kind, access, scopes, expires, err)
		}
	}
}
