package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
	"testing"
)

// arrayDigester is hmacSigner with a SecretDigester that does not allocate
// (one keyed state behind a lock), as the stores' signers have.
type arrayDigester struct {
	hmacSigner
	mu  *sync.Mutex
	h   hash.Hash
	buf *[]byte
	sum *[sha256.Size]byte
}

func newArrayDigester() arrayDigester {
	s := newSigner()
	buf := make([]byte, 0, 128)
	return arrayDigester{hmacSigner: s, mu: new(sync.Mutex), h: hmac.New(sha256.New, s.digestKey), buf: &buf, sum: new([sha256.Size]byte)}
}

func (d arrayDigester) SecretDigest(secret string) [sha256.Size]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	*d.buf = append((*d.buf)[:0], secret...)
	d.h.Reset()
	d.h.Write(*d.buf)
	d.h.Sum(d.sum[:0])
	return *d.sum
}

// TestVerifyDoesNotAllocate: with a SecretDigester, a verification (of an
// allowed key, a forbidden one, an unknown one and a malformed one, and a
// use) allocates nothing.
func TestVerifyDoesNotAllocate(t *testing.T) {
	st := newMemStore()
	svc, err := NewService(st, newArrayDigester(), FixedClock(t0), nil)
	if err != nil {
		t.Fatal(err)
	}
	k, secret := mustCreate(t, svc, CreateRequest{Name: "reader", Permissions: sections(map[string]Access{"messaging": AccessRead})})
	list, _ := svc.Catalog().Operation("messaging.channels.list")
	create, _ := svc.Catalog().Operation("messaging.channels.create")
	unknown, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		secret string
		target Target
		want   Reason
	}{
		{secret, Target{Operation: list}, ReasonOK},
		{secret, Target{Operation: create}, ReasonForbidden},
		{secret, Target{}, ReasonOK},
		{unknown, Target{Operation: list}, ReasonUnknown},
		{secret[:20], Target{}, ReasonMalformed},
	}
	for _, c := range cases {
		if v := svc.VerifyUse(c.secret, c.target); v.Reason != c.want {
			t.Fatalf("VerifyUse = %s, want %s", v.Reason, c.want)
		}
		if n := testing.AllocsPerRun(100, func() {
			svc.Verify(c.secret, c.target)
			svc.VerifyUse(c.secret, c.target)
		}); n != 0 {
			t.Errorf("verifying (%s) allocates %v times", c.want, n)
		}
	}
	if v := svc.VerifyUse(secret, Target{}); v.Key == nil || v.Key.ID != k.ID || !v.LastUsedAt.Equal(t0) {
		t.Fatalf("VerifyUse = %+v", v)
	}
}
