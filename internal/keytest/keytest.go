// Package keytest builds the key records and create requests that the
// store tests use, without going through core.Service. It imports only
// core, so that every store's tests can share it: storage's own tests
// cannot import internal/storetest, which imports storage.
package keytest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/keydesk/keydesk/core"
)

// Key builds a global key expiring at expires, with a digest and MAC
// derived from id.
func Key(id string, expires time.Time) *core.Key {
	return &core.Key{
		ID:          id,
		Name:        "key " + id,
		Digest:      []byte("digest-of-" + id),
		Hint:        "kdk_abc",
		Permissions: core.Permissions{Kind: core.KindGlobal},
		Scopes:      []string{core.GlobalScope},
		CreatedAt:   expires.Add(-time.Hour),
		ExpiresAt:   expires,
		MAC:         []byte("mac-of-" + id),
	}
}

// Bench returns the i-th record of a benchmark store, shaped like a real
// one (32-byte digest and MAC, one section, its scope) with a random id,
// created at created and expiring between 2 and 366 days later. Its MAC is
// random: a benchmark that opens the store through a signer signs it.
func Bench(i int, created time.Time) *core.Key {
	var id [8]byte
	digest, mac := make([]byte, 32), make([]byte, 32)
	rand.Read(id[:])
	rand.Read(digest)
	rand.Read(mac)
	return &core.Key{
		ID:          hex.EncodeToString(id[:]),
		Name:        fmt.Sprintf("Bench key %d", i),
		Digest:      digest,
		Hint:        "kdk_live_ab…wxyz",
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessFull}},
		Scopes:      []string{"messaging:*"},
		CreatedAt:   created,
		ExpiresAt:   created.Add(time.Duration(i%365+2) * 24 * time.Hour),
		MAC:         mac,
	}
}

// SectionRequest asks for a key named name with full access to messaging
// and read access to users, for 30 days.
func SectionRequest(name string) core.CreateRequest {
	return core.CreateRequest{
		Name:        name,
		Lifetime:    core.Lifetime{Duration: 30 * 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessFull, "users": core.AccessRead}},
	}
}
