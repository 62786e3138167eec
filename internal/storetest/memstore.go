package storetest

import (
	"bytes"
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
)

// MemStore is an in-memory core.Store (and core.KeyRoller) for tests that
// are about something else than storage: the window's screens, the
// service's callers. It keeps the same contract as the real stores (Run
// checks it): duplicates and unknown ids write nothing, last-used times
// only move forward, every change appends its audit event. It is safe for
// concurrent use.
type MemStore struct {
	mu    sync.Mutex
	keys  map[string]*core.Key
	audit []core.AuditEvent
	usage map[memUsageKey]core.UsageRow
}

var (
	_ core.Store     = (*MemStore)(nil)
	_ core.KeyRoller = (*MemStore)(nil)
	_ Auditor        = (*MemStore)(nil)
)

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{keys: map[string]*core.Key{}} }

// digestTaken reports whether a record other than id holds digest.
func (s *MemStore) digestTaken(digest []byte, id string) bool {
	for _, k := range s.keys {
		if k.ID != id && bytes.Equal(k.Digest, digest) {
			return true
		}
	}
	return false
}

func (s *MemStore) appendLocked(ev core.AuditEvent) {
	ev.Seq = uint64(len(s.audit) + 1)
	s.audit = append(s.audit, ev)
}

// InsertKey stores a copy of k; a taken id or digest fails with
// core.ErrDuplicate.
func (s *MemStore) InsertKey(k *core.Key, ev core.AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.keys[k.ID]; dup || s.digestTaken(k.Digest, k.ID) {
		return core.ErrDuplicate
	}
	s.keys[k.ID] = k.Clone()
	s.appendLocked(ev)
	return nil
}

// UpdateKey replaces the record of k.ID with a copy of k.
func (s *MemStore) UpdateKey(k *core.Key, ev core.AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.ID]; !ok {
		return core.ErrNotFound
	}
	if s.digestTaken(k.Digest, k.ID) {
		return core.ErrDuplicate
	}
	s.keys[k.ID] = k.Clone()
	s.appendLocked(ev)
	return nil
}

// DeleteKey removes the record of id.
func (s *MemStore) DeleteKey(id string, ev core.AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[id]; !ok {
		return core.ErrNotFound
	}
	delete(s.keys, id)
	s.appendLocked(ev)
	return nil
}

// GetKey returns a copy of the record of id.
func (s *MemStore) GetKey(id string) (*core.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return nil, core.ErrNotFound
	}
	return k.Clone(), nil
}

// ListKeys returns copies of every record in id order.
func (s *MemStore) ListKeys() ([]*core.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*core.Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k.Clone())
	}
	slices.SortFunc(out, func(a, b *core.Key) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// KeysExpiring returns the records expiring in (after, until], soonest
// first, ties in id order.
func (s *MemStore) KeysExpiring(after, until time.Time) ([]*core.Key, error) {
	all, _ := s.ListKeys()
	var out []*core.Key
	for _, k := range all {
		if k.ExpiresAt.After(after) && !k.ExpiresAt.After(until) {
			out = append(out, k)
		}
	}
	slices.SortStableFunc(out, func(a, b *core.Key) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	return out, nil
}

// SetLastUsed moves the last-used times of the keys forward; unknown ids
// are skipped.
func (s *MemStore) SetLastUsed(times map[string]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range times {
		if k, ok := s.keys[id]; ok && t.After(k.LastUsedAt) {
			k.LastUsedAt = t
		}
	}
	return nil
}

// AppendAudit records an event that changes no key.
func (s *MemStore) AppendAudit(ev core.AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendLocked(ev)
	return nil
}

// Audit returns the audit log, newest first, as the real stores do.
func (s *MemStore) Audit() ([]core.AuditEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.audit)
	slices.Reverse(out)
	return out, nil
}

// KeyAudit returns the audit entries about the keys ids, newest first.
func (s *MemStore) KeyAudit(ids ...string) ([]core.AuditEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.AuditEvent
	for _, ev := range slices.Backward(s.audit) {
		if slices.Contains(ids, ev.KeyID) {
			out = append(out, ev)
		}
	}
	return out, nil
}

// RollKey replaces old and inserts nk with ev (core.KeyRoller), refusing
// a key rolled already.
func (s *MemStore) RollKey(old, nk *core.Key, ev core.AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, ok := s.keys[old.ID]
	switch {
	case !ok:
		return core.ErrNotFound
	case stored.RolledTo != "":
		return core.ErrAlreadyRolled
	}
	if _, dup := s.keys[nk.ID]; dup || s.digestTaken(nk.Digest, "") {
		return core.ErrDuplicate
	}
	s.keys[old.ID] = old.Clone()
	s.keys[nk.ID] = nk.Clone()
	s.appendLocked(ev)
	return nil
}

// Edit changes the stored record of id behind the store's back, as an
// outside edit of a database file would (a test of tamper detection); an
// unknown id is ignored.
func (s *MemStore) Edit(id string, change func(*core.Key)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[id]; ok {
		change(k)
	}
}
