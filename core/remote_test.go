package core

import (
	"errors"
	"testing"
)

// A lazily loaded service checks each record's signature at its first
// verification: a record edited in the store is tampered there, a good one
// verifies; remote changes apply and deletions stop verification at once.
func TestLazyVerifyServiceAndRemoteChanges(t *testing.T) {
	st := newMemStore()
	signer := newSigner()
	admin, err := NewService(st, signer, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	good, goodSecret := mustCreate(t, admin, CreateRequest{Name: "good", Permissions: sections(map[string]Access{"messaging": AccessRead})})
	bad, badSecret := mustCreate(t, admin, CreateRequest{Name: "bad", Permissions: sections(map[string]Access{"messaging": AccessRead})})
	st.keys[bad.ID].Name = "edited in the store"

	lazy, err := NewLazyVerifyService(st, signer, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time from the cached verdict
		if v := lazy.Verify(goodSecret, Target{}); !v.Valid {
			t.Fatalf("good record: %v", v.Reason)
		}
		if v := lazy.Verify(badSecret, Target{}); v.Valid || v.Reason != ReasonTampered {
			t.Fatalf("edited record: valid %v, %v", v.Valid, v.Reason)
		}
	}
	if _, _, err := lazy.Create(CreateRequest{Name: "x", Permissions: sections(map[string]Access{"messaging": AccessRead})}); !errors.Is(err, ErrVerifyOnly) {
		t.Fatalf("Create on a verify-only service: %v", err)
	}

	// A remote rename replaces the record; a remote delete removes it.
	renamed := good.Clone()
	renamed.Name = "renamed elsewhere"
	renamed.MAC = signer.SignRecord(renamed.MACPayload())
	lazy.ApplyRemote(renamed)
	if v := lazy.Verify(goodSecret, Target{}); !v.Valid || v.Key.Name != "renamed elsewhere" {
		t.Fatalf("after a remote rename: %+v", v)
	}
	forged := good.Clone()
	forged.Name = "forged"
	lazy.ApplyRemote(forged) // MAC of the old payload: does not match
	if v := lazy.Verify(goodSecret, Target{}); v.Valid || v.Reason != ReasonTampered {
		t.Fatalf("a remote record with a bad signature: %+v", v)
	}
	if !lazy.RemoveRemote(good.ID) || lazy.RemoveRemote(good.ID) {
		t.Fatal("RemoveRemote did not report the record once")
	}
	if v := lazy.Verify(goodSecret, Target{}); v.Reason != ReasonUnknown {
		t.Fatalf("after a remote delete: %v", v.Reason)
	}
}
