package seal

import (
	"bytes"
	"crypto/ed25519"
	"testing"
)

// The shared store's material derives from the master key alone: the same
// master on another computer (credential import) gives the same keys, the
// secret digest equals the local store's (so keys issued locally keep
// verifying after store init --from), and the verify-only part checks but
// cannot make signatures.
func TestEdSignerDerivation(t *testing.T) {
	master := bytes.Repeat([]byte{9}, MasterKeySize)
	local, shared, err := MasterSigners(master)
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewEdSigner(master)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared.PublicKey(), again.PublicKey()) {
		t.Fatal("the Ed25519 key is not derived deterministically")
	}
	if !bytes.Equal(local.DigestSecret("kdk_secret"), shared.DigestSecret("kdk_secret")) {
		t.Fatal("the shared store digests secrets differently from the local store")
	}
	other, err := NewEdSigner(bytes.Repeat([]byte{8}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("record payload")
	sig := shared.SignRecord(payload)
	v, err := NewEdVerifier(shared.Verifier().Material())
	if err != nil {
		t.Fatal(err)
	}
	if !v.VerifyRecord(payload, sig) || other.VerifyRecord(payload, sig) || v.VerifyRecord(payload, local.SignRecord(payload)) {
		t.Fatal("record signatures do not check as they should")
	}
	if v.SetElement("id", sig) != shared.SetElement("id", sig) || v.SetElement("id", sig) == other.SetElement("id", sig) {
		t.Fatal("set elements are not keyed by the store's set key")
	}
	var set Set
	set.Add(shared.SetElement("id", sig))
	st := shared.SignState("s", 1, &set)
	if !v.VerifyState("s", 1, &set, st) || v.VerifyState("s", 2, &set, st) || v.VerifyState("t", 1, &set, st) || other.VerifyState("s", 1, &set, st) {
		t.Fatal("state signatures do not check as they should")
	}
	var empty Set
	if v.VerifyState("s", 1, &empty, st) || v.VerifyRecord(StateMessage("s", 1, &set), sig) || v.VerifyState("s", 1, &set, sig) {
		t.Fatal("a state signature passes for another set, or for a record signature")
	}
	cat := [32]byte{1}
	cst := shared.SignCatalogState("s", 1, &set, cat)
	if !v.VerifyCatalogState("s", 1, &set, cat, cst) || v.VerifyCatalogState("s", 1, &set, [32]byte{}, cst) ||
		v.VerifyCatalogState("s", 2, &set, cat, cst) || v.VerifyCatalogState("s", 1, &empty, cat, cst) {
		t.Fatal("state signatures of format 4 do not check as they should")
	}
	if v.VerifyState("s", 1, &set, cst) || v.VerifyCatalogState("s", 1, &set, [32]byte{}, st) {
		t.Fatal("a state signature of format 4 passes for one of format 3, or the other way round")
	}
	xs := XorSet{Count: set.Count}
	if v.VerifyLegacyState("s", 1, &xs, st) {
		t.Fatal("a state signature of format 3 passes for one of format 2")
	}
	if _, err := NewEdVerifier(VerifyMaterial{}); err == nil {
		t.Fatal("empty verification material accepted")
	}
}

// ed25519Sign signs msg with s's private key (the benchmarks' stand-in for
// the signature of a format 2 state, which no program path makes now).
func ed25519Sign(s *EdSigner, msg []byte) []byte { return ed25519.Sign(s.priv, msg) }
