package storetest_test

import (
	"testing"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
)

// TestMemStore runs the store contract on the in-memory double, so that
// tests using it see a store that behaves as the real ones.
func TestMemStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return storetest.NewMemStore() })
}
