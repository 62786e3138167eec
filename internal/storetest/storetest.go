// Package storetest is the contract of core.Store, run against every
// implementation (the local bbolt store and the shared PostgreSQL store) so
// that both behave alike: records come back whole, duplicates and unknown
// ids fail with core.ErrDuplicate and core.ErrNotFound and write nothing,
// the expiry window is (after, until] soonest first, last-used times only
// move forward, and every change writes its audit entry in its own
// transaction. Stores that also keep settings, digest state or an audit
// listing are checked on those too.
//
// It also holds the store doubles every package's tests share: MemStore,
// an in-memory store that passes the same contract, and OpenBbolt, a real
// bbolt store checked at the end of the test (bbolt's btesting style).
//
// Files: storetest.go runs the contract (Run) and holds what its checks
// share; keys.go, audit.go, settings.go (settings and digest state),
// service.go (core.Service over the store) and usage.go check what their
// names say, as package storage lays its store out.
package storetest

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
)

// Opener returns a new, empty store; the test closes it in t.Cleanup.
type Opener func(t *testing.T) core.Store

// Auditor is a store that lists its audit log, newest first.
type Auditor interface {
	Audit() ([]core.AuditEvent, error)
}

// SettingsStore is a store that keeps settings.
type SettingsStore interface {
	Setting(name string) ([]byte, error)
	PutSetting(name string, value []byte, ev core.AuditEvent) error
}

// DigestStateStore is a store that keeps the last delivered digest slot.
type DigestStateStore interface {
	LastDeliveredSlot() (time.Time, error)
	MarkSlotDelivered(slot time.Time, ev core.AuditEvent) error
}

// T0 is the fixed time the suite's records are built around.
var T0 = time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)

// Run runs the contract against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s core.Store)
	}{
		{"InsertGetListUpdateDelete", testCRUD},
		{"RecordsComeBackWhole", testWhole},
		{"DuplicateIDOrDigest", testDuplicate},
		{"NotFound", testNotFound},
		{"UpdateToTakenDigest", testUpdateTakenDigest},
		{"ExpiryWindow", testExpiry},
		{"SetLastUsedLatestWins", testLastUsed},
		{"AuditInSameTransaction", testAudit},
		{"KeyAudit", testKeyAudit},
		{"Settings", testSettings},
		{"DigestState", testDigestState},
		{"ServiceRoundTrip", testService},
		{"RollKey", testRoll},
		{"Usage", testUsage},
		{"UsageRecorder", testUsageRecorder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Event is an audit event at a whole second (every store keeps those
// exactly).
func Event(action core.AuditAction, id string) core.AuditEvent {
	return core.AuditEvent{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Actor: "tester", Action: action, KeyID: id, KeyName: "key " + id}
}

// Equal reports how got differs from want, or "" when they are the same
// record (times compared as instants).
func Equal(got, want *core.Key) string {
	switch {
	case got == nil:
		return "nil record"
	case got.ID != want.ID:
		return fmt.Sprintf("id %q, want %q", got.ID, want.ID)
	case got.Name != want.Name:
		return fmt.Sprintf("name %q, want %q", got.Name, want.Name)
	case !bytes.Equal(got.Digest, want.Digest):
		return "digest differs"
	case got.Hint != want.Hint:
		return fmt.Sprintf("hint %q, want %q", got.Hint, want.Hint)
	case got.Permissions.Kind != want.Permissions.Kind:
		return fmt.Sprintf("kind %q, want %q", got.Permissions.Kind, want.Permissions.Kind)
	case !maps.Equal(got.Permissions.Sections, want.Permissions.Sections):
		return fmt.Sprintf("sections %v, want %v", got.Permissions.Sections, want.Permissions.Sections)
	case !slices.Equal(got.Permissions.Operations, want.Permissions.Operations):
		return fmt.Sprintf("operations %v, want %v", got.Permissions.Operations, want.Permissions.Operations)
	case !slices.Equal(got.Scopes, want.Scopes):
		return fmt.Sprintf("scopes %v, want %v", got.Scopes, want.Scopes)
	case !got.CreatedAt.Equal(want.CreatedAt):
		return fmt.Sprintf("created %v, want %v", got.CreatedAt, want.CreatedAt)
	case !got.ExpiresAt.Equal(want.ExpiresAt):
		return fmt.Sprintf("expires %v, want %v", got.ExpiresAt, want.ExpiresAt)
	case !got.LastUsedAt.Equal(want.LastUsedAt):
		return fmt.Sprintf("last used %v, want %v", got.LastUsedAt, want.LastUsedAt)
	case got.RolledFrom != want.RolledFrom || got.RolledTo != want.RolledTo:
		return fmt.Sprintf("rolled from %q to %q, want from %q to %q", got.RolledFrom, got.RolledTo, want.RolledFrom, want.RolledTo)
	case !bytes.Equal(got.MAC, want.MAC):
		return "MAC differs"
	}
	return ""
}

func ids(keys []*core.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}

func mustInsert(t *testing.T, s core.Store, keys ...*core.Key) {
	t.Helper()
	for _, k := range keys {
		if err := s.InsertKey(k, Event(core.ActionCreate, k.ID)); err != nil {
			t.Fatalf("InsertKey %s: %v", k.ID, err)
		}
	}
}

// ability returns s as an A, the optional ability a check is about, or
// skips the check on a store that lacks it: "the store " + lacks.
func ability[A any](t *testing.T, s core.Store, lacks string) A {
	t.Helper()
	a, ok := s.(A)
	if !ok {
		t.Skip("the store " + lacks)
	}
	return a
}

// auditLen returns the length of the audit log, or -1 when s has none.
func auditLen(t *testing.T, s core.Store) int {
	t.Helper()
	a, ok := s.(Auditor)
	if !ok {
		return -1
	}
	evs, err := a.Audit()
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	return len(evs)
}
