package seal

import (
	"bytes"
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
	if shared.Mask("s", 1, &set) == shared.Mask("s", 2, &set) || shared.Mask("s", 1, &set) == other.Mask("s", 1, &set) {
		t.Fatal("state masks repeat")
	}
	if back := shared.Unmask("s", 1, shared.Mask("s", 1, &set), 1); !back.Equal(&set) {
		t.Fatal("Unmask does not give back the masked set")
	}
	if _, err := NewEdVerifier(VerifyMaterial{}); err == nil {
		t.Fatal("empty verification material accepted")
	}
}
