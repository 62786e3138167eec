package core

import "testing"

// Once the service distrusts its store, a key that verified before is
// refused as tampered, whoever asks (an admin's test or real use).
func TestDistrustRefusesEveryKey(t *testing.T) {
	svc, _, _ := newTestService(t)
	_, secret := mustCreate(t, svc, CreateRequest{Name: "trusted until now", Permissions: sections(map[string]Access{"messaging": AccessRead})})
	if v := svc.Verify(secret, Target{}); !v.Valid {
		t.Fatalf("before Distrust: %+v", v)
	}
	if svc.Distrusted() {
		t.Fatal("a new service is distrusted")
	}
	svc.Distrust()
	if !svc.Distrusted() {
		t.Fatal("Distrusted is false after Distrust")
	}
	for name, v := range map[string]Verification{
		"Verify":    svc.Verify(secret, Target{}),
		"VerifyUse": svc.VerifyUse(secret, Target{}),
	} {
		if v.Valid || v.Allowed || v.Reason != ReasonTampered {
			t.Errorf("%s after Distrust: %+v, want refused as tampered", name, v)
		}
	}
}
