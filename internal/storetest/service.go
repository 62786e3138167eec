package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

// testMaster is a fixed master key: the suite is not about the keyring.
var testMaster = bytes.Repeat([]byte{0x5a}, seal.MasterKeySize)

func testService(t *testing.T, s core.Store) {
	signer, err := seal.NewSigner(testMaster)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	svc, err := core.NewService(s, signer, core.FixedClock(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.Actor = "tester"
	req := core.CreateRequest{
		Name:        "service key",
		Lifetime:    core.Lifetime{Duration: 30 * 24 * time.Hour},
		Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessFull}},
	}
	k, secret, err := svc.Create(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rename(k.ID, "renamed key"); err != nil {
		t.Fatal(err)
	}
	// A second service loads the record from the store and checks its MAC.
	svc2, err := core.NewService(s, signer, core.FixedClock(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := svc2.Verify(secret, core.Target{})
	if !v.Valid || v.Reason != core.ReasonOK || v.Key.Name != "renamed key" || v.Key.Tampered {
		t.Fatalf("Verify after reload = %+v", v)
	}
	if _, err := svc2.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	svc3, err := core.NewService(s, signer, core.FixedClock(now), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := svc3.Verify(secret, core.Target{}); v.Valid || v.Reason != core.ReasonUnknown {
		t.Fatalf("Verify of a deleted key after reload = %+v", v)
	}
}
