package workspace

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/replica"
)

// sharedFollower keeps the window's service current with other admins'
// changes: a replica (replica.Replica, which accepts only records whose set
// matches the store's signed state) reads the store when a follower
// (pgstore.Follower, LISTEN/NOTIFY plus the change sequence) announces a
// change, and every key it announced is then brought from the replica into
// the window's service; the keys table reloads and the title says whether
// the data is current. Only the announced keys are compared, so a quiet
// store costs nothing however many keys it holds.
type sharedFollower struct {
	svc  *core.Service
	r    *replica.Replica
	st   *pgstore.Store
	from int64 // the change number the follower starts after
	kick chan struct{}

	mu      sync.Mutex
	pending map[string]struct{} // keys announced and not yet applied

	stale bool
}

// Follow, on a shared store, keeps w's service current with other admins'
// changes until ctx ends, reading the store every heartbeat when no change
// is announced (LISTEN/NOTIFY brings another admin's change at once). It
// calls changed after other admins' changes reached the service, and
// status when the data becomes stale (PostgreSQL cannot be reached, or its
// state was not accepted) or current again; both are called on Follow's
// own goroutine. On a data folder it does nothing. The channel closes once
// the following has stopped.
func (w *Workspace) Follow(ctx context.Context, heartbeat time.Duration, changed func(), status func(stale bool)) (done <-chan struct{}) {
	d := make(chan struct{})
	if w.kind != KindShared {
		close(d)
		return d
	}
	go func() {
		defer close(d)
		f := openSharedFollower(ctx, w, heartbeat, func() { status(true) })
		if f == nil {
			return
		}
		fol := f.st.Follower(f.from, f.onChange, pgstore.FollowOptions{Heartbeat: heartbeat})
		runErr := make(chan error, 1)
		go func() { runErr <- fol.Run(ctx) }()
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				<-runErr
				return
			case <-runErr:
				// The database no longer holds this store: what is
				// shown can only grow old.
				status(true)
				<-ctx.Done()
				return
			case <-f.kick:
			case <-t.C:
			}
			if f.sync(ctx) {
				changed()
			}
			stale := f.r.Health().Status != "ok"
			if stale != f.stale {
				f.stale = stale
				status(stale)
			}
		}
	}()
	return d
}

// onChange is the follower's callback: it notes an announced key and wakes
// the loop.
func (f *sharedFollower) onChange(c pgstore.Change) {
	if c.Kind != pgstore.KindKey {
		return
	}
	f.mu.Lock()
	f.pending[c.Name] = struct{}{}
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// sync has the replica read the store, then applies the announced keys to
// the window's service; it reports whether any changed there. If the store
// cannot be read the keys stay announced for the next time; if its state is
// refused, the replica has applied only what restricts (deletions, rolls)
// and so does the window.
func (f *sharedFollower) sync(ctx context.Context) bool {
	err := f.r.Sync(ctx)
	if err != nil && !errors.Is(err, pgstore.ErrStateMismatch) && !errors.Is(err, pgstore.ErrStateRolledBack) {
		return false
	}
	f.mu.Lock()
	ids := f.pending
	f.pending = map[string]struct{}{}
	f.mu.Unlock()
	changed := false
	for id := range ids {
		changed = f.applyKey(id) || changed
	}
	return changed
}

// applyKey makes the window's record of id the replica's; it reports
// whether that changed anything.
func (f *sharedFollower) applyKey(id string) bool {
	k, err := f.r.Service().Get(id)
	if err != nil {
		return f.svc.RemoveRemote(id)
	}
	if cur, err := f.svc.Get(id); err == nil && bytes.Equal(cur.MAC, k.MAC) {
		return false
	}
	f.svc.ApplyRemote(k)
	return true
}

// openSharedFollower opens the follower, retrying while PostgreSQL cannot
// be reached (calling unreachable once, the first time) until ctx ends,
// when it returns nil.
func openSharedFollower(ctx context.Context, w *Workspace, heartbeat time.Duration, unreachable func()) *sharedFollower {
	wait := heartbeat
	for told := false; ; told = true {
		f, err := newSharedFollower(ctx, w, heartbeat)
		if err == nil {
			return f
		}
		if ctx.Err() != nil {
			return nil
		}
		slog.Warn("cannot follow the shared store; retrying", "error", err)
		if !told {
			unreachable()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// newSharedFollower opens a replica of w's shared store with the store's
// verifying key and brings w's service to it: w read the store earlier,
// and changes since then are not announced again.
func newSharedFollower(ctx context.Context, w *Workspace, heartbeat time.Duration) (*sharedFollower, error) {
	ed, err := w.keyring.EdSigner()
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, SharedTimeout)
	defer cancel()
	st := w.store.(*pgstore.SealedStore).Store
	// The change number first: changes made while the replica loads are
	// announced again, which is harmless.
	_, from, _, err := st.KeyChanges(octx, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	r, err := replica.Open(octx, st, st.StoreID(), ed.Verifier(),
		replica.Options{Clock: w.clock, Catalog: w.service.Catalog(), Heartbeat: heartbeat,
			Generations: w.keyring})
	if err != nil {
		return nil, err
	}
	// stale is true so that the first look clears a stale title set
	// while the follower could not open.
	f := &sharedFollower{svc: w.service, r: r, st: st, from: from, kick: make(chan struct{}, 1),
		pending: map[string]struct{}{}, stale: true}
	for _, k := range r.Service().List() {
		f.pending[k.ID] = struct{}{}
	}
	for _, k := range w.service.List() {
		f.pending[k.ID] = struct{}{}
	}
	f.kick <- struct{}{}
	return f, nil
}
