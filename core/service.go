package core

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unique"
)

// Service errors callers branch on.
var (
	ErrNotFound  = errors.New("no key with that id")
	ErrDuplicate = errors.New("a key with that id or secret already exists")
	ErrTampered  = errors.New("key record does not match its signature")
	// ErrVerifyOnly means the service holds only verification material
	// (a server's verify-only credential): it cannot create, rename or
	// delete keys.
	ErrVerifyOnly = errors.New("this store was opened with verify-only material; it cannot change keys")
)

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
	store  Store
	signer RecordVerifier
	// digester is signer, if it is a SecretDigester.
	digester SecretDigester
	// admin signs records; nil for a verify-only service.
	admin Signer
	clock Clock
	// catalog is the permission catalog (see Catalog and SetCatalog).
	catalog atomic.Pointer[Catalog]
	// Actor names who makes changes in the audit log (the OS user).
	Actor string
	// Rand is the source of secrets and ids; nil means crypto/rand.
	Rand io.Reader

	// wmu serialises the changes (Rename, Roll, Delete): each reads the
	// record, writes the store, then indexes the result. mu is held only
	// to read and to index, never across a store write, so verifications
	// and lists go on while a change waits on a slow store.
	wmu      sync.Mutex
	mu       sync.RWMutex
	byDigest map[uint64]*entry          // digest's first 8 bytes -> entry (see index.go)
	collided map[[digestLen]byte]*entry // entries whose prefix byDigest holds for another
	byID     idIndex                    // id -> the same entries

	usedMu sync.Mutex
	dirty  []*entry // entries given a pending last use since the last flush

	scopeSets map[string]*scopeSet   // see internScopes; guarded by mu
	permSets  map[string]Permissions // see internPermissions; guarded by mu

	// ownChange, if set, hears of the service's own changes (see
	// ObserveOwnChanges).
	ownChange func(id string, before *Key)

	// distrusted is set once the store's records are found forged
	// (Distrust): no key verifies any more.
	distrusted atomic.Bool

	// gate, while set, holds verifications until its channel is closed
	// (see VerifyAfter).
	gate atomic.Pointer[gate]

	// idleRows holds, for every entry, the times the digest's idle list
	// reads, packed so that it scans 100,000 keys without touching their
	// records (see selectIdle); entry.row is each entry's position.
	// Guarded by mu.
	idleRows []idleRow
}

// Distrust makes every key verify as tampered from now on: the store the
// service was loaded from turned out to hold a forged record (a check that
// runs after the keys are loaded, such as the data folder's background
// check of its record signatures, failed), so none of its keys can be
// trusted. It cannot be undone; open the store again once it is restored.
func (s *Service) Distrust() { s.distrusted.Store(true) }

// Distrusted reports whether Distrust was called.
func (s *Service) Distrusted() bool { return s.distrusted.Load() }

// idleRow is an entry's idle time and expiry in Unix ns, by its stored
// last use (pending uses are applied by selectIdle).
type idleRow struct {
	since, expires int64
	e              *entry
}

// noUse marks an entry without a pending last use.
const noUse = math.MinInt64

// entry is what Verify reads for one key, kept together so that a
// verification reads the digest map's group and this entry, never the
// record: the whole digest, the expiry, the stored last use, the scope set
// and the check state are copied here from the record (setKey), and the
// key's pending last use is set here without a map write.
//
// It is 80 bytes, a size class of its own: add a field only with the
// size in mind (TestEntrySize).
type entry struct {
	digest [digestLen]byte
	key    *Key // replaced, never changed; guarded by Service.mu
	// scopes is key's interned scope set.
	scopes *scopeSet
	// expires and lastUsed are key's ExpiresAt and LastUsedAt in Unix
	// ns (lastUsed is noUse if never used).
	expires, lastUsed int64
	used              atomic.Int64 // pending last use in Unix ns, or noUse
	// sig is sigChecked or sigBad once the record's MAC or signature was
	// checked (sigBad: key.Tampered, or found so later); a lazily
	// loaded record (NewLazyVerifyService) starts sigPending and is
	// checked at its first verification.
	sig atomic.Int32
	// row is the entry's position in Service.idleRows while it is the
	// entry of its digest (in the digest index and the idle rows), else
	// -1; guarded by Service.mu.
	row int32
}

