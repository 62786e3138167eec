package keytest

import (
	"os"
	"testing"

	"github.com/keydesk/keydesk/core"
)

// Create creates a key from req with svc and returns it with its secret;
// a failure fails the test.
func Create(tb testing.TB, svc *core.Service, req core.CreateRequest) (*core.Key, string) {
	tb.Helper()
	k, secret, err := svc.Create(req)
	if err != nil {
		tb.Fatalf("create %q: %v", req.Name, err)
	}
	return k, secret
}

// KeyringTestsEnv enables the tests that use the real OS keyring.
const KeyringTestsEnv = "KEYDESK_KEYRING_TESTS"

// RequireKeyring skips the test unless the real OS keyring is to be used.
// Run such tests with a private Secret Service (scripts/with-keyring.sh
// sets KEYDESK_KEYRING_TESTS=1), e.g.
//
//	CGO_ENABLED=0 scripts/with-keyring.sh go test -tags ci,migrated_fynedo ./storage/ ./workspace/
func RequireKeyring(tb testing.TB) {
	tb.Helper()
	if os.Getenv(KeyringTestsEnv) != "1" {
		tb.Skip("real OS keyring test: set " + KeyringTestsEnv + "=1 and run under a Secret Service (see make test)")
	}
}
