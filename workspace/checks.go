package workspace

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/storage"
)

// Checks is the progress of the checks a data folder opened with
// Options.CheckLater runs after its keys are loaded: the records against
// their signed state (the seal), then each record's MAC (flagging the
// tampered ones in the list), then their signatures (storage's background
// check).
type Checks struct {
	// Sealed is set once the records were found to match their signed
	// state; Failed once they were not (then no key verifies).
	Sealed, Failed bool
	// Checked of Total records had their MAC checked; Tampered of them
	// did not match it (they are flagged in the list from then on).
	Checked, Total, Tampered int
	// Done is set once the seal and MAC checks ended (the signature
	// check may still run; Workspace.Store().WaitSignatureCheck waits).
	Done bool
}

// checkState is what Workspace.Checks reads.
type checkState struct {
	cur   atomic.Pointer[Checks]
	once  sync.Once
	begin chan struct{} // closed by StartChecks
	done  chan struct{} // closed when the seal and MAC checks ended
}

// start lets the checks run (any number of times).
func (cs *checkState) start() { cs.once.Do(func() { close(cs.begin) }) }

// StartChecks starts the checks that Options.CheckLater put after the
// load (see Checks); it returns at once. The window calls it once its
// table is on screen; a verification, a change or the end of the
// workspace starts them too. Calling it again, or without CheckLater, does
// nothing.
func (b *Workspace) StartChecks() {
	if b.checks != nil {
		b.checks.start()
	}
}

// set publishes c.
func (cs *checkState) set(c Checks) { cs.cur.Store(&c) }

// Checks returns the progress of the checks that Options.CheckLater put
// after the load, and a channel closed when they end; for a workspace
// opened without it, they are done and the channel is closed.
func (b *Workspace) Checks() (Checks, <-chan struct{}) {
	if b.checks == nil {
		closed := make(chan struct{})
		close(closed)
		return Checks{Sealed: true, Done: true}, closed
	}
	return *b.checks.cur.Load(), b.checks.done
}

// checkLater sets up a data folder's checks that Options.CheckLater moved
// after the load (see Checks), on their own goroutine, which waits for
// StartChecks: it holds every verification of svc until the store's
// background seal (storage.Store.SealInBackground) ended, distrusts every
// key if it failed, then checks the records' MACs and starts the signature
// check. A change waits for the seal and starts it (storage does).
func checkLater(dir string, store *storage.Store, svc *core.Service) *checkState {
	cs := &checkState{begin: make(chan struct{}), done: make(chan struct{})}
	cs.set(Checks{})
	ready := make(chan struct{})
	svc.VerifyAfter(ready, cs.start)
	go func() {
		defer close(cs.done)
		select {
		case <-cs.begin:
		case <-store.SealStarted():
		}
		err := store.WaitSeal()
		if errors.Is(err, storage.ErrClosedUnchecked) {
			// Closed before the checks ran: nothing verifies any
			// more (the store is closed), and nothing was found.
			svc.Distrust()
			close(ready)
			return
		}
		if err != nil {
			svc.Distrust()
			cs.set(Checks{Failed: true, Done: true})
			close(ready)
			slog.Error("the data folder does not match its signed state: no key of it verifies any more; restore the folder from a backup",
				"folder", dir, "error", err)
			return
		}
		cs.set(Checks{Sealed: true})
		close(ready)
		// The seal read every page of the file; the records are in
		// memory already (a memory saving only, as after the load).
		_ = store.ReleaseMappedPages()
		bad := svc.CheckRecords(func(done, total int) { cs.set(Checks{Sealed: true, Checked: done, Total: total}) })
		c := *cs.cur.Load()
		c.Tampered, c.Done = bad, true
		cs.set(c)
		store.StartSignatureCheck()
	}()
	return cs
}
