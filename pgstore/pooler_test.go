package pgstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
)

// useThrough runs what admins and replicas do through the URL u (a
// pooler): every operation on several pooled connections in turn.
func useThrough(t *testing.T, u string) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Init(ctx, u, InitOptions{Options: Options{OSUser: "tester", Host: "test-host", MaxConns: 4}})
	if err != nil {
		t.Fatalf("Init through the pooler: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	for i := range 3 {
		s2, err := Open(ctx, u, Options{MaxConns: 4})
		if err != nil {
			t.Fatalf("Open %d through the pooler: %v", i, err)
		}
		for _, id := range []string{"a", "b", "c", "d"} {
			insert(t, s2, id+strings.Repeat("x", i+1))
		}
		if keys, err := s2.ListKeys(); err != nil || len(keys) != 4*(i+1) {
			t.Fatalf("ListKeys through the pooler = %d, %v", len(keys), err)
		}
		if _, _, err := s2.Snapshot(ctx); err != nil {
			t.Fatalf("Snapshot through the pooler: %v", err)
		}
		if err := s2.PutSetting("mail", []byte{byte(i)}, storetest.Event(core.ActionSettingsChanged, "")); err != nil {
			t.Fatalf("PutSetting through the pooler: %v", err)
		}
		s2.Close()
	}
	return s
}

// Through PgBouncer in transaction mode, with the URL as written, every
// operation works (pgx's default named statements fail there with 42P05),
// and a follower polls: it says so, and a delete reaches it within a few
// heartbeats. Given a direct connection to listen on, it listens.
func TestThroughTransactionPooler(t *testing.T) {
	direct := newDatabase(t)
	u := storetest.PgBouncer(t, "transaction", direct)
	s := useThrough(t, u)

	_, changes, statuses := startFollower(t, s, 15, FollowOptions{Heartbeat: 200 * time.Millisecond})
	if st := expectStatus(t, statuses, true); st.Mode != FollowPoll {
		t.Fatalf("mode through a transaction pooler = %q", st.Mode)
	}
	start := time.Now()
	if err := s.DeleteKey("ax", storetest.Event(core.ActionDelete, "ax")); err != nil {
		t.Fatal(err)
	}
	expectChanges(t, changes, "16 key delete ax")
	t.Logf("a delete reached the polling follower in %v (heartbeat 200 ms)", time.Since(start))

	cfg, err := pgx.ParseConfig(direct)
	if err != nil {
		t.Fatal(err)
	}
	_, changes, statuses = startFollower(t, s, 16, FollowOptions{ListenConfig: cfg})
	expectStatus(t, statuses, true)
	for st := within(t, statuses, wait, "listen mode"); st.Mode != FollowListen; st = within(t, statuses, wait, "listen mode") {
	}
	if err := s.DeleteKey("bx", storetest.Event(core.ActionDelete, "bx")); err != nil {
		t.Fatal(err)
	}
	expectChanges(t, changes, "17 key delete bx")
}

// Through PgBouncer in session mode everything works as on a direct
// connection, and a follower listens.
func TestThroughSessionPooler(t *testing.T) {
	direct := newDatabase(t)
	s := useThrough(t, storetest.PgBouncer(t, "session", direct))
	_, changes, statuses := startFollower(t, s, 15, FollowOptions{})
	expectStatus(t, statuses, true)
	for st := within(t, statuses, wait, "listen mode"); st.Mode != FollowListen; st = within(t, statuses, wait, "listen mode") {
	}
	if err := s.DeleteKey("ax", storetest.Event(core.ActionDelete, "ax")); err != nil {
		t.Fatal(err)
	}
	expectChanges(t, changes, "16 key delete ax")
}
