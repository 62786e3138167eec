package replica

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/pgstore"
)

// running opens a replica of ss with opts (a short heartbeat unless set)
// and runs it until the test ends.
func running(t *testing.T, ss *pgstore.SealedStore, opts Options) *Replica {
	t.Helper()
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 50 * time.Millisecond
	}
	r, err := Open(context.Background(), ss.Store, ss.StoreID(), ss.Signer().Verifier(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// collect subscribes to r, sending each update on the returned channel.
func collect(t *testing.T, r *Replica) <-chan Update {
	t.Helper()
	ch := make(chan Update, 64)
	t.Cleanup(r.Subscribe(func(u Update) { ch <- u }))
	return ch
}

// await reads updates from ch until one names id (failing after 10 s,
// far beyond the heartbeat), returning every id seen on the way.
func await(t *testing.T, ch <-chan Update, id string) []string {
	t.Helper()
	var seen []string
	deadline := time.After(10 * time.Second)
	for {
		select {
		case u := <-ch:
			seen = append(seen, u.IDs...)
			if slices.Contains(u.IDs, id) {
				return seen
			}
		case <-deadline:
			t.Fatalf("no update named %s in 10 s (seen %v)", id, seen)
		}
	}
}

// A subscriber hears of the first round (data current), then of every key
// another admin creates, changes or deletes, by id.
func TestSubscribersHearWhichKeysChanged(t *testing.T) {
	ss, admin, _ := sharedStore(t, 0)
	r := running(t, ss, Options{})
	updates := collect(t, r)
	select {
	case u := <-updates:
		if u.Degraded || len(u.IDs) != 0 {
			t.Fatalf("first update %+v, want current and no keys", u)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no first update in 10 s")
	}
	k, _ := keytest.Create(t, admin, req)
	await(t, updates, k.ID)
	if _, err := r.Service().Get(k.ID); err != nil {
		t.Fatalf("the created key in the replica's service: %v", err)
	}
	if _, err := admin.Rename(k.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	await(t, updates, k.ID)
	if got, err := r.Service().Get(k.ID); err != nil || got.Name != "renamed" {
		t.Fatalf("the renamed key in the replica's service: %v, %v", got, err)
	}
	if _, err := admin.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	await(t, updates, k.ID)
	if _, err := r.Service().Get(k.ID); err == nil {
		t.Fatal("the deleted key is still in the replica's service")
	}
}

// A subscriber that does not return holds up neither the following nor
// other subscribers; what it missed meanwhile comes in one update.
func TestASlowSubscriberHoldsUpNothing(t *testing.T) {
	ss, admin, _ := sharedStore(t, 0)
	r := running(t, ss, Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	later := make(chan Update, 1)
	calls := 0
	t.Cleanup(r.Subscribe(func(u Update) {
		calls++
		if calls == 1 {
			close(entered)
			<-release
			return
		}
		later <- u
	}))
	fast := collect(t, r)
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no first update in 10 s")
	}
	a, _ := keytest.Create(t, admin, req)
	b, _ := keytest.Create(t, admin, req)
	seen := await(t, fast, b.ID)
	if !slices.Contains(seen, a.ID) {
		await(t, fast, a.ID)
	}
	for _, k := range []*core.Key{a, b} {
		if _, err := r.Service().Get(k.ID); err != nil {
			t.Fatalf("key %s not followed while a subscriber was stuck: %v", k.ID, err)
		}
	}
	close(release)
	select {
	case u := <-later:
		if !slices.Contains(u.IDs, a.ID) || !slices.Contains(u.IDs, b.ID) {
			t.Fatalf("the slow subscriber's next update names %v, want both %s and %s", u.IDs, a.ID, b.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the slow subscriber heard nothing more in 10 s")
	}
}

// A window's replica keeps the window's own service (Options.NewService):
// the window's own changes coming back through the change log are not
// applied again (which would replace the record the service holds, and
// the last use it keeps with it) nor announced; another admin's are.
func TestOwnChangesComeBackUnannounced(t *testing.T) {
	ss, other, _ := sharedStore(t, 0)
	var own *core.Service
	r := running(t, ss, Options{NewService: func(keys []*core.Key, catalog *core.Catalog) (*core.Service, error) {
		svc, err := core.NewService(pgstore.Preload(ss, keys), ss.Signer(), core.SystemClock{}, catalog)
		own = svc
		return svc, err
	}})
	if r.Service() != own {
		t.Fatal("the replica does not keep the service NewService made")
	}
	updates := collect(t, r)
	mine, _ := keytest.Create(t, own, req)
	theirs, _ := keytest.Create(t, other, req)
	if seen := await(t, updates, theirs.ID); slices.Contains(seen, mine.ID) {
		t.Fatalf("the window's own key was announced as changed: %v", seen)
	}
	if _, err := own.Get(theirs.ID); err != nil {
		t.Fatalf("another admin's key in the window's service: %v", err)
	}
}
