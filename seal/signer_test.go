package seal

import (
	"bytes"
	"testing"

	"github.com/keydesk/keydesk/core"
)

// testMaster is a fixed master key for tests.
var testMaster = bytes.Repeat([]byte{0x5a}, MasterKeySize)

func TestSignerDerivation(t *testing.T) {
	a, err := NewSigner(testMaster)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSigner(testMaster)
	other, _ := NewSigner(bytes.Repeat([]byte{1}, MasterKeySize))
	const secret = "kdk_example"
	if !bytes.Equal(a.DigestSecret(secret), b.DigestSecret(secret)) {
		t.Fatal("the same master key must give the same digests")
	}
	if bytes.Equal(a.DigestSecret(secret), other.DigestSecret(secret)) {
		t.Fatal("different master keys must give different digests")
	}
	if bytes.Equal(a.DigestSecret(secret), a.SignRecord([]byte(secret))) {
		t.Fatal("digest and record keys must differ")
	}
	if st := a.stateMAC([]byte(secret)); bytes.Equal(st, a.SignRecord([]byte(secret))) || bytes.Equal(st, a.DigestSecret(secret)) {
		t.Fatal("the state key must differ from the digest and record keys")
	}
	mac := a.SignRecord([]byte("payload"))
	if !a.VerifyRecord([]byte("payload"), mac) || a.VerifyRecord([]byte("payloaD"), mac) || other.VerifyRecord([]byte("payload"), mac) {
		t.Fatal("VerifyRecord accepts only the right payload and key")
	}
	if _, err := NewSigner(testMaster[:16]); err == nil {
		t.Fatal("NewSigner accepted a 128-bit master key")
	}
}

func BenchmarkDigestSecret(b *testing.B) {
	s, _ := NewSigner(testMaster)
	const secret = "kdk_7FqZ0b1c2d3e4f5g6h7i8j9k0lAmBnCoDpEqFrGsHt000000"
	b.ReportAllocs()
	for b.Loop() {
		s.DigestSecret(secret)
	}
}

// TestSecretDigestMatchesAndDoesNotAllocate: the array form of the digest
// is the same HMAC as DigestSecret and allocates nothing (it is on the
// verification path).
func TestSecretDigestMatchesAndDoesNotAllocate(t *testing.T) {
	s, err := NewSigner(testMaster)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := core.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := s.SecretDigest(secret)
	if !bytes.Equal(d[:], s.DigestSecret(secret)) {
		t.Fatal("SecretDigest differs from DigestSecret")
	}
	if raceEnabled {
		return // the race detector's sync.Pool drops pooled states at random
	}
	if n := testing.AllocsPerRun(100, func() { s.SecretDigest(secret) }); n != 0 {
		t.Fatalf("SecretDigest allocates %v times", n)
	}
}
