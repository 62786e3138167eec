package core

import (
	"testing"
	"time"
	"unsafe"

	"github.com/keydesk/keydesk/internal/clocktest"
)

// prefixSigner is hmacSigner whose digests all begin with the same 8
// bytes: every record lands in one chain of the digest index.
type prefixSigner struct{ hmacSigner }

func (s prefixSigner) DigestSecret(secret string) []byte {
	d := s.hmacSigner.DigestSecret(secret)
	clear(d[:8])
	return d
}

// Records whose digests share the index's 8-byte map key are told apart
// by their whole digest: each verifies as itself, and removing one (the
// one in the first map, or a collided one), renaming or rolling one leaves
// the others verifying.
func TestDigestIndexChains(t *testing.T) {
	st := newMemStore()
	clk := clocktest.New(t0)
	svc, err := NewService(st, prefixSigner{newSigner()}, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := CreateRequest{Name: "chained", Lifetime: Lifetime{Duration: 30 * 24 * time.Hour}, Permissions: sections(map[string]Access{"messaging": AccessRead})}
	var ids, secrets []string
	for range 6 {
		k, secret, err := svc.Create(req)
		if err != nil {
			t.Fatal(err)
		}
		ids, secrets = append(ids, k.ID), append(secrets, secret)
	}
	if len(svc.byDigest) != 1 || len(svc.collided) != 5 {
		t.Fatalf("%d entries in the first map, %d collided, want 1 and 5", len(svc.byDigest), len(svc.collided))
	}
	check := func(gone map[int]bool) {
		t.Helper()
		for i, secret := range secrets {
			v := svc.Verify(secret, Target{})
			switch {
			case gone[i] && v.Reason != ReasonUnknown:
				t.Fatalf("deleted key %d verifies: %s", i, v.Reason)
			case !gone[i] && (v.Reason != ReasonOK || v.Key.ID != ids[i]):
				t.Fatalf("key %d: %s (%v)", i, v.Reason, v.Key)
			}
		}
		checkIdleRows(t, svc)
	}
	check(nil)
	gone := map[int]bool{}
	for _, i := range []int{0, 2, 5} { // the first map's (the first created), then collided ones
		if _, err := svc.Delete(ids[i]); err != nil {
			t.Fatal(err)
		}
		gone[i] = true
		check(gone)
	}
	if _, err := svc.Rename(ids[3], "renamed"); err != nil {
		t.Fatal(err)
	}
	check(gone)
	r, err := svc.Roll(ids[4], 0)
	if err != nil {
		t.Fatal(err)
	}
	ids, secrets = append(ids, r.New.ID), append(secrets, r.Secret)
	gone[4] = false
	if v := svc.Verify(secrets[4], Target{}); v.Reason != ReasonExpired {
		t.Fatalf("the rolled key with no grace: %s", v.Reason)
	}
	secrets[4] = r.Secret // the old one is checked above
	ids[4] = r.New.ID
	check(gone)
}

// A record whose digest is not an HMAC-SHA256 digest (written into the
// store by someone else: no presented key can match it) is listed and can
// be deleted, and leaves the others verifying, loaded at once or lazily.
func TestRecordWithAShortDigest(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		svc, st, clk := newTestService(t)
		k, secret, err := svc.Create(CreateRequest{Name: "real", Lifetime: Lifetime{Duration: 24 * time.Hour}, Permissions: sections(map[string]Access{"messaging": AccessRead})})
		if err != nil {
			t.Fatal(err)
		}
		odd := k.Clone()
		odd.ID, odd.Digest = "0123456789abcdef", odd.Digest[:5]
		odd.MAC = newSigner().SignRecord(odd.MACPayload())
		st.keys[odd.ID] = odd
		open := NewService
		if lazy {
			open = NewLazyService
		}
		if svc, err = open(st, newSigner(), clk, nil); err != nil {
			t.Fatal(err)
		}
		if n := len(svc.List()); n != 2 {
			t.Fatalf("lazy %v: %d keys listed, want 2", lazy, n)
		}
		checkIdleRows(t, svc)
		if v := svc.Verify(secret, Target{}); v.Reason != ReasonOK || v.Key.ID != k.ID {
			t.Fatalf("lazy %v: the real key: %s", lazy, v.Reason)
		}
		if _, err := svc.Delete(odd.ID); err != nil {
			t.Fatalf("lazy %v: delete: %v", lazy, err)
		}
		checkIdleRows(t, svc)
		if v := svc.Verify(secret, Target{}); v.Reason != ReasonOK {
			t.Fatalf("lazy %v: the real key after the delete: %s", lazy, v.Reason)
		}
	}
}

// An index entry stays within the 80-byte size class (100,000 keys: 1.6 MB
// more for each class above).
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 80 {
		t.Fatalf("an index entry is %d bytes, more than 80", n)
	}
}

// Ids that are not 16 lowercase hex digits (records written by something
// else) are found by their string: an upper-case id and its lower-case
// twin are two keys, each found, renamed and deleted on its own.
func TestIDsOfOtherShapes(t *testing.T) {
	svc, st, clk := newTestService(t)
	k, _, err := svc.Create(CreateRequest{Name: "made here", Lifetime: Lifetime{Duration: 24 * time.Hour}, Permissions: sections(map[string]Access{"messaging": AccessRead})})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := hexID(k.ID); !ok {
		t.Fatalf("a created key's id %q is not 16 lowercase hex digits", k.ID)
	}
	ids := []string{"abcdef0123456789", "ABCDEF0123456789", "k1", "abcdef012345678g"}
	for _, id := range ids {
		c := k.Clone()
		c.ID, c.Name = id, "other "+id
		c.Digest = newSigner().DigestSecret("secret " + id)
		c.MAC = newSigner().SignRecord(c.MACPayload())
		st.keys[id] = c
	}
	svc, err = NewService(st, newSigner(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(svc.List()); n != 5 {
		t.Fatalf("%d keys listed, want 5", n)
	}
	for _, id := range ids {
		if got, err := svc.Get(id); err != nil || got.Name != "other "+id {
			t.Fatalf("Get(%s) = %v, %v", id, got, err)
		}
	}
	if _, err := svc.Rename(ids[1], "renamed"); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.Get(ids[0]); got.Name != "other "+ids[0] {
		t.Fatalf("renaming %s renamed %s: %q", ids[1], ids[0], got.Name)
	}
	if _, err := svc.Delete(ids[0]); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.Get(ids[1]); err != nil || got.Name != "renamed" {
		t.Fatalf("deleting %s: Get(%s) = %v, %v", ids[0], ids[1], got, err)
	}
	if n := len(svc.List()); n != 4 {
		t.Fatalf("%d keys listed after a delete, want 4", n)
	}
	checkIdleRows(t, svc)
}
