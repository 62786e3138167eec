package storetest_test

import (
	"path/filepath"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
)

// TestBbolt runs the store contract on the local store: a real bbolt file
// under t.TempDir().
func TestBbolt(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store {
		return storetest.OpenBbolt(t, filepath.Join(t.TempDir(), "data"))
	})
}
