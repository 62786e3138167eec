package workspace

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/storage"
)

// TestFollowKeepsTheWindowsServiceCurrent: a workspace following the
// shared store hears, by id, of another admin's create and delete, and
// finds them in its own service (the replica keeps that one, no copy); its
// own changes are not announced back to it. On a data folder Follow ends
// at once.
func TestFollowKeepsTheWindowsServiceCurrent(t *testing.T) {
	u := storetest.PGDatabase(t, "follow")
	kr := storage.NewMemoryKeyring()
	if _, err := InitShared(Options{StoreURL: u, Keyring: kr}, ""); err != nil {
		t.Fatal(err)
	}
	win := open(t, Options{StoreURL: u, Keyring: kr})
	other := open(t, Options{StoreURL: u, Keyring: kr})
	if win.replica == nil || win.replica.Service() != win.Service() {
		t.Fatal("the window's service is not the one its replica keeps current")
	}
	ids := make(chan []string, 64)
	status := make(chan bool, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := win.Follow(ctx, func(s []string) { ids <- s }, func(stale bool) { status <- stale })
	defer func() { cancel(); <-done }()
	select {
	case stale := <-status:
		if stale {
			t.Fatal("the first status says stale while PostgreSQL is up")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no first status in 10 s")
	}
	await := func(id string) []string {
		t.Helper()
		var seen []string
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-ids:
				seen = append(seen, s...)
				if slices.Contains(s, id) {
					return seen
				}
			case <-deadline:
				t.Fatalf("%s not announced in 10 s (seen %v)", id, seen)
			}
		}
	}
	mine, _, err := win.Service().Create(sectionsReq)
	if err != nil {
		t.Fatal(err)
	}
	theirs, _, err := other.Service().Create(sectionsReq)
	if err != nil {
		t.Fatal(err)
	}
	if seen := await(theirs.ID); slices.Contains(seen, mine.ID) {
		t.Fatalf("the window's own key was announced back to it: %v", seen)
	}
	if _, err := win.Service().Get(theirs.ID); err != nil {
		t.Fatalf("another admin's key in the window's service: %v", err)
	}
	if _, err := other.Service().Delete(theirs.ID); err != nil {
		t.Fatal(err)
	}
	await(theirs.ID)
	if _, err := win.Service().Get(theirs.ID); err == nil {
		t.Fatal("another admin's deleted key is still in the window's service")
	}

	folder := open(t, Options{Dir: t.TempDir(), Keyring: storage.NewMemoryKeyring()})
	select {
	case <-folder.Follow(context.Background(), func([]string) {}, func(bool) {}):
	case <-time.After(10 * time.Second):
		t.Fatal("Follow on a data folder did not end")
	}
}
