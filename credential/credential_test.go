package credential

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/seal"
)

var master = bytes.Repeat([]byte{7}, seal.MasterKeySize)

func TestAdminCredentialRoundTrip(t *testing.T) {
	data, err := Encode(Admin("store1", master), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !Encrypted(data) || bytes.Contains(data, []byte("master")) {
		t.Fatalf("the admin credential is not encrypted:\n%s", data)
	}
	c, err := Decode(data, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != KindAdmin || c.StoreID != "store1" || !bytes.Equal(c.Master, master) {
		t.Fatalf("decoded %+v", c)
	}
	if _, err := Decode(data, "wrong horse battery"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	// The same envelope as a backup: envelope opens it, kind "credential".
	r, err := envelope.Open(bytes.NewReader(data), "correct horse battery", envelope.OpenOptions{Files: map[string]int64{"credential.json": MaxFile}})
	if err != nil || r.Manifest.Kind != EnvelopeKind || r.Manifest.StoreID != "store1" {
		t.Fatalf("envelope.Open: %v, manifest %+v", err, r)
	}
	// A backup (another kind of envelope) is not a credential.
	var backup bytes.Buffer
	if err := envelope.Write(&backup, "correct horse battery", envelope.Manifest{Kind: "backup"}, nil, envelope.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(backup.Bytes(), "correct horse battery"); !errors.Is(err, ErrNotCredential) {
		t.Fatalf("a backup envelope decoded as a credential: %v", err)
	}
	// One byte changed near the end: not a credential (age's MAC).
	bad := append([]byte(nil), data...)
	bad[len(bad)-3] ^= 1
	if _, err := Decode(bad, "correct horse battery"); err == nil {
		t.Fatal("an altered credential decoded")
	}
	if _, err := Encode(Admin("store1", master), "short"); !errors.Is(err, ErrShortPassphrase) {
		t.Fatalf("short passphrase: %v", err)
	}
}

func TestVerifyOnlyCredentialHoldsNothingThatSigns(t *testing.T) {
	ed, err := seal.NewEdSigner(master)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Encode(VerifyOnly("store1", ed.Material()), "")
	if err != nil {
		t.Fatal(err)
	}
	if Encrypted(data) || strings.Contains(string(data), `"master"`) {
		t.Fatalf("verify-only credential:\n%s", data)
	}
	c, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Verifier()
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("keydesk-key-v1 payload")
	sig := ed.SignRecord(payload)
	if !v.VerifyRecord(payload, sig) || v.VerifyRecord(append(payload, '!'), sig) {
		t.Fatal("the verify-only material does not check signatures")
	}
	if !bytes.Equal(v.DigestSecret("kdk_x"), ed.DigestSecret("kdk_x")) {
		t.Fatal("the verify-only digest key differs")
	}
	// Its fields are exactly the three keys and the store's identity.
	if c.Master != nil || len(c.DigestKey) != 32 || len(c.SetKey) != 32 || len(c.PublicKey) != 32 {
		t.Fatalf("verify-only credential fields: %+v", c)
	}
}

func TestDecodeRefusesOtherFiles(t *testing.T) {
	for _, in := range []string{"", "{}", `{"format":"keydesk-credential","version":1,"kind":"admin","storeId":"s","master":"AAAA"}`, "age-encryption.org/v1\n-> X25519 abc\n"} {
		if _, err := Decode([]byte(in), "correct horse battery"); err == nil {
			t.Errorf("Decode(%q) succeeded", in)
		}
	}
}
