// Package replica is a copy of a shared store in memory: every key in a
// core.Service (verify-only material on a verification server, the
// admin's service in a window: Options.NewService), kept current by
// following the store's changes (pgstore.Follower), and accepting created
// or changed records only when the set they form matches the store's
// Ed25519-signed state (pgstore.SealedStore). Deletions apply at once. With
// PostgreSQL unreachable it goes on answering from memory and reports the
// age of its data; it catches up when the server returns. Subscribers
// (Subscribe) hear which keys changed and whether the data is current.
// This file holds the follow loop; subscribe.go its subscribers.
package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/seal"
)

// DefaultHeartbeat is how often a replica reads the store when no change
// is announced (which also measures the age of its data).
const DefaultHeartbeat = time.Second

// ErrOtherStore means the credential belongs to another store than the
// database holds.
var ErrOtherStore = errors.New("the credential belongs to another store than the database holds")

// Options tune a Replica.
type Options struct {
	// Clock is the service's clock; nil means the real one.
	Clock core.Clock
	// Catalog is the permission catalog; nil means the store's (see
	// core.StoredCatalog): the imported one, else the embedded one, read
	// with the signed state that names it and replaced when an admin
	// imports or resets it.
	Catalog *core.Catalog
	// Heartbeat: zero means DefaultHeartbeat.
	Heartbeat time.Duration
	// OnError, if set, receives errors of following the store (the
	// replica keeps serving).
	OnError func(error)
	// FollowURL, if set, is a direct connection used only to LISTEN for
	// changes (pgstore.ParseListenURL), for a store reached through a
	// pooler in transaction mode, where LISTEN does not work.
	FollowURL string
	// Generations, if set, keeps the highest signed generation accepted
	// across restarts; Open refuses an older store (see Generations).
	Generations Generations
	// NewService, if set, builds the replica's key service over the
	// records of the signed state Open read (with the catalog in use),
	// instead of a verify-only service: an admin's window passes one that
	// signs its own changes, so that the window and its replica share one
	// index of the keys. Nil means core.NewLazyVerifyService.
	NewService func(keys []*core.Key, catalog *core.Catalog) (*core.Service, error)
}

// Replica is an in-memory copy of a shared store (a verification server's,
// or an admin's window's).
type Replica struct {
	st     *pgstore.Store
	v      *seal.EdVerifier
	svc    *core.Service
	opts   Options
	listen *pgx.ConnConfig // from opts.FollowURL
	kick   chan struct{}
	// storeCatalog says the catalog is the store's (opts.Catalog was
	// nil), so an admin's import or reset replaces it while the replica
	// runs; catalogChanged is set by the change that announces it.
	storeCatalog   bool
	catalogChanged atomic.Bool

	// syncMu serialises Sync and guards what it keeps.
	syncMu sync.Mutex
	acc    seal.Set // the digest of the accepted records (accepted.go)
	gen    uint64   // highest signed generation accepted
	// recorded is the highest generation Generations holds.
	recorded uint64
	seq      int64 // last change number read
	// reloadGen is the generation of the last signed state a full reload
	// did not match (see reload).
	reloadGen uint64
	// reloads counts the full reads of the signed state after Open.
	reloads int
	// catalog is the digest of the store's catalog setting in use (when
	// storeCatalog); bound says a state of format 4 was accepted: from
	// then on the catalog is checked against the digest each signed state
	// names (when storeCatalog), and a state of an older format is a
	// rollback (see checkState).
	catalog pgstore.CatalogDigest
	bound   bool

	// applyMu serialises the replica's changes of the service's records
	// (accepted.go); accMu guards diverged, the accepted records the
	// service does not hold. Order: applyMu, then the service's lock,
	// then accMu.
	applyMu  sync.Mutex
	accMu    sync.Mutex
	diverged map[string]acceptedRecord

	// mu guards the health fields (never held across a query, so that
	// /healthz answers while the store does not).
	mu       sync.Mutex
	lastSync time.Time
	problem  error             // why the last read was not accepted, nil when it was
	follower *pgstore.Follower // while Run runs

	// subMu guards subs (see Subscribe).
	subMu sync.Mutex
	subs  []*subscriber
}

