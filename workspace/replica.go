package workspace

import (
	"context"
	"fmt"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/credential"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/replica"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
	"github.com/prometheus/client_golang/prometheus"
)

// ReplicaOptions say how OpenReplica opens a verification server's replica
// of the shared store.
type ReplicaOptions struct {
	// StoreURL is the shared store's libpq URL.
	StoreURL string
	// Credential, when set, is the store's verify-only credential; nil
	// means this computer's keyring entry for the store (Keyring).
	Credential *credential.Credential
	// Keyring holds the store's keyring entries when Credential is nil;
	// nil means the OS keyring.
	Keyring KeyringBackend
	// Dir is the data folder keeping the highest generation accepted and
	// this server's usage writer id; "" means DefaultDir().
	Dir string
	// Clock is the service's clock; nil means the real one.
	Clock core.Clock
	// Catalog replaces the store's catalog (--catalog); nil means the
	// store's, kept current while the replica runs.
	Catalog *core.Catalog
	// FollowURL, if set, is a direct connection used only to LISTEN for
	// changes (for a store reached through a pooler in transaction mode;
	// see CheckFollowURL).
	FollowURL string
	// OnError, if set, hears of errors following the store (the replica
	// keeps serving).
	OnError func(error)
}

// OtherStoreError means the credential given is of another store than the
// database holds. It wraps ErrOtherStore.
type OtherStoreError struct {
	// Credential is the credential's store id; Store the database's.
	Credential, Store string
}

func (e *OtherStoreError) Error() string {
	return fmt.Sprintf("the credential is of store %s, but the shared store holds store %s", e.Credential, e.Store)
}

// Unwrap returns ErrOtherStore.
func (e *OtherStoreError) Unwrap() error { return ErrOtherStore }

// ReplicaHealth is what a replica's /healthz reports.
type ReplicaHealth = replica.Health

// Replica is a verification server's replica of the shared store: every
// key in memory with verify-only material, following every change (Run).
type Replica struct {
	st      *pgstore.Store
	r       *replica.Replica
	keyring *storage.Keyring // nil when opened with a credential
	dir     string
	clock   core.Clock
}

// OpenReplica opens the shared store at opts.StoreURL and loads a replica
// of it, checked against the store's signed state with the credential's
// verifying key (else the one in this computer's keyring). The highest
// generation accepted is kept in the data folder, so a restarted replica
// refuses a database put back to an older copy. A credential of another
// store fails with *OtherStoreError; a keyring entry of another store
// with ErrOtherStore.
func OpenReplica(ctx context.Context, opts ReplicaOptions) (_ *Replica, err error) {
	octx, cancel := context.WithTimeout(ctx, SharedTimeout)
	defer cancel()
	st, err := pgstore.Open(octx, opts.StoreURL, pgstore.Options{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	rep := &Replica{st: st, clock: opts.Clock}
	if rep.clock == nil {
		rep.clock = core.SystemClock{}
	}
	storeID := st.StoreID()
	var v *seal.EdVerifier
	if c := opts.Credential; c != nil {
		if c.StoreID != storeID {
			return nil, &OtherStoreError{Credential: c.StoreID, Store: storeID}
		}
		if v, err = c.Verifier(); err != nil {
			return nil, err
		}
	} else {
		if rep.keyring, err = storage.OpenKeyringIn(orOSKeyring(opts.Keyring), storeID); err != nil {
			return nil, err
		}
		ed, err := rep.keyring.EdSigner()
		if err != nil {
			return nil, err
		}
		v = ed.Verifier()
	}
	if rep.dir = opts.Dir; rep.dir == "" {
		if rep.dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	ropts := replica.Options{Clock: opts.Clock, Catalog: opts.Catalog, OnError: opts.OnError, FollowURL: opts.FollowURL}
	if ropts.Generations, err = replica.OpenGenerationFile(rep.dir, storeID); err != nil {
		return nil, err
	}
	if rep.r, err = replica.Open(octx, st, storeID, v, ropts); err != nil {
		return nil, err
	}
	rep.r.Service().Actor = Actor()
	return rep, nil
}

// Service is the replica's verify-only key service.
func (r *Replica) Service() *core.Service { return r.r.Service() }

// Health reports the freshness of the replica's data.
func (r *Replica) Health() ReplicaHealth { return r.r.Health() }

// Collector is the replica's Prometheus metrics.
func (r *Replica) Collector() prometheus.Collector { return r.r.Collector() }

// Run follows the store until ctx ends (see replica.Replica.Run); it
// returns early only when the database no longer holds the store.
func (r *Replica) Run(ctx context.Context) error { return r.r.Run(ctx) }

// Keyring is the SMTP password's store when the replica was opened with
// this computer's keyring; nil with a credential.
func (r *Replica) Keyring() mail.PasswordStore {
	if r.keyring == nil {
		return nil
	}
	return r.keyring
}

// UsageRecorder counts the uses this server answers, written as this
// replica (its writer id kept in the data folder, beside the generation
// file).
func (r *Replica) UsageRecorder() (*core.UsageRecorder, error) {
	writer, err := storage.UsageWriterID(r.dir, r.st.StoreID())
	if err != nil {
		return nil, err
	}
	return core.NewUsageRecorder(r.st, writer, r.clock)
}

// Scheduler is the daily digest scheduler of the replica's keys, sending
// with passwords' SMTP password: whichever of the processes sharing the
// store claims a slot sends it, exactly once.
func (r *Replica) Scheduler(passwords mail.PasswordStore, onError func(error)) *mail.Scheduler {
	return newScheduler(r.st, passwords, r.Service(), r.clock, onError)
}

// ReplicaUpdate is what a replica tells its subscribers: the keys it
// changed, and whether its data is current.
type ReplicaUpdate = replica.Update

// Subscribe has fn told of the keys the replica changes in its service and
// of its health while Run runs (see replica.Replica.Subscribe: fn runs on
// a goroutine of its own and never holds up the following). The returned
// function ends the subscription.
func (r *Replica) Subscribe(fn func(ReplicaUpdate)) (unsubscribe func()) { return r.r.Subscribe(fn) }

// Close closes the connection to the store.
func (r *Replica) Close() error { return r.st.Close() }
