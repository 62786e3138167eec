package workspace

import (
	"context"
	"io"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
)

// Store is where a workspace keeps everything: the records (core.Store,
// rolls included), the audit log, settings, the digest state and usage
// counts. The data folder's bbolt store (storage.Store) and the shared
// store in PostgreSQL (pgstore.SealedStore) both implement it; the pieces
// are those internal/storetest checks on every store. What only one of
// them can do is one of the small interfaces below, found with a type
// assertion (as vault's physical.HABackend and Transactional are).
type Store interface {
	core.Store
	core.KeyRoller
	core.UsageStore
	// InsertKeys stores several new records with one audit entry, all or
	// none (a bulk import).
	InsertKeys(keys []*core.Key, ev core.AuditEvent) error
	// Audit returns the audit log, newest first.
	Audit() ([]core.AuditEvent, error)
	// KeyAudit returns the audit entries about the keys ids, newest
	// first (the details panel's, without reading the whole log).
	KeyAudit(ids ...string) ([]core.AuditEvent, error)
	// Setting returns a setting's value; nil when it is not set.
	Setting(name string) ([]byte, error)
	// PutSetting sets (nil: removes) a setting with its audit entry in
	// one change.
	PutSetting(name string, value []byte, ev core.AuditEvent) error
	// LastDeliveredSlot is the last digest slot delivered; zero when none
	// was.
	LastDeliveredSlot() (time.Time, error)
	// MarkSlotDelivered records slot as delivered with its audit entry.
	MarkSlotDelivered(slot time.Time, ev core.AuditEvent) error
	// StoreID is the store's id (its keyring entries' name).
	StoreID() string
	// Close closes the store.
	Close() error
}

// The two stores a workspace opens.
var (
	_ Store = (*storage.Store)(nil)
	_ Store = (*pgstore.SealedStore)(nil)
)

// SignatureChecker is a store that checks its records' signatures in the
// background after opening (the data folder's: storage.Store.Seal). The
// shared store checks every record against its signed state as it reads
// it, and has no such check.
type SignatureChecker interface {
	// StartSignatureCheck starts the check; it returns at once.
	StartSignatureCheck()
	// SignatureCheck hurries the check, waits for it and returns its
	// result: an error wrapping ErrTampered when a record's signature
	// does not match it.
	SignatureCheck() error
	// WaitSignatureCheck waits for the check without hurrying it and
	// returns its result as SignatureCheck does.
	WaitSignatureCheck() error
}

// snapshotter is a store that can be copied whole for a backup (the data
// folder's).
type snapshotter interface {
	Snapshot(fn func(info storage.SnapshotInfo, copy io.WriterTo) error) error
}

// slotClaimer is a store shared by several processes, each of which may
// send the digest: one claims a slot before delivering it.
type slotClaimer interface {
	ClaimSlot(ctx context.Context, slot time.Time) (claimed bool, release func(delivered bool) error, err error)
}

// changePruner is a store that keeps a change log for its followers.
type changePruner interface {
	PruneChanges(ctx context.Context, before time.Time) (int64, error)
}

// edSigned is a store whose records and catalog are signed with the
// admins' Ed25519 key (the shared store) rather than the data folder's MAC
// key.
type edSigned interface {
	Signer() *seal.EdSigner
}