// Open loads every record of st (whose id must be storeID) and checks the
// set against the signed state with v.
func Open(ctx context.Context, st *pgstore.Store, storeID string, v *seal.EdVerifier, opts Options) (*Replica, error) {
	if st.StoreID() != storeID {
		return nil, ErrOtherStore
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Clock == nil {
		opts.Clock = core.SystemClock{}
	}
	var listen *pgx.ConnConfig
	if opts.FollowURL != "" {
		var err error
		if listen, err = pgstore.ParseListenURL(opts.FollowURL); err != nil {
			return nil, fmt.Errorf("the follow URL: %w", err)
		}
	}
	var seen uint64
	if opts.Generations != nil {
		var err error
		if seen, err = opts.Generations.SharedGeneration(); err != nil {
			return nil, fmt.Errorf("read the generation seen before: %w", err)
		}
	}
	snap, err := st.ReadSignedSnapshot(ctx, v, seen)
	if err != nil {
		return nil, err
	}
	storeCatalog := opts.Catalog == nil
	if storeCatalog {
		// The store's catalog (imported by an admin, signed with the
		// admins' key; the one the signed state names), else the
		// embedded one.
		if err := snap.CheckCatalog(); err != nil {
			return nil, err
		}
		if opts.Catalog, err = core.OpenStoredCatalog(snap.Catalog, v); err != nil {
			return nil, err
		}
	}
	r := &Replica{st: st, v: v, opts: opts, listen: listen, kick: make(chan struct{}, 1), storeCatalog: storeCatalog,
		diverged: map[string]acceptedRecord{}, acc: snap.Set, gen: snap.State.Gen, seq: snap.Seq, lastSync: time.Now(),
		recorded: seen, catalog: pgstore.DigestCatalog(snap.Catalog), bound: snap.State.BindsCatalog()}
	if err := r.remember(snap.State.Gen); err != nil {
		return nil, err
	}
	if opts.NewService != nil {
		r.svc, err = opts.NewService(snap.Keys, opts.Catalog)
	} else {
		r.svc, err = core.NewLazyVerifyService(pgstore.Preload(st, snap.Keys), v, opts.Clock, opts.Catalog)
	}
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	// The service holds the accepted records; a window's changes of its
	// own are reported (accepted.go).
	r.svc.ObserveOwnChanges(r.ownChange)
	return r, nil
}

// Service returns the key service the replica keeps current (verify-only
// unless Options.NewService made it).
func (r *Replica) Service() *core.Service { return r.svc }

// Run follows the store until ctx ends. It returns ctx's error, or
// pgstore.ErrStoreChanged when the database no longer holds the store.
// When the changes it had not applied were pruned (it was away longer than
// the admins keep them), it reads the whole signed state again and follows
// on from there. After each round it tells its subscribers the health
// (Subscribe).
func (r *Replica) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ferr := r.follow(ctx)
	t := time.NewTicker(r.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if ferr != nil {
				<-ferr
			}
			return ctx.Err()
		case err := <-ferr:
			if !errors.Is(err, pgstore.ErrTooFarBehind) {
				return err
			}
			ferr = nil
			if r.opts.OnError != nil {
				r.opts.OnError(err)
			}
		case <-r.kick:
		case <-t.C:
		}
		if ferr == nil {
			// Behind the pruned changes: reload, then follow from the
			// reloaded position (retried every heartbeat until it works).
			if err := r.reloadAll(ctx); err != nil {
				if r.opts.OnError != nil && ctx.Err() == nil {
					r.opts.OnError(err)
				}
			} else {
				ferr = r.follow(ctx)
			}
		} else {
			if err := r.refreshCatalog(); err != nil && r.opts.OnError != nil && ctx.Err() == nil {
				r.opts.OnError(err)
			}
			if err := r.Sync(ctx); err != nil && r.opts.OnError != nil && ctx.Err() == nil {
				r.opts.OnError(err)
			}
		}
		r.roundEnded(r.Health().Status != "ok")
	}
}

// follow starts a follower from the last accepted change; its end is
// sent on the returned channel.
func (r *Replica) follow(ctx context.Context) <-chan error {
	r.syncMu.Lock()
	from := r.seq
	r.syncMu.Unlock()
	f := r.st.Follower(from, r.onChange, pgstore.FollowOptions{Heartbeat: r.opts.Heartbeat, OnProblem: r.opts.OnError, ListenConfig: r.listen})
	r.mu.Lock()
	r.follower = f
	r.mu.Unlock()
	ferr := make(chan error, 1)
	go func() { ferr <- f.Run(ctx) }()
	return ferr
}

