package gui

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/replica"
	"github.com/keydesk/keydesk/workspace"
)

// sharedPoll is how often the window compares its keys with the replica
// that follows the shared store; with the replica's LISTEN/NOTIFY wake-up
// another admin's change reaches the table well within a second.
const sharedPoll = 200 * time.Millisecond

// sharedHeartbeat is the following replica's heartbeat: how often it reads
// the store when nothing is announced, and so how soon an unreachable
// PostgreSQL shows in the title.
const sharedHeartbeat = 500 * time.Millisecond

// storeLabel names a shared store for the title: "host/db", never the
// user or password.
func storeLabel(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the shared store"
	}
	return u.Host + "/" + strings.TrimPrefix(u.Path, "/")
}

// sharedTitle is the window's title on a shared store, stale when
// PostgreSQL cannot be reached (or its state was not accepted).
func sharedTitle(raw string, stale bool) string {
	t := windowTitle + " — Shared store: " + storeLabel(raw)
	if stale {
		t += " (PostgreSQL unreachable: the keys shown may be out of date)"
	}
	return t
}

// sharedFollower keeps the window's service current with other admins'
// changes: a replica (replica.Replica, which accepts only records whose set
// matches the store's signed state) follows the store, and every
// sharedPoll what changed in it since the last look is applied to the
// window's service; then the keys table reloads and the title says whether
// the data is current.
type sharedFollower struct {
	svc *core.Service
	r   *replica.Replica
	// seen is the replica's record of each key (its signature) at the
	// last look; only what changed since is applied, so that a key this
	// window has just created is never dropped before the replica has it.
	seen  map[string]string
	stale bool
}

// startSharedFollower follows b's shared store until ctx ends, calling
// changed on the UI goroutine (through bg) after other admins' changes and
// status when the data becomes stale or current again. It runs off the UI
// goroutine; errors opening the follower only make the title stale.
func startSharedFollower(ctx context.Context, bg runner, b *workspace.Workspace, changed func(), status func(stale bool)) (done <-chan struct{}) {
	d := make(chan struct{})
	go func() {
		defer close(d)
		f := openSharedFollower(ctx, b, func() { bg.do(func() { status(true) }) })
		if f == nil {
			return
		}
		runErr := make(chan error, 1)
		go func() { runErr <- f.r.Run(ctx) }()
		t := time.NewTicker(sharedPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				<-runErr
				return
			case <-runErr:
				// The database no longer holds this store: what is
				// shown can only grow old.
				bg.do(func() { status(true) })
				<-ctx.Done()
				return
			case <-t.C:
			}
			if f.apply() {
				bg.do(changed)
			}
			stale := f.r.Health().Status != "ok"
			if stale != f.stale {
				f.stale = stale
				bg.do(func() { status(stale) })
			}
		}
	}()
	return d
}

// openSharedFollower opens the follower, retrying while PostgreSQL cannot
// be reached (calling unreachable once, the first time) until ctx ends,
// when it returns nil.
func openSharedFollower(ctx context.Context, b *workspace.Workspace, unreachable func()) *sharedFollower {
	wait := sharedPoll
	for told := false; ; told = true {
		f, err := newSharedFollower(ctx, b)
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

// newSharedFollower opens a replica of b's shared store with the store's
// verifying key.
func newSharedFollower(ctx context.Context, b *workspace.Workspace) (*sharedFollower, error) {
	ed, err := b.Keyring.EdSigner()
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, workspace.SharedTimeout)
	defer cancel()
	r, err := replica.Open(octx, b.Shared.Store, b.Shared.StoreID(), ed.Verifier(),
		replica.Options{Clock: b.Clock, Catalog: b.Service.Catalog(), Heartbeat: sharedHeartbeat})
	if err != nil {
		return nil, err
	}
	// stale is true so that the first look clears a stale title set
	// while the follower could not open.
	f := &sharedFollower{svc: b.Service, r: r, seen: map[string]string{}, stale: true}
	f.apply()
	return f, nil
}

// apply brings the replica's changes since the last look into the
// window's service and reports whether there were any.
func (f *sharedFollower) apply() bool {
	now := make(map[string]string, len(f.seen))
	changed := false
	for _, k := range f.r.Service().List() {
		mac := string(k.MAC)
		now[k.ID] = mac
		if f.seen[k.ID] != mac {
			f.svc.ApplyRemote(k)
			changed = true
		}
	}
	for id := range f.seen {
		if _, ok := now[id]; !ok {
			f.svc.RemoveRemote(id)
			changed = true
		}
	}
	f.seen = now
	return changed
}

// followShared, on a shared store, titles the window with the store and
// follows other admins' changes until ctx ends (reload refreshes the keys
// table); on a data folder it does nothing. The channel closes once the
// following has stopped.
func followShared(ctx context.Context, env *uiEnv, b *workspace.Workspace, reload func()) <-chan struct{} {
	if b.Shared == nil {
		env.win.SetTitle(windowTitle)
		d := make(chan struct{})
		close(d)
		return d
	}
	env.win.SetTitle(sharedTitle(b.URL, false))
	return startSharedFollower(ctx, env.bg, b, reload, func(stale bool) {
		if ctx.Err() == nil {
			env.win.SetTitle(sharedTitle(b.URL, stale))
		}
	})
}
