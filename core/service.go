package core

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
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

// Signer holds the signing material derived from the store's master key.
type Signer interface {
	// DigestSecret returns HMAC-SHA256 of a key's secret.
	DigestSecret(secret string) []byte
	// SignRecord returns the MAC of a record payload.
	SignRecord(payload []byte) []byte
	// VerifyRecord reports, in constant time, whether mac authenticates
	// payload.
	VerifyRecord(payload, mac []byte) bool
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

// Service errors callers branch on.
var (
	ErrNotFound  = errors.New("no key with that id")
	ErrDuplicate = errors.New("a key with that id or secret already exists")
	ErrTampered  = errors.New("the key's record does not match its signature (the data file was edited); delete it and create a new key")
)

// Reason says why a verification succeeded or failed.
type Reason string

// Verification reasons, as the HTTP API and the command line report them.
const (
	ReasonOK          Reason = "ok"
	ReasonMalformed   Reason = "malformed"
	ReasonBadChecksum Reason = "bad_checksum"
	ReasonUnknown     Reason = "unknown"
	ReasonExpired     Reason = "expired"
	ReasonForbidden   Reason = "forbidden"
	ReasonTampered    Reason = "tampered"
)

// Explain returns one sentence for people.
func (r Reason) Explain() string {
	switch r {
	case ReasonOK:
		return "The key is valid and allowed."
	case ReasonMalformed:
		return "This is not a Keydesk key (it must be kdk_ followed by 49 letters and digits)."
	case ReasonBadChecksum:
		return "The key's checksum does not match: it was mistyped or truncated."
	case ReasonUnknown:
		return "No such key: it was never issued here or has been deleted."
	case ReasonExpired:
		return "The key has expired."
	case ReasonForbidden:
		return "The key is valid but its scopes do not allow this operation."
	case ReasonTampered:
		return "The key's stored record was altered; it can no longer be used."
	}
	return string(r)
}

// Verification is the answer to "is this key allowed to do that?".
type Verification struct {
	Valid   bool
	Allowed bool
	Reason  Reason
	// Key is the matched record (a copy), nil for malformed and unknown keys.
	Key *Key
}

// Target names what a key wants to do: an operation, a scope, or nothing
// (only the key's validity is checked).
type Target struct {
	Operation *Operation
	Scope     string
}

// CreateRequest is what the create dialog or `keys create` submits.
type CreateRequest struct {
	Name        string
	Lifetime    Lifetime
	Permissions Permissions
}

// Service issues, lists, renames, deletes and verifies keys. It keeps an
// in-memory index of every record so that verification costs one HMAC and
// one map lookup; every change goes through the Service and the Store.
type Service struct {
	store   Store
	signer  Signer
	clock   Clock
	catalog *Catalog
	// Actor names who makes changes in the audit log (the OS user).
	Actor string
	// Rand is the source of secrets and ids; nil means crypto/rand.
	Rand io.Reader

	mu       sync.RWMutex
	byDigest map[string]*Key // HMAC digest (as string) -> record
	byID     map[string]*Key

	usedMu sync.Mutex
	used   map[string]time.Time
}

// NewService loads every record from store, checks each record's MAC, and
// returns a Service ready to verify.
func NewService(store Store, signer Signer, clock Clock, catalog *Catalog) (*Service, error) {
	if clock == nil {
		clock = SystemClock{}
	}
	if catalog == nil {
		catalog = DefaultCatalog()
	}
	s := &Service{store: store, signer: signer, clock: clock, catalog: catalog, used: map[string]time.Time{}}
	keys, err := store.ListKeys()
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	s.byDigest = make(map[string]*Key, len(keys))
	s.byID = make(map[string]*Key, len(keys))
	for _, k := range keys {
		s.index(k)
	}
	return s, nil
}

func (s *Service) index(k *Key) {
	k.Tampered = !s.signer.VerifyRecord(k.MACPayload(), k.MAC)
	s.byDigest[string(k.Digest)] = k
	s.byID[k.ID] = k
}

// Catalog returns the catalog the service checks permissions against.
func (s *Service) Catalog() *Catalog { return s.catalog }

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

func (s *Service) event(action AuditAction, k *Key, detail string) AuditEvent {
	return AuditEvent{Time: s.clock.Now().UTC(), Actor: s.Actor, Action: action, KeyID: k.ID, KeyName: k.Name, Detail: detail}
}

// Plan validates a create request at now and returns the record it would
// create (without id, digest or MAC). The create dialog calls it on every
// change to show the summary and the reason the button is disabled.
func (s *Service) Plan(req CreateRequest, now time.Time) (*Key, error) {
	name, err := CleanName(req.Name)
	if err != nil {
		return nil, err
	}
	scopes, err := s.catalog.Scopes(req.Permissions)
	if err != nil {
		return nil, err
	}
	created := now.UTC().Truncate(time.Second)
	expires := req.Lifetime.ExpiresAt(created, req.Permissions.Kind).UTC()
	if err := CheckExpiry(created, expires, req.Permissions.Kind); err != nil {
		return nil, err
	}
	perms := Permissions{Kind: req.Permissions.Kind}
	switch perms.Kind {
	case KindSections:
		perms.Sections = make(map[string]Access, len(req.Permissions.Sections))
		for id, a := range req.Permissions.Sections {
			perms.Sections[id] = a
		}
	case KindOperations:
		perms.Operations = slices.Compact(slices.Sorted(slices.Values(req.Permissions.Operations)))
	}
	return &Key{Name: name, Permissions: perms, Scopes: scopes, CreatedAt: created, ExpiresAt: expires}, nil
}

// Create issues a key and returns its record and its secret. The secret is
// returned only here; it is not stored anywhere.
func (s *Service) Create(req CreateRequest) (*Key, string, error) {
	k, err := s.Plan(req, s.clock.Now())
	if err != nil {
		return nil, "", err
	}
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	secret, err := GenerateKey(r)
	if err != nil {
		return nil, "", err
	}
	var id [8]byte
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return nil, "", fmt.Errorf("generate id: %w", err)
	}
	k.ID = hex.EncodeToString(id[:])
	k.Digest = s.signer.DigestSecret(secret)
	k.Hint = KeyHint(secret)
	k.MAC = s.signer.SignRecord(k.MACPayload())
	if err := s.store.InsertKey(k, s.event(ActionCreate, k, strings.Join(k.Scopes, " "))); err != nil {
		return nil, "", fmt.Errorf("create key: %w", err)
	}
	s.mu.Lock()
	s.index(k.Clone())
	s.mu.Unlock()
	return k, secret, nil
}