// round starts a read of the store (Sync or reloadAll): it takes syncMu
// and bounds ctx to five heartbeats; end releases both.
func (r *Replica) round(ctx context.Context) (qctx context.Context, end func()) {
	r.syncMu.Lock()
	qctx, cancel := context.WithTimeout(ctx, 5*r.opts.Heartbeat)
	return qctx, func() {
		cancel()
		r.syncMu.Unlock()
	}
}

// reloadAll reads the whole signed state (reload) under syncMu.
func (r *Replica) reloadAll(ctx context.Context) error {
	qctx, end := r.round(ctx)
	defer end()
	if err := r.reload(qctx); err != nil {
		r.mu.Lock()
		r.problem = err
		r.mu.Unlock()
		return fmt.Errorf("read the whole signed state after missing pruned changes: %w", err)
	}
	return nil
}

// onChange is the follower's callback: a deleted key stops verifying at
// once (that never grants anything, so it needs no signed state); every
// key change wakes Sync.
func (r *Replica) onChange(c pgstore.Change) {
	if c.Kind == pgstore.KindSetting && c.Name == core.CatalogSetting {
		// An admin imported or reset the catalog: the next round of Run
		// reads it (Sync, with the signed state naming it; refreshCatalog
		// on a store whose state does not name it yet).
		if r.storeCatalog {
			r.catalogChanged.Store(true)
		}
		r.wake()
		return
	}
	if c.Kind != pgstore.KindKey {
		return
	}
	if c.Key == nil {
		r.unaccepted(c.Name, func() { r.remove(c.Name) })
	}
	r.wake()
}

// wake makes Run do a round now (merged with one already due).
func (r *Replica) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// refreshCatalog reads the store's catalog again when a change announced
// a new one, and puts it in use, on a store whose signed state does not
// name its catalog yet (format 3, until an admin's open moves it): once a
// state naming it was accepted, Sync reads the catalog with the state and
// checks it against it instead. The catalog is checked against the
// admins' signature as at Open: a forged one is refused (the replica keeps
// the catalog it has, and the error says why); an unreachable store is
// tried again on the next round.
func (r *Replica) refreshCatalog() error {
	if !r.catalogChanged.Swap(false) {
		return nil
	}
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	if r.bound {
		return nil
	}
	raw, err := r.st.Setting(core.CatalogSetting)
	var c *core.Catalog
	if err == nil {
		c, err = core.OpenStoredCatalog(raw, r.v)
	}
	if err != nil {
		if pgstore.IsUnavailable(err) {
			r.catalogChanged.Store(true)
		}
		return fmt.Errorf("the catalog an admin changed: %w", err)
	}
	r.svc.SetCatalog(c)
	r.catalog = pgstore.DigestCatalog(raw)
	return nil
}

// checkState reports why the signed state read (with the key set a the
// replica would hold, and the catalog setting read with it, catalogRead,
// when the replica uses the store's catalog and the state names another
// one) is not accepted, nil when it is: a generation older than one
// accepted, a state of an older format after one of format 4, a set it
// does not sign, a catalog it does not name (checkCatalog) or whose own
// signature fails. It returns the store's catalog to put in use when it
// changed. syncMu is held.
func (r *Replica) checkState(state pgstore.StateRow, a seal.Set, catalogRead bool, catalog []byte, checkCatalog func() error) (*core.Catalog, error) {
	switch {
	case state.Gen < r.gen:
		return nil, &pgstore.RolledBackError{Gen: state.Gen, Seen: r.gen}
	case state.Legacy():
		return nil, fmt.Errorf("%w (%w)", pgstore.ErrStateMismatch, pgstore.ErrOldState)
	case r.bound && !state.BindsCatalog():
		return nil, pgstore.DowngradeError(state.Gen)
	case !state.Check(r.v, r.st.StoreID(), a):
		return nil, pgstore.ErrStateMismatch
	}
	if !catalogRead {
		return nil, nil
	}
	if err := checkCatalog(); err != nil {
		return nil, err
	}
	if pgstore.DigestCatalog(catalog) == r.catalog {
		return nil, nil
	}
	c, err := core.OpenStoredCatalog(catalog, r.v)
	if err != nil {
		// The state names it, but it is not an admin's catalog.
		return nil, fmt.Errorf("%w (%w)", pgstore.ErrStateMismatch, err)
	}
	return c, nil
}