// indexed reports whether e is the entry of its digest; s.mu must be held.
func (e *entry) indexed() bool { return e.row >= 0 }

// setRow updates e's idle row from e.key; s.mu must be held for writing.
func (s *Service) setRow(e *entry) {
	s.idleRows[e.row] = idleRow{since: unixNano(e.key.IdleSince()), expires: e.expires, e: e}
}

// removeRow removes e's idle row; s.mu must be held for writing.
func (s *Service) removeRow(e *entry) {
	last := int32(len(s.idleRows) - 1)
	if e.row != last {
		s.idleRows[e.row] = s.idleRows[last]
		s.idleRows[e.row].e.row = e.row
	}
	s.idleRows[last] = idleRow{}
	s.idleRows = s.idleRows[:last]
}

// Values of entry.sig.
const (
	sigChecked int32 = iota
	sigPending
	sigBad
)

// NewService loads every record from store, checks each record's MAC, and
// returns a Service ready to verify.
func NewService(store Store, signer Signer, clock Clock, catalog *Catalog) (*Service, error) {
	s, err := NewVerifyService(store, signer, clock, catalog)
	if err != nil {
		return nil, err
	}
	s.admin = signer
	return s, nil
}

// NewVerifyService is NewService with verification material only: the
// service verifies keys, but Create, Rename and Delete fail with
// ErrVerifyOnly.
func NewVerifyService(store Store, signer RecordVerifier, clock Clock, catalog *Catalog) (*Service, error) {
	return newService(store, signer, clock, catalog, false)
}

func newService(store Store, signer RecordVerifier, clock Clock, catalog *Catalog, lazy bool) (*Service, error) {
	if clock == nil {
		clock = SystemClock{}
	}
	if catalog == nil {
		catalog = DefaultCatalog()
	}
	s := &Service{store: store, signer: signer, clock: clock}
	s.catalog.Store(catalog)
	s.digester, _ = signer.(SecretDigester)
	keys, err := store.ListKeys()
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	s.byDigest = make(map[uint64]*entry, len(keys))
	s.byID = newIDIndex(len(keys))
	s.idleRows = make([]idleRow, 0, len(keys))
	if !lazy {
		s.checkRecords(keys)
	}
	for _, k := range keys {
		e := s.insert(k)
		if lazy {
			e.sig.Store(sigPending)
		}
	}
	return s, nil
}

// index adds or replaces a record; s.mu must be held for writing. A
// replaced record (same digest) keeps its pending last use.
func (s *Service) index(k *Key) {
	k.Tampered = !s.signer.VerifyRecord(k.MACPayload(), k.MAC)
	s.insert(k)
}

// checkRecords sets Tampered on every record whose MAC does not match,
// checking them on all CPUs (opening a 100,000-key store is on the path to
// the window's first paint).
func (s *Service) checkRecords(keys []*Key) {
	workers := min(runtime.GOMAXPROCS(0), len(keys)/1024+1)
	var wg sync.WaitGroup
	chunk := (len(keys) + workers - 1) / workers
	for lo := 0; lo < len(keys); lo += chunk {
		part := keys[lo:min(lo+chunk, len(keys))]
		wg.Go(func() {
			for _, k := range part {
				k.Tampered = !s.signer.VerifyRecord(k.MACPayload(), k.MAC)
			}
		})
	}
	wg.Wait()
}

