package storetest

import (
	"errors"
	"testing"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/keydesk/keydesk/storage"
)

// OpenBbolt opens (creating it) the local store in dir, a folder under
// t.TempDir() or b.TempDir(). At the end of the test, unless the test
// closed it, it checks the database (bbolt's page checks and the store's
// index checks, storage.Store.Check) and closes it, as bbolt's btesting
// does: a change that left the file inconsistent fails the test that made
// it.
func OpenBbolt(t testing.TB, dir string) *storage.Store {
	t.Helper()
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Check(); errors.Is(err, berrors.ErrDatabaseNotOpen) {
			return // the test closed it
		} else if err != nil {
			t.Errorf("database check at the end of the test: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close the store at the end of the test: %v", err)
		}
	})
	return s
}
