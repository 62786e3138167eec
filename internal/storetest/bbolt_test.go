package storetest_test

import (
	"path/filepath"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/storage"
)

// TestBbolt runs the store contract on the local store: a real bbolt file
// under t.TempDir().
func TestBbolt(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store {
		s, err := storage.Open(filepath.Join(t.TempDir(), "data"), storage.Options{})
		if err != nil {
			t.Fatalf("storage.Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