// acceptCatalog records the catalog setting of a state accepted (when it
// was read: catalogRead) and puts c, when not nil, in use. syncMu is held.
func (r *Replica) acceptCatalog(state pgstore.StateRow, catalogRead bool, catalog []byte, c *core.Catalog) {
	if catalogRead {
		r.catalog = pgstore.DigestCatalog(catalog)
	}
	if c != nil {
		r.svc.SetCatalog(c)
	}
	r.bound = r.bound || state.BindsCatalog()
}

// Sync reads the key changes since the last accepted read, with the signed
// state of the same snapshot (and the catalog setting, when the state
// names another one than the replica's), and applies them if the
// resulting set and the catalog match that state and its generation is
// not older than one already accepted (see checkState); a new catalog
// named is put in use. Otherwise only deletions and rolls of records held
// here apply (they only restrict), the catalog in use stays, and the
// error says why (pgstore.ErrStateMismatch, also pgstore.ErrOldState for
// a state of an older format and pgstore.ErrCatalogMismatch for a catalog
// the state does not name; pgstore.ErrStateRolledBack).
func (r *Replica) Sync(ctx context.Context) error {
	qctx, end := r.round(ctx)
	defer end()
	var have *pgstore.CatalogDigest
	if r.storeCatalog {
		have = &r.catalog
	}
	read, err := r.st.KeyChanges(qctx, r.seq, have)
	if err != nil {
		return fmt.Errorf("follow the shared store: %w", err)
	}
	changes, last, state := read.Keys, read.Last, read.State
	a := r.acc
	elems := make([]seal.Element, len(changes))
	for i, ch := range changes {
		if old, ok := r.element(ch.ID); ok {
			a.Remove(old)
		}
		if ch.Key != nil {
			elems[i] = r.v.SetElement(ch.ID, ch.Key.MAC)
			a.Add(elems[i])
		}
	}
	catalog, err := r.checkState(state, a, read.CatalogRead, read.Catalog, read.CheckCatalog)
	if err != nil {
		// Only what restricts applies without a signed set: deletions,
		// and rolls of the records held here (else a database writer
		// who breaks the set keeps a leaked key working on every
		// replica after an admin rolled it).
		for _, ch := range changes {
			switch {
			case ch.Key == nil:
				r.unaccepted(ch.ID, func() { r.remove(ch.ID) })
			case r.rollOfHeld(ch.Key):
				r.unaccepted(ch.ID, func() { r.apply(ch.Key) })
			}
		}
		if errors.Is(err, pgstore.ErrStateMismatch) && state.Gen != r.reloadGen {
			// The changes read do not add up to the signed state: some
			// were removed or misnumbered. Read the whole signed state
			// instead of trusting the numbers.
			rerr := r.reload(qctx)
			if rerr == nil {
				return nil
			}
			if !pgstore.IsUnavailable(rerr) {
				r.reloadGen = state.Gen
			}
		}
		r.mu.Lock()
		r.problem = err
		r.mu.Unlock()
		return err
	}
	for i, ch := range changes {
		r.accept(ch.ID, ch.Key, elems[i])
	}
	r.settleAll()
	r.acceptCatalog(state, read.CatalogRead, read.Catalog, catalog)
	r.acc, r.gen, r.seq = a, state.Gen, last
	err = r.remember(r.gen)
	r.mu.Lock()
	r.lastSync, r.problem = time.Now(), err
	r.mu.Unlock()
	return err
}

