package core

import (
	"testing"
	"time"
)

// slowStore is a memStore whose changes wait for release: a shared store
// whose server is slow to answer.
type slowStore struct {
	*memStore
	entered chan struct{}
	release chan struct{}
}

func (s slowStore) wait() {
	s.entered <- struct{}{}
	<-s.release
}

func (s slowStore) UpdateKey(k *Key, ev AuditEvent) error {
	s.wait()
	return s.memStore.UpdateKey(k, ev)
}

func (s slowStore) DeleteKey(id string, ev AuditEvent) error {
	s.wait()
	return s.memStore.DeleteKey(id, ev)
}

func (s slowStore) RollKey(old, nk *Key, ev AuditEvent) error {
	s.wait()
	return s.memStore.RollKey(old, nk, ev)
}

// TestChangesDoNotHoldTheIndexAcrossTheStoreWrite: while Rename, Roll or
// Delete waits on the store, verifications and lists answer (they stalled
// on the service's lock before), and the change lands once the store
// answers.
func TestChangesDoNotHoldTheIndexAcrossTheStoreWrite(t *testing.T) {
	for _, change := range []struct {
		name string
		do   func(svc *Service, id string) error
		then func(t *testing.T, svc *Service, secret string)
	}{
		{"rename", func(svc *Service, id string) error { _, err := svc.Rename(id, "renamed"); return err },
			func(t *testing.T, svc *Service, secret string) {
				if v := svc.Verify(secret, Target{}); v.Key == nil || v.Key.Name != "renamed" {
					t.Errorf("after the rename: %+v", v)
				}
			}},
		{"roll", func(svc *Service, id string) error { _, err := svc.Roll(id, 0); return err },
			func(t *testing.T, svc *Service, secret string) {
				if v := svc.Verify(secret, Target{}); v.Allowed {
					t.Errorf("the old key still verifies after a roll with no grace: %+v", v)
				}
			}},
		{"delete", func(svc *Service, id string) error { _, err := svc.Delete(id); return err },
			func(t *testing.T, svc *Service, secret string) {
				if v := svc.Verify(secret, Target{}); v.Valid {
					t.Errorf("a deleted key verifies: %+v", v)
				}
			}},
	} {
		t.Run(change.name, func(t *testing.T) {
			svc, mem, _ := newTestService(t)
			k, secret := mustCreate(t, svc, CreateRequest{Name: "slow", Permissions: Permissions{Kind: KindGlobal}, Lifetime: Lifetime{Duration: 7 * 24 * time.Hour}})
			st := slowStore{memStore: mem, entered: make(chan struct{}), release: make(chan struct{})}
			svc.store = st
			done := make(chan error)
			go func() { done <- change.do(svc, k.ID) }()
			<-st.entered // the change is waiting on the store
			if v := svc.Verify(secret, Target{}); !v.Allowed {
				t.Errorf("while the store is busy, the key does not verify: %+v", v)
			}
			if n := len(svc.List()); n != 1 {
				t.Errorf("while the store is busy, List has %d keys", n)
			}
			close(st.release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			change.then(t, svc, secret)
		})
	}
}
