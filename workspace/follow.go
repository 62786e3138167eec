package workspace

import (
	"context"
	"log/slog"
	"time"

	"github.com/keydesk/keydesk/replica"
)

// SharedHeartbeat is how often a shared store's workspace reads the store
// while following it (Follow) when no change is announced (LISTEN/NOTIFY
// brings another admin's change at once), and so how soon an unreachable
// PostgreSQL shows.
const SharedHeartbeat = 500 * time.Millisecond

// Follow, on a shared store, keeps w's service current with other admins'
// changes until ctx ends: the replica opened with the store
// (replica.Replica, which accepts only records whose set matches the
// store's signed state) follows it and changes w's service itself, the
// one index of the keys. It calls changed with the ids of the keys other
// admins' changes created, changed or removed in the service, and status
// when the data becomes stale (PostgreSQL cannot be reached, or its state
// was not accepted) or current, the first time once the first read ends.
// Both are called on a goroutine of Follow's, one call at a time; a slow
// caller never holds up the following. On a data folder it does nothing.
// The channel closes once the following has stopped. Follow a workspace
// once at a time.
func (w *Workspace) Follow(ctx context.Context, changed func(ids []string), status func(stale bool)) (done <-chan struct{}) {
	d := make(chan struct{})
	if w.replica == nil {
		close(d)
		return d
	}
	told, stale := false, false
	unsubscribe := w.replica.Subscribe(func(u replica.Update) {
		if len(u.IDs) > 0 {
			changed(u.IDs)
		}
		if !told || u.Degraded != stale {
			told, stale = true, u.Degraded
			status(stale)
		}
	})
	go func() {
		defer close(d)
		defer unsubscribe()
		err := w.replica.Run(ctx)
		if ctx.Err() == nil {
			// The database no longer holds this store: what is shown
			// can only grow old.
			slog.Warn("stopped following the shared store", "error", err)
			unsubscribe()
			status(true)
		}
	}()
	return d
}
