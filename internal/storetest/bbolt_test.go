package storetest_test

import (
	"path/filepath"
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/storage"
)

// TestBbolt runs the store contract on the local store: a real bbolt file
// under t.TempDir().
func TestBbolt(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store {
		return storetest.OpenBbolt(t, filepath.Join(t.TempDir(), "data"))
	})
}

// The contract's KeyAudit test runs on both real stores.
var (
	_ storetest.KeyAuditor = (*storage.Store)(nil)
	_ storetest.KeyAuditor = (*pgstore.Store)(nil)
)
