package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/storetest"
)

// TestRenameAndDeleteFromTwoComputers: two admins (two stores, two
// connection pools) rename and delete the same keys at once. Each key ends
// in one consistent state: deleted, with a rename that either came first
// (and is in the audit log and the change sequence before the delete) or
// was refused as not found; and two renames of one key leave one whole,
// correctly signed record with one of the two names.
func TestRenameAndDeleteFromTwoComputers(t *testing.T) {
	a, u := newStore(t)
	b, err := Open(context.Background(), u, Options{OSUser: "bob", Host: "bobs-laptop"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	signer := newSigner()
	sign := func(k *core.Key, name string) *core.Key {
		c := k.Clone()
		c.Name = name
		c.MAC = signer.SignRecord(c.MACPayload())
		return c
	}
	const n = 40
	var keys []*core.Key
	for i := range n {
		k := sign(keytest.Key(fmt.Sprintf("key%02d", i), storetest.T0), fmt.Sprintf("key %d", i))
		if err := a.InsertKey(k, storetest.Event(core.ActionCreate, k.ID)); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	_, changes, statuses := startFollower(t, a, n, FollowOptions{})
	expectStatus(t, statuses, true)

	// Keys 0..n/2-1: rename on a, delete on b. Keys n/2..n-1: rename on both.
	renamed := make([]error, n)
	deleted := make([]error, n)
	renamedB := make([]error, n)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() {
			renamed[i] = a.UpdateKey(sign(k, "by alice"), storetest.Event(core.ActionRename, k.ID))
		})
		wg.Go(func() {
			if i < n/2 {
				deleted[i] = b.DeleteKey(k.ID, storetest.Event(core.ActionDelete, k.ID))
			} else {
				renamedB[i] = b.UpdateKey(sign(k, "by bob"), storetest.Event(core.ActionRename, k.ID))
			}
		})
	}
	wg.Wait()

	// The change sequence, as a follower sees it.
	var events int
	for i := range n {
		if i < n/2 {
			events++ // the delete
			if renamed[i] == nil {
				events++
			}
		} else {
			events += 2
		}
	}
	order := map[string][]string{}
	for range events {
		c := within(t, changes, wait, "a change")
		order[c.Name] = append(order[c.Name], c.Op)
	}
	for i, k := range keys {
		got, gerr := a.GetKey(k.ID)
		if i < n/2 {
			if deleted[i] != nil {
				t.Fatalf("%s: delete failed: %v", k.ID, deleted[i])
			}
			if !errors.Is(gerr, core.ErrNotFound) {
				t.Fatalf("%s: still there after its delete: %v", k.ID, gerr)
			}
			want := []string{OpDelete}
			switch {
			case renamed[i] == nil:
				want = []string{OpUpdate, OpDelete}
			case !errors.Is(renamed[i], core.ErrNotFound):
				t.Fatalf("%s: rename failed with %v, want success or ErrNotFound", k.ID, renamed[i])
			}
			if fmt.Sprint(order[k.ID]) != fmt.Sprint(want) {
				t.Fatalf("%s: changes %v, want %v", k.ID, order[k.ID], want)
			}
			continue
		}
		if gerr != nil || renamed[i] != nil || renamedB[i] != nil {
			t.Fatalf("%s: %v / %v / %v", k.ID, gerr, renamed[i], renamedB[i])
		}
		if got.Name != "by alice" && got.Name != "by bob" {
			t.Fatalf("%s: name %q", k.ID, got.Name)
		}
		if !signer.VerifyRecord(got.MACPayload(), got.MAC) {
			t.Fatalf("%s: the record left by two renames is not whole (MAC mismatch)", k.ID)
		}
	}
	if err := a.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, err := a.AuditEntries(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n+events {
		t.Fatalf("%d audit entries, want %d creates and %d changes", len(entries), n, events)
	}
}
