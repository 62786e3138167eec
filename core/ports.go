package core

import (
	"time"
)

// Store persists key records and the audit log. Implementations make every
// method that takes an AuditEvent a single atomic transaction: the change and
// its audit entry are written together or not at all.
type Store interface {
	// InsertKey stores a new record, its digest index and expiry index
	// entries. It fails with ErrDuplicate if the id or digest exists.
	InsertKey(k *Key, ev AuditEvent) error
	// UpdateKey replaces an existing record (same id, digest and expiry).
	UpdateKey(k *Key, ev AuditEvent) error
	// DeleteKey removes a record and its index entries.
	DeleteKey(id string, ev AuditEvent) error
	// GetKey returns one record, or ErrNotFound.
	GetKey(id string) (*Key, error)
	// ListKeys returns every record.
	ListKeys() ([]*Key, error)
	// KeysExpiring returns the records whose ExpiresAt is in (after, until],
	// soonest first, read through the expiry index.
	KeysExpiring(after, until time.Time) ([]*Key, error)
	// SetLastUsed records last-used times for several keys in one write;
	// ids that no longer exist are skipped.
	SetLastUsed(times map[string]time.Time) error
	// AppendAudit records an event that changes no key.
	AppendAudit(ev AuditEvent) error
}

// RecordVerifier is the part of a store's signing material that verifies
// records: it digests presented secrets and checks record signatures, but
// cannot sign. A verification server holds only a RecordVerifier (see
// NewVerifyService).
// Implementations must be safe for concurrent use: verifications run in
// parallel and NewService checks records on every CPU.
type RecordVerifier interface {
	// DigestSecret returns HMAC-SHA256 of a key's secret.
	DigestSecret(secret string) []byte
	// VerifyRecord reports, in constant time, whether mac authenticates
	// payload.
	VerifyRecord(payload, mac []byte) bool
}

// SecretDigester is implemented by a RecordVerifier that can digest a secret
// without allocating; verification uses it when the service's RecordVerifier has
// it (a verification then allocates nothing).
type SecretDigester interface {
	// SecretDigest returns DigestSecret's HMAC-SHA256 as an array.
	SecretDigest(secret string) [32]byte
}

// Signer holds the signing material derived from the store's master key:
// a RecordVerifier that can also sign records.
type Signer interface {
	RecordVerifier
	// SignRecord returns the MAC (or signature) of a record payload.
	SignRecord(payload []byte) []byte
}

// Clock tells the time; tests and --now inject a fixed one.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// FixedClock always returns the same time.
type FixedClock time.Time

// Now returns the fixed time.
func (c FixedClock) Now() time.Time { return time.Time(c) }