// reload reads every record, the catalog and the signed state in one
// snapshot and, if they match (and the generation is not older than one
// accepted, see checkState), makes them the replica's: records gone stop
// verifying, new or changed ones are applied, a new catalog is put in
// use. syncMu must be held.
func (r *Replica) reload(ctx context.Context) error {
	snap, err := r.st.ReadSignedSnapshot(ctx, r.v, r.gen)
	if err != nil {
		return err
	}
	// ReadSignedSnapshot checked the set against the state: checkState
	// adds the downgrade and, when the store's catalog is in use, its
	// check against the state and its signature.
	catalog, err := r.checkState(snap.State, snap.Set, r.storeCatalog, snap.Catalog, snap.CheckCatalog)
	if err != nil {
		return err
	}
	r.reloads++
	inSnap := make(map[string]struct{}, len(snap.Keys))
	for i, k := range snap.Keys {
		inSnap[k.ID] = struct{}{}
		if old, ok := r.element(k.ID); !ok || old != snap.Elements[i] {
			r.accept(k.ID, k, snap.Elements[i])
		}
	}
	// The records accepted before that the snapshot no longer holds (a
	// key the window created since is not one: it stays).
	var gone []string
	for _, k := range r.svc.List() {
		if _, ok := inSnap[k.ID]; !ok {
			gone = append(gone, k.ID)
		}
	}
	r.accMu.Lock()
	for id := range r.diverged {
		if _, ok := inSnap[id]; !ok {
			gone = append(gone, id)
		}
	}
	r.accMu.Unlock()
	for _, id := range gone {
		if _, accepted := r.element(id); accepted {
			r.accept(id, nil, seal.Element{})
		}
	}
	r.settleAll()
	r.acceptCatalog(snap.State, r.storeCatalog, snap.Catalog, catalog)
	r.acc, r.gen, r.seq = snap.Set, snap.State.Gen, snap.Seq
	// The state was accepted; failing to record its generation is the
	// problem /healthz reports until a later read records it.
	rerr := r.remember(r.gen)
	r.mu.Lock()
	r.lastSync, r.problem = time.Now(), rerr
	r.mu.Unlock()
	return nil
}

// apply makes k the service's record of its id, unless the service holds
// that very record already (the window's own change coming back, which
// would only reset the last-used time the service keeps), and tells the
// subscribers.
func (r *Replica) apply(k *core.Key) {
	if mac, held := r.svc.RecordMAC(k.ID); held && bytes.Equal(mac, k.MAC) {
		return
	}
	r.svc.ApplyRemote(k)
	r.changed(k.ID)
}

// remove drops the service's record of id, telling the subscribers when
// it held one.
func (r *Replica) remove(id string) {
	if r.svc.RemoveRemote(id) {
		r.changed(id)
	}
}

// rollOfHeld reports whether k is a roll of the record held for its id:
// signed, and the held record (signed, not rolled) with its expiry
// shortened and a link to the new key added, nothing else changed. Applying
// it only ever shortens what the held record grants, so it needs no signed
// state; an older record written back (longer, or without the link) is
// never one.
func (r *Replica) rollOfHeld(k *core.Key) bool {
	held, err := r.svc.Get(k.ID)
	return err == nil && held.RolledTo == "" && k.RolledTo != "" &&
		core.SameBeforeRoll(held, k) &&
		r.v.VerifyRecord(held.MACPayload(), held.MAC) && r.v.VerifyRecord(k.MACPayload(), k.MAC)
}

// Health is what a replica's /healthz reports.
type Health struct {
	// Status is "ok" while the data is current, else "degraded" (the
	// store cannot be reached, or its state was not accepted): the server
	// still answers from memory.
	Status string `json:"status"`
	// DataAgeSeconds is the time since the replica last read every change.
	DataAgeSeconds float64 `json:"dataAgeSeconds"`
	// Problem is why the last read was not accepted, if it was not.
	Problem string `json:"problem,omitempty"`
	// Follow is how changes reach the replica: "listen" (a notification
	// proved to arrive: within milliseconds) or "poll" (LISTEN does not
	// work, e.g. through a pooler in transaction mode, or the follower is
	// not connected: it reads the store every PollSeconds).
	Follow string `json:"follow"`
	// PollSeconds is the heartbeat: how often the replica reads the
	// store in any mode.
	PollSeconds float64 `json:"pollSeconds"`
}

// Health reports the freshness of the replica's data: degraded when it is
// older than three heartbeats or the last read was not accepted.
func (r *Replica) Health() Health {
	r.mu.Lock()
	age, problem, f := time.Since(r.lastSync), r.problem, r.follower
	r.mu.Unlock()
	h := Health{Status: "ok", DataAgeSeconds: age.Round(time.Millisecond).Seconds(),
		Follow: pgstore.FollowPoll, PollSeconds: r.opts.Heartbeat.Seconds()}
	if f != nil {
		if st := f.Status(); st.Connected {
			h.Follow = st.Mode
		}
	}
	if problem != nil {
		h.Problem = problem.Error()
	}
	if problem != nil || age > 3*r.opts.Heartbeat {
		h.Status = "degraded"
	}
	return h
}