// insert adds or replaces a record whose Tampered flag is set and returns
// its entry; s.mu must be held for writing.
func (s *Service) insert(k *Key) *entry {
	plausibleUse(k, s.clock.Now())
	scopes := s.internScopes(k.Scopes)
	k.Scopes = scopes.list
	k.Permissions = s.internPermissions(k.Permissions)
	d, hashed := digestOf(k)
	var e *entry
	if hashed {
		e = s.lookup(&d)
	}
	if e != nil {
		if e.key.ID != k.ID {
			// Another id's record held this digest (stores refuse
			// duplicate digests): that record can no longer verify,
			// so it leaves the index.
			s.byID.del(e.key.ID)
		}
		s.setKey(e, k, scopes)
		e.setChecked()
	} else {
		e = &entry{digest: d, row: int32(len(s.idleRows))}
		e.used.Store(noUse)
		if hashed {
			s.link(e)
		}
		s.idleRows = append(s.idleRows, idleRow{})
		s.setKey(e, k, scopes)
		e.setChecked()
	}
	if hashed {
		// The record's digest is the entry's (records are replaced,
		// never changed): the copy it came with is not kept.
		k.Digest = e.digest[:digestLen:digestLen]
	}
	if old, ok := s.byID.get(k.ID); ok && old != e && old.indexed() {
		// The id's record had another digest (callers drop it first;
		// this keeps the two maps in step regardless).
		s.unindex(old)
	}
	s.byID.set(k.ID, e)
	return e
}

// unindex removes e from the digest index and the idle rows; s.mu must be
// held for writing.
func (s *Service) unindex(e *entry) {
	if len(e.key.Digest) == digestLen { // else never linked (digestOf)
		s.unlink(e)
	}
	s.removeRow(e)
	e.row = -1
}

// internScopes returns the scope set equal to scopes, shared by every
// record holding the same scopes, whose strings are shared too: less
// memory, and Verify's scope check reads memory that stays in cache
// instead of a slice and strings per key. Records never change their
// Scopes in place (they are replaced), so sharing is safe. s.mu must be
// held for writing.
func (s *Service) internScopes(scopes []string) *scopeSet {
	if len(scopes) == 0 {
		if scopes == nil {
			return noScopes
		}
		return &scopeSet{list: scopes}
	}
	if s.scopeSets == nil {
		s.scopeSets = make(map[string]*scopeSet)
	}
	id := strings.Join(scopes, "\x00")
	if shared, ok := s.scopeSets[id]; ok {
		return shared
	}
	shared := make([]string, len(scopes))
	for i, sc := range scopes {
		shared[i] = unique.Make(sc).Value()
	}
	set := &scopeSet{list: shared}
	s.scopeSets[id] = set
	return set
}

// internPermissions returns permissions equal to p whose section map and
// operation list are shared by every record with the same permissions (most
// keys share a handful of permission sets; a map per key costs hundreds of
// bytes). Records never change their Permissions in place. s.mu must be
// held for writing.
func (s *Service) internPermissions(p Permissions) Permissions {
	if len(p.Sections) == 0 && len(p.Operations) == 0 {
		return p
	}
	secs := make([]string, 0, len(p.Sections))
	for id, a := range p.Sections {
		secs = append(secs, id+"="+string(a))
	}
	sort.Strings(secs)
	id := string(p.Kind) + "\x00" + strings.Join(secs, ",") + "\x00" + strings.Join(p.Operations, ",")
	if s.permSets == nil {
		s.permSets = make(map[string]Permissions)
	}
	if shared, ok := s.permSets[id]; ok {
		return shared
	}
	s.permSets[id] = p
	return p
}

// Catalog returns the catalog the service checks permissions against.
func (s *Service) Catalog() *Catalog { return s.catalog.Load() }

