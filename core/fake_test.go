package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/keydesk/keydesk/internal/clocktest"
)

// memStore is the in-memory Store of core's own (package core) tests, with
// hooks they need (fail, writes). Every other package, core_test included,
// uses the shared storetest.MemStore: this one stays because storetest
// imports core, and a package's internal tests cannot import it. KeysExpiring follows the contract the bbolt expiry index
// implements: (after, until], soonest first, then by id.
type memStore struct {
	mu     sync.Mutex
	keys   map[string]*Key
	audit  []AuditEvent
	fail   error
	writes int
}

func newMemStore() *memStore { return &memStore{keys: map[string]*Key{}} }

func (m *memStore) InsertKey(k *Key, ev AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.keys[k.ID]; ok {
		return ErrDuplicate
	}
	m.keys[k.ID] = k.Clone()
	m.audit = append(m.audit, ev)
	return nil
}

func (m *memStore) UpdateKey(k *Key, ev AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.keys[k.ID]; !ok {
		return ErrNotFound
	}
	m.keys[k.ID] = k.Clone()
	m.audit = append(m.audit, ev)
	return nil
}

func (m *memStore) DeleteKey(id string, ev AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.keys[id]; !ok {
		return ErrNotFound
	}
	delete(m.keys, id)
	m.audit = append(m.audit, ev)
	return nil
}

// RollKey follows KeyRoller: all or nothing.
func (m *memStore) RollKey(old, nk *Key, ev AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	cur, ok := m.keys[old.ID]
	switch {
	case !ok:
		return ErrNotFound
	case cur.RolledTo != "":
		return ErrAlreadyRolled
	}
	if _, ok := m.keys[nk.ID]; ok {
		return ErrDuplicate
	}
	for _, k := range m.keys {
		if string(k.Digest) == string(nk.Digest) {
			return ErrDuplicate
		}
	}
	m.keys[old.ID] = old.Clone()
	m.keys[nk.ID] = nk.Clone()
	m.audit = append(m.audit, ev)
	return nil
}

func (m *memStore) GetKey(id string) (*Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return nil, ErrNotFound
	}
	return k.Clone(), nil
}

func (m *memStore) ListKeys() ([]*Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Key
	for _, k := range m.keys {
		out = append(out, k.Clone())
	}
	return out, nil
}

func (m *memStore) KeysExpiring(after, until time.Time) ([]*Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Key
	for _, k := range m.keys {
		if k.ExpiresAt.After(after) && !k.ExpiresAt.After(until) {
			out = append(out, k.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].ExpiresAt.Compare(out[j].ExpiresAt); c != 0 {
			return c < 0
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (m *memStore) SetLastUsed(times map[string]time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.writes++
	for id, t := range times {
		if k, ok := m.keys[id]; ok {
			k.LastUsedAt = t
		}
	}
	return nil
}

func (m *memStore) AppendAudit(ev AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audit = append(m.audit, ev)
	return nil
}

// hmacSigner is a Signer with fixed keys.
type hmacSigner struct{ digestKey, macKey []byte }

func newSigner() hmacSigner {
	return hmacSigner{digestKey: []byte("digest-key-for-tests-0123456789a"), macKey: []byte("record-key-for-tests-0123456789a")}
}

func (s hmacSigner) DigestSecret(secret string) []byte {
	h := hmac.New(sha256.New, s.digestKey)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

func (s hmacSigner) SignRecord(p []byte) []byte {
	h := hmac.New(sha256.New, s.macKey)
	h.Write(p)
	return h.Sum(nil)
}

func (s hmacSigner) VerifyRecord(p, mac []byte) bool { return hmac.Equal(s.SignRecord(p), mac) }

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

func newTestService(t *testing.T) (*Service, *memStore, *clocktest.Clock) {
	t.Helper()
	st := newMemStore()
	clk := clocktest.New(t0)
	svc, err := NewService(st, newSigner(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.Actor = "tester"
	return svc, st, clk
}

var errDisk = errors.New("disk full")