// NameInUse reports whether another key already has this name (the create
// dialog warns; names need not be unique).
func (s *Service) NameInUse(name string) bool {
	name = strings.TrimSpace(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.byID {
		if strings.EqualFold(k.Name, name) {
			return true
		}
	}
	return false
}

// List returns a copy of every key, newest first, with pending last-used
// times applied.
func (s *Service) List() []*Key {
	s.mu.RLock()
	out := make([]*Key, 0, len(s.byID))
	for _, k := range s.byID {
		out = append(out, k.Clone())
	}
	s.mu.RUnlock()
	s.usedMu.Lock()
	for _, k := range out {
		if t, ok := s.used[k.ID]; ok && t.After(k.LastUsedAt) {
			k.LastUsedAt = t
		}
	}
	s.usedMu.Unlock()
	slices.SortFunc(out, func(a, b *Key) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Get returns a copy of one key.
func (s *Service) Get(id string) (*Key, error) {
	s.mu.RLock()
	k, ok := s.byID[id]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	return k.Clone(), nil
}

// Rename changes a key's name, the only thing that can be edited.
func (s *Service) Rename(id, name string) (*Key, error) {
	name, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	if old.Tampered {
		return nil, ErrTampered
	}
	k := old.Clone()
	k.Name = name
	k.MAC = s.signer.SignRecord(k.MACPayload())
	if err := s.store.UpdateKey(k, s.event(ActionRename, k, fmt.Sprintf("renamed from %q", old.Name))); err != nil {
		return nil, fmt.Errorf("rename key: %w", err)
	}
	s.index(k.Clone())
	return k, nil
}

// Delete removes a key permanently; it stops verifying at once.
func (s *Service) Delete(id string) (*Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	if err := s.store.DeleteKey(id, s.event(ActionDelete, k, "")); err != nil {
		return nil, fmt.Errorf("delete key: %w", err)
	}
	delete(s.byID, id)
	delete(s.byDigest, string(k.Digest))
	s.usedMu.Lock()
	delete(s.used, id)
	s.usedMu.Unlock()
	return k.Clone(), nil
}

// Verify checks a presented secret against target. It never returns the
// secret in any form, and records the key's last use when it succeeds.
func (s *Service) Verify(secret string, target Target) Verification {
	switch err := CheckKey(secret); err {
	case nil:
	case ErrBadChecksum:
		return Verification{Reason: ReasonBadChecksum}
	default:
		return Verification{Reason: ReasonMalformed}
	}
	digest := s.signer.DigestSecret(secret)
	now := s.clock.Now()
	s.mu.RLock()
	k, ok := s.byDigest[string(digest)]
	if ok && subtle.ConstantTimeCompare(k.Digest, digest) != 1 {
		ok = false
	}
	var v Verification
	switch {
	case !ok:
		s.mu.RUnlock()
		return Verification{Reason: ReasonUnknown}
	case k.Tampered:
		v.Reason = ReasonTampered
	case k.Expired(now):
		v.Reason = ReasonExpired
	default:
		v.Valid = true
		v.Allowed = s.allowed(k.Scopes, target)
		v.Reason = ReasonOK
		if !v.Allowed {
			v.Reason = ReasonForbidden
		}
	}
	v.Key = k.Clone()
	s.mu.RUnlock()
	if v.Allowed {
		s.usedMu.Lock()
		s.used[k.ID] = now.UTC()
		s.usedMu.Unlock()
		v.Key.LastUsedAt = now.UTC()
	}
	return v
}

func (s *Service) allowed(scopes []string, t Target) bool {
	switch {
	case t.Operation != nil:
		sec, _ := s.catalog.Section(t.Operation.SectionID)
		return sec != nil && Allows(scopes, t.Operation, sec)
	case t.Scope != "":
		return s.catalog.AllowsScope(scopes, t.Scope)
	}
	return true
}

// FlushLastUsed writes the pending last-used times in one store write.
func (s *Service) FlushLastUsed() error {
	s.usedMu.Lock()
	pending := s.used
	s.used = make(map[string]time.Time)
	s.usedMu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	if err := s.store.SetLastUsed(pending); err != nil {
		s.usedMu.Lock()
		for id, t := range pending {
			if t.After(s.used[id]) {
				s.used[id] = t
			}
		}
		s.usedMu.Unlock()
		return fmt.Errorf("save last used: %w", err)
	}
	s.mu.Lock()
	for id, t := range pending {
		if k, ok := s.byID[id]; ok && t.After(k.LastUsedAt) {
			k.LastUsedAt = t
		}
	}
	s.mu.Unlock()
	return nil
}

// LastUsedFlushInterval is how often pending last-used times are written.
const LastUsedFlushInterval = 10 * time.Second

// RunLastUsedFlusher flushes last-used times every interval until ctx ends,
// then once more. Errors go to report (may be nil).
func (s *Service) RunLastUsedFlusher(ctx context.Context, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.FlushLastUsed(); err != nil && report != nil {
				report(err)
			}
			return
		case <-t.C:
			if err := s.FlushLastUsed(); err != nil && report != nil {
				report(err)
			}
		}
	}
}

// Stats are the counts shown above the keys table.
type Stats struct {
	Total, Expired, ExpiringSoon int
}

// ExpiringSoonWindow is the "expiring within 7 days" horizon.
const ExpiringSoonWindow = 7 * 24 * time.Hour

// CountStats counts keys, expired keys and keys expiring within 7 days.
func CountStats(keys []*Key, now time.Time) Stats {
	st := Stats{Total: len(keys)}
	for _, k := range keys {
		switch {
		case k.Expired(now):
			st.Expired++
		case k.ExpiresWithin(now, ExpiringSoonWindow):
			st.ExpiringSoon++
		}
	}
	return st
}

// String renders "124 keys · 3 expired · 5 expiring within 7 days".
func (st Stats) String() string {
	plural := "keys"
	if st.Total == 1 {
		plural = "key"
	}
	return fmt.Sprintf("%d %s · %d expired · %d expiring within 7 days", st.Total, plural, st.Expired, st.ExpiringSoon)
}