// SetCatalog replaces the catalog, for a catalog an admin imported while
// the service runs (a replica reads it when the store announces it). Keys
// keep the scopes they were issued with: a re-import never widens one
// (see DiffCatalogs); verifications after the call use c. c must not be
// nil.
func (s *Service) SetCatalog(c *Catalog) { s.catalog.Store(c) }

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
	scopes, err := s.Catalog().Scopes(req.Permissions)
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
	if s.admin == nil {
		return nil, "", ErrVerifyOnly
	}
	k, err := s.Plan(req, s.clock.Now())
	if err != nil {
		return nil, "", err
	}
	secret, err := s.issue(k)
	if err != nil {
		return nil, "", err
	}
	if err := s.store.InsertKey(k, s.event(ActionCreate, k, strings.Join(k.Scopes, " "))); err != nil {
		return nil, "", fmt.Errorf("create key: %w", err)
	}
	s.mu.Lock()
	s.ownIndex(k.Clone())
	s.mu.Unlock()
	return k, secret, nil
}

// issue gives the planned record k a new secret and id, the secret's
// digest and hint, and signs it (s.admin must be set); it returns the
// secret.
func (s *Service) issue(k *Key) (string, error) {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	secret, err := GenerateKey(r)
	if err != nil {
		return "", err
	}
	var id [8]byte
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	k.ID = hex.EncodeToString(id[:])
	k.Digest = s.signer.DigestSecret(secret)
	k.Hint = KeyHint(secret)
	k.MAC = s.admin.SignRecord(k.MACPayload())
	return secret, nil
}

// NameInUse reports whether another key already has this name (the create
// dialog warns; names need not be unique).
func (s *Service) NameInUse(name string) bool {
	name = strings.TrimSpace(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for e := range s.byID.all() {
		if strings.EqualFold(e.key.Name, name) {
			return true
		}
	}
	return false
}

// List returns every key, newest first, with pending last-used times
// applied. The records are shared with the service and read-only (records
// are replaced, never changed in place): Clone one before modifying it. Not
// copying them keeps a 100,000-key list cheap for the window.
func (s *Service) List() []*Key {
	s.mu.RLock()
	out := make([]*Key, 0, s.byID.len())
	for e := range s.byID.all() {
		k := e.key
		if e.sig.Load() == sigBad && !k.Tampered {
			c := *k
			c.Tampered = true
			k = &c
		}
		if u := e.used.Load(); u != noUse {
			if t := time.Unix(0, u).UTC(); t.After(k.LastUsedAt) {
				c := *k
				c.LastUsedAt = t
				k = &c
			}
		}
		out = append(out, k)
	}
	s.mu.RUnlock()
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
	defer s.mu.RUnlock()
	k, err := s.loaded(id)
	if err != nil {
		return nil, err
	}
	return k.Clone(), nil
}

// loaded returns the loaded record of id (not a copy; see checked), or
// ErrNotFound; s.mu must be held.
func (s *Service) loaded(id string) (*Key, error) {
	e, ok := s.byID.get(id)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	return s.checked(e), nil
}

// Rename changes a key's name, the only thing that can be edited.
func (s *Service) Rename(id, name string) (*Key, error) {
	if s.admin == nil {
		return nil, ErrVerifyOnly
	}
	name, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	old, err := s.loaded(id)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if old.Tampered {
		return nil, ErrTampered
	}
	k := old.Clone()
	k.Name = name
	k.MAC = s.admin.SignRecord(k.MACPayload())
	if err := s.store.UpdateKey(k, s.event(ActionRename, k, fmt.Sprintf("renamed from %q", old.Name))); err != nil {
		return nil, fmt.Errorf("rename key: %w", err)
	}
	s.mu.Lock()
	s.ownIndex(k.Clone())
	s.mu.Unlock()
	return k, nil
}

// Delete removes a key permanently; it stops verifying at once.
func (s *Service) Delete(id string) (*Key, error) {
	if s.admin == nil {
		return nil, ErrVerifyOnly
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	k, err := s.loaded(id)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteKey(id, s.event(ActionDelete, k, "")); err != nil {
		return nil, fmt.Errorf("delete key: %w", err)
	}
	// A pending last use of the deleted key is dropped by the store
	// (SetLastUsed skips unknown ids).
	s.mu.Lock()
	if e, ok := s.byID.get(id); ok {
		s.observeOwn(id)
		s.dropLocked(e)
	}
	s.mu.Unlock()
	return k.Clone(), nil
}
