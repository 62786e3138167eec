package pgstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/storetest"
)

// wait is how long a test waits for a follower before failing (changes
// arrive within milliseconds; a reconnection within the backoff).
const wait = 20 * time.Second

// startFollower runs a follower of s from fromSeq until the test ends; its
// changes and status changes arrive on the returned channels.
func startFollower(t *testing.T, s *Store, fromSeq int64, opts FollowOptions) (*Follower, <-chan Change, <-chan FollowStatus) {
	t.Helper()
	changes := make(chan Change, 10000)
	statuses := make(chan FollowStatus, 1000)
	opts.OnStatus = func(st FollowStatus) { statuses <- st }
	f := s.Follower(fromSeq, func(c Change) { changes <- c }, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return f, changes, statuses
}

// expectStatus waits for the follower to report connected (or not).
func expectStatus(t *testing.T, statuses <-chan FollowStatus, connected bool) FollowStatus {
	t.Helper()
	for {
		st := within(t, statuses, wait, fmt.Sprintf("the follower to report connected=%v", connected))
		if st.Connected == connected {
			return st
		}
	}
}

// expectChanges waits for the next changes and checks them: each want is
// "seq kind op name".
func expectChanges(t *testing.T, changes <-chan Change, want ...string) []Change {
	t.Helper()
	var got []Change
	for _, w := range want {
		c := within(t, changes, wait, "change "+w)
		if s := fmt.Sprintf("%d %s %s %s", c.Seq, c.Kind, c.Op, c.Name); s != w {
			t.Fatalf("change %q, want %q", s, w)
		}
		got = append(got, c)
	}
	return got
}

func insert(t *testing.T, s *Store, id string) *core.Key {
	t.Helper()
	k := keytest.Key(id, storetest.T0.Add(time.Hour))
	if err := s.InsertKey(k, storetest.Event(core.ActionCreate, id)); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFollowerSeesEveryChangeInOrder(t *testing.T) {
	s, _ := newStore(t)
	a := insert(t, s, "aaaa")
	insert(t, s, "gone")
	f, changes, statuses := startFollower(t, s, 0, FollowOptions{})
	expectStatus(t, statuses, true)
	got := expectChanges(t, changes, "1 key insert aaaa", "2 key insert gone")
	if d := storetest.Equal(got[0].Key, a); d != "" {
		t.Fatalf("change 1 carries the wrong record: %s", d)
	}

	renamed := a.Clone()
	renamed.Name = "renamed"
	ev := core.AuditEvent{Time: storetest.T0, Actor: "tester", Action: core.ActionSettingsChanged}
	steps := []func() error{
		func() error { return s.UpdateKey(renamed, storetest.Event(core.ActionRename, "aaaa")) },
		func() error { return s.DeleteKey("gone", storetest.Event(core.ActionDelete, "gone")) },
		func() error { return s.PutSetting("mail", []byte("x"), ev) },
		func() error { return s.PutSetting("mail", nil, ev) },
		func() error { return s.MarkSlotDelivered(storetest.T0, ev) },
		func() error {
			return s.InsertKeys([]*core.Key{keytest.Key("b1", storetest.T0), keytest.Key("b2", storetest.T0)}, ev)
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	// Refused changes are not changes.
	if err := s.DeleteKey("nope", storetest.Event(core.ActionDelete, "nope")); !errors.Is(err, core.ErrNotFound) {
		t.Fatal(err)
	}
	// Notifications anyone with access can send are only a hint to read
	// the change table: they neither skip nor invent changes.
	for _, payload := range []string{"999999", "junk", "1"} {
		if _, err := s.pool.Exec(context.Background(), `SELECT pg_notify($1, $2)`, ChangeChannel, payload); err != nil {
			t.Fatal(err)
		}
	}
	insert(t, s, "last")
	got = expectChanges(t, changes,
		"3 key update aaaa", "4 key delete gone", "5 setting update mail", "6 setting delete mail",
		"7 digest update last_delivered_slot", "8 key insert b1", "9 key insert b2", "10 key insert last")
	if got[0].Key == nil || got[0].Key.Name != "renamed" {
		t.Fatalf("the update carries %+v, want the renamed record", got[0].Key)
	}
	if got[1].Key != nil || got[2].Key != nil {
		t.Fatal("a delete or setting change carries a key record")
	}
	st := f.Status()
	if !st.Connected || st.Seq != 10 || st.LastSync.IsZero() {
		t.Fatalf("status = %+v", st)
	}

	// A follower that starts from a snapshot sees only what came after it.
	_, seq, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, later, _ := startFollower(t, s, seq, FollowOptions{})
	insert(t, s, "after")
	expectChanges(t, later, "11 key insert after")
}

// TestFollowerCatchesUpAfterServerRestart: PostgreSQL is stopped and started
// under a running follower; it reports the outage and then delivers every
// change made after the restart, in order.
func TestFollowerCatchesUpAfterServerRestart(t *testing.T) {
	s, u := newStore(t)
	dir := os.Getenv(dirEnv)
	if dir == "" {
		t.Skipf("%s is not set: run `make test-pg`", dirEnv)
	}
	f, changes, statuses := startFollower(t, s, 0, FollowOptions{Heartbeat: 200 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	expectStatus(t, statuses, true)
	insert(t, s, "before")
	expectChanges(t, changes, "1 key insert before")
	synced := f.Status().LastSync

	cluster(t, "server-stop", dir)
	stopped := true
	t.Cleanup(func() {
		if stopped {
			cluster(t, "server-start", dir)
		}
	})
	down := expectStatus(t, statuses, false)
	// Writing while the server is down fails as "unavailable" and writes
	// nothing (checked below: the changes after the restart start at 2).
	if err := s.InsertKey(keytest.Key("lost", storetest.T0), storetest.Event(core.ActionCreate, "lost")); !IsUnavailable(err) {
		t.Fatalf("InsertKey with the server down = %v, want IsUnavailable", err)
	}
	if _, err := Open(context.Background(), u, Options{}); !IsUnavailable(err) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Open with the server down = %v, want ErrUnreachable", err)
	}
	if down.Err == nil || down.LastSync.Before(synced) {
		t.Fatalf("status while down = %+v", down)
	}
	cluster(t, "server-start", dir)
	stopped = false

	// The store's pooled connections died with the server; it works again
	// without being reopened.
	s2 := s
	for i := range 5 {
		insert(t, s2, fmt.Sprintf("after%d", i))
	}
	if err := s2.DeleteKey("before", storetest.Event(core.ActionDelete, "before")); err != nil {
		t.Fatal(err)
	}
	expectChanges(t, changes, "2 key insert after0", "3 key insert after1", "4 key insert after2", "5 key insert after3", "6 key insert after4", "7 key delete before")
	expectStatus(t, statuses, true)
	if st := f.Status(); !st.LastSync.After(synced) || st.Seq != 7 {
		t.Fatalf("status after catching up = %+v", st)
	}
}

// cluster runs scripts/pg-cluster.sh.
func cluster(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(filepath.Join("..", "scripts", "pg-cluster.sh"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pg-cluster.sh %v: %v\n%s", args, err, out)
	}
}

// TestFollowerCatchesUpAfterDisconnect: the follower's connection is cut and
// it cannot log in again while changes are made; once it can, it delivers
// them all, in order. The follower runs as a role that may only read the
// change table, the keys and the store's identity.
func TestFollowerCatchesUpAfterDisconnect(t *testing.T) {
	s, u := newStore(t)
	role := newRole(t, u, "GRANT SELECT ON changes, changes_seq_seq, keys, store_meta TO %s")
	cfg, err := pgx.ParseConfig(withUser(t, u, role))
	if err != nil {
		t.Fatal(err)
	}
	_, changes, statuses := startFollower(t, s, 0, FollowOptions{ConnConfig: cfg, MaxBackoff: 100 * time.Millisecond})
	if st := expectStatus(t, statuses, true); st.Reconnects != 0 {
		t.Fatalf("first connection: %d reconnects, want 0", st.Reconnects)
	}
	insert(t, s, "k0")
	expectChanges(t, changes, "1 key insert k0")

	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, "ALTER ROLE "+role+" NOLOGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, statuses, false)
	// Made while the follower cannot connect.
	for i := 1; i <= 4; i++ {
		insert(t, s, fmt.Sprintf("k%d", i))
	}
	if err := s.DeleteKey("k0", storetest.Event(core.ActionDelete, "k0")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "ALTER ROLE "+role+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	if st := expectStatus(t, statuses, true); st.Reconnects != 1 {
		t.Errorf("after the outage: %d reconnects, want 1", st.Reconnects)
	}
	expectChanges(t, changes, "2 key insert k1", "3 key insert k2", "4 key insert k3", "5 key insert k4", "6 key delete k0")
}

// newRole creates a login role with the given grants (each a format with
// one %s for the role) in the database at u, dropped after the test.
func newRole(t *testing.T, u string, grants ...string) string {
	t.Helper()
	role := randomName("kdrole_")
	adminExec(t, "CREATE ROLE "+role+" LOGIN")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, g := range grants {
		if _, err := conn.Exec(ctx, fmt.Sprintf(g, role)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP OWNED BY "+role); err != nil {
			t.Error(err)
		}
		adminExec(t, "DROP ROLE IF EXISTS "+role)
	})
	return role
}

// TestFollowerRefusesAReplacedStore: a follower stops for good, with
// ErrStoreChanged, when the database goes back to fewer changes than it has
// applied (restored from an older copy) or holds another store: its data
// would silently go stale otherwise.
func TestFollowerRefusesAReplacedStore(t *testing.T) {
	for _, tc := range []struct{ name, sql string }{
		{"restored older copy", `DELETE FROM changes WHERE seq > 1`},
		{"another store", `UPDATE store_meta SET value = 'another' WHERE name = 'store_id'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t)
			for _, id := range []string{"a", "b", "c"} {
				insert(t, s, id)
			}
			changes := make(chan Change, 10)
			f := s.Follower(0, func(c Change) { changes <- c }, FollowOptions{Heartbeat: 50 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- f.Run(ctx) }()
			expectChanges(t, changes, "1 key insert a", "2 key insert b", "3 key insert c")
			if _, err := s.pool.Exec(ctx, tc.sql); err != nil {
				t.Fatal(err)
			}
			err := within(t, done, wait, "the follower to stop")
			if !errors.Is(err, ErrStoreChanged) {
				t.Fatalf("Run = %v, want ErrStoreChanged", err)
			}
			if st := f.Status(); st.Connected || !errors.Is(st.Err, ErrStoreChanged) {
				t.Fatalf("status = %+v", st)
			}
		})
	}
}

// TestFollowerTooFarBehind: a follower that was away while the changes it
// had not applied were pruned stops with ErrTooFarBehind (it must reload)
// rather than silently skip them; one that is up to date is unaffected.
func TestFollowerTooFarBehind(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		insert(t, s, id)
	}
	var now time.Time
	if err := s.pool.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneChanges(ctx, now.Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneChanges = %d, %v; want 2 (the latest is kept)", n, err)
	}
	// Up to date (applied 3): fine, and sees what comes next.
	_, changes, statuses := startFollower(t, s, 3, FollowOptions{})
	expectStatus(t, statuses, true)
	insert(t, s, "d")
	expectChanges(t, changes, "4 key insert d")
	// Behind: it applied 1, and 2 is gone.
	f := s.Follower(1, func(Change) { t.Error("a follower that is too far behind applied a change") }, FollowOptions{})
	if err := f.Run(ctx); !errors.Is(err, ErrTooFarBehind) {
		t.Fatalf("Run = %v, want ErrTooFarBehind", err)
	}
}
