package core

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustCreate(t *testing.T, svc *Service, req CreateRequest) (*Key, string) {
	t.Helper()
	k, secret, err := svc.Create(req)
	if err != nil {
		t.Fatalf("Create(%+v): %v", req, err)
	}
	return k, secret
}

func sections(m map[string]Access) Permissions { return Permissions{Kind: KindSections, Sections: m} }

func TestCreateStoresNoSecret(t *testing.T) {
	svc, st, _ := newTestService(t)
	k, secret := mustCreate(t, svc, CreateRequest{Name: "  Billing sync  ", Permissions: sections(map[string]Access{"messaging": AccessRead})})
	if err := CheckKey(secret); err != nil {
		t.Fatalf("secret %q is not a valid key: %v", KeyHint(secret), err)
	}
	if k.Name != "Billing sync" {
		t.Errorf("name not trimmed: %q", k.Name)
	}
	if k.Hint != KeyHint(secret) || len(k.Hint) != 7 {
		t.Errorf("hint = %q", k.Hint)
	}
	if got, want := k.ExpiresAt, k.CreatedAt.AddDate(0, 12, 0); !got.Equal(want) {
		t.Errorf("default expiry = %v, want %v", got, want)
	}
	stored, err := st.GetKey(k.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{stored.ID, stored.Name, string(stored.Digest), stored.Hint, strings.Join(stored.Scopes, ","), string(stored.MAC)} {
		if strings.Contains(field, secret[4:]) {
			t.Fatal("the secret's body is stored in the record")
		}
	}
	if len(st.audit) != 1 || st.audit[0].Action != ActionCreate || st.audit[0].KeyID != k.ID || strings.Contains(st.audit[0].Detail, secret) {
		t.Errorf("audit = %+v", st.audit)
	}
}

func TestCreateRejectsBadInputAndWritesNothing(t *testing.T) {
	tests := []struct {
		name string
		req  CreateRequest
		want error
	}{
		{"empty name", CreateRequest{Name: "", Permissions: Permissions{Kind: KindGlobal}}, ErrNameEmpty},
		{"blank name", CreateRequest{Name: " \t ", Permissions: Permissions{Kind: KindGlobal}}, ErrNameEmpty},
		{"101 characters", CreateRequest{Name: strings.Repeat("é", 101), Permissions: Permissions{Kind: KindGlobal}}, ErrNameTooLong},
		{"control character", CreateRequest{Name: "bad\x07name", Permissions: Permissions{Kind: KindGlobal}}, ErrNameControl},
		{"no permission", CreateRequest{Name: "x"}, ErrNoPermission},
		{"empty sections", CreateRequest{Name: "x", Permissions: sections(nil)}, ErrNoPermission},
		{"unknown section", CreateRequest{Name: "x", Permissions: sections(map[string]Access{"nope": AccessRead})}, ErrUnknownSection},
		{"bad access", CreateRequest{Name: "x", Permissions: sections(map[string]Access{"users": "write"})}, ErrBadAccess},
		{"unknown operation", CreateRequest{Name: "x", Permissions: Permissions{Kind: KindOperations, Operations: []string{"nope.op"}}}, ErrUnknownOperation},
		{"global mixed", CreateRequest{Name: "x", Permissions: Permissions{Kind: KindGlobal, Operations: []string{"users.list"}}}, ErrMixedPermissions},
		{"too short", CreateRequest{Name: "x", Lifetime: Lifetime{Duration: 59 * time.Minute}, Permissions: Permissions{Kind: KindGlobal}}, ErrLifetimeTooShort},
		{"global too long", CreateRequest{Name: "x", Lifetime: Lifetime{Duration: 8 * 24 * time.Hour}, Permissions: Permissions{Kind: KindGlobal}}, ErrGlobalTooLong},
		{"too long", CreateRequest{Name: "x", Lifetime: Lifetime{Months: 13}, Permissions: sections(map[string]Access{"users": AccessFull})}, ErrLifetimeTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, st, _ := newTestService(t)
			_, _, err := svc.Create(tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if len(st.keys) != 0 || len(st.audit) != 0 || len(svc.List()) != 0 {
				t.Fatal("a refused create wrote something")
			}
		})
	}
}

func TestCreateStoreFailureLeavesNothing(t *testing.T) {
	svc, st, _ := newTestService(t)
	st.fail = errDisk
	if _, _, err := svc.Create(CreateRequest{Name: "x", Permissions: Permissions{Kind: KindGlobal}}); !errors.Is(err, errDisk) {
		t.Fatalf("error = %v", err)
	}
	if len(svc.List()) != 0 {
		t.Fatal("service lists a key the store refused")
	}
}

func TestVerifyReasons(t *testing.T) {
	svc, st, clk := newTestService(t)
	readKey, readSecret := mustCreate(t, svc, CreateRequest{Name: "reader", Permissions: sections(map[string]Access{"messaging": AccessRead})})
	_, shortSecret := mustCreate(t, svc, CreateRequest{Name: "short", Lifetime: Lifetime{Duration: time.Hour}, Permissions: Permissions{Kind: KindGlobal}})
	gone, goneSecret := mustCreate(t, svc, CreateRequest{Name: "gone", Permissions: Permissions{Kind: KindGlobal}})
	if _, err := svc.Delete(gone.ID); err != nil {
		t.Fatal(err)
	}
	never, _ := GenerateKey(nil)
	list, _ := svc.Catalog().Operation("messaging.channels.list")
	create, _ := svc.Catalog().Operation("messaging.channels.create")
	badSum := readSecret[:KeyLength-1] + string(flip(readSecret[KeyLength-1]))
	// Above 2^256-1 with a valid checksum: well-shaped, never issued.
	outOfRange := KeyPrefix + strings.Repeat("z", BodyLength)
	outOfRange += checksum(outOfRange)

	tests := []struct {
		name    string
		secret  string
		target  Target
		reason  Reason
		valid   bool
		allowed bool
	}{
		{"ok read op", readSecret, Target{Operation: list}, ReasonOK, true, true},
		{"ok no target", readSecret, Target{}, ReasonOK, true, true},
		{"ok scope", readSecret, Target{Scope: "messaging:read"}, ReasonOK, true, true},
		{"ok op scope via read", readSecret, Target{Scope: "messaging:ListChannels"}, ReasonOK, true, true},
		{"forbidden write op", readSecret, Target{Operation: create}, ReasonForbidden, true, false},
		{"forbidden other section", readSecret, Target{Scope: "users:read"}, ReasonForbidden, true, false},
		{"malformed", "hello", Target{}, ReasonMalformed, false, false},
		{"malformed with space", " " + readSecret, Target{}, ReasonMalformed, false, false},
		{"bad checksum", badSum, Target{}, ReasonBadChecksum, false, false},
		{"out of range", outOfRange, Target{}, ReasonMalformed, false, false},
		{"bad alphabet", readSecret[:KeyLength-1] + "-", Target{}, ReasonMalformed, false, false},
		{"unknown", never, Target{}, ReasonUnknown, false, false},
		{"deleted", goneSecret, Target{}, ReasonUnknown, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := svc.Verify(tc.secret, tc.target)
			if v.Reason != tc.reason || v.Valid != tc.valid || v.Allowed != tc.allowed {
				t.Fatalf("Verify = %+v, want reason %s valid %v allowed %v", v, tc.reason, tc.valid, tc.allowed)
			}
			if tc.reason == ReasonOK && v.Key.ID != readKey.ID {
				t.Fatalf("matched key %s, want %s", v.Key.ID, readKey.ID)
			}
		})
	}

	clk.Set(t0.Add(time.Hour))
	if v := svc.Verify(shortSecret, Target{}); v.Reason != ReasonExpired || v.Valid {
		t.Fatalf("exactly at expiry: %+v, want expired", v)
	}
	clk.Set(t0.Add(time.Hour - time.Second))
	if v := svc.Verify(shortSecret, Target{}); v.Reason != ReasonOK {
		t.Fatalf("one second before expiry: %+v, want ok", v)
	}

	// Editing the stored record (here: widening its scopes) is detected
	// when the store is loaded again.
	rec := st.keys[readKey.ID]
	rec.Scopes = []string{GlobalScope}
	svc2, err := NewService(st, newSigner(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := svc2.Verify(readSecret, Target{Operation: create}); v.Reason != ReasonTampered || v.Valid || v.Allowed {
		t.Fatalf("tampered record: %+v", v)
	}
	if _, err := svc2.Rename(readKey.ID, "laundered"); !errors.Is(err, ErrTampered) {
		t.Fatalf("renaming a tampered key: %v", err)
	}
}

func flip(c byte) byte {
	if c == 'a' {
		return 'b'
	}
	return 'a'
}

func TestRenameAndDelete(t *testing.T) {
	svc, st, clk := newTestService(t)
	k, secret := mustCreate(t, svc, CreateRequest{Name: "old", Permissions: Permissions{Kind: KindGlobal}})
	if _, err := svc.Rename(k.ID, "  "); !errors.Is(err, ErrNameEmpty) {
		t.Fatalf("blank rename: %v", err)
	}
	if _, err := svc.Rename("missing", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rename unknown: %v", err)
	}
	r, err := svc.Rename(k.ID, "new name")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "new name" || !r.ExpiresAt.Equal(k.ExpiresAt) {
		t.Fatalf("renamed = %+v", r)
	}
	// The renamed record is still authentic after a reload.
	svc2, _ := NewService(st, newSigner(), clk, nil)
	if v := svc2.Verify(secret, Target{}); v.Reason != ReasonOK || v.Key.Name != "new name" {
		t.Fatalf("after rename and reload: %+v", v)
	}
	if _, err := svc.Delete("missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete unknown: %v", err)
	}
	if _, err := svc.Delete(k.ID); err != nil {
		t.Fatal(err)
	}
	if v := svc.Verify(secret, Target{}); v.Reason != ReasonUnknown {
		t.Fatalf("deleted key verifies: %+v", v)
	}
	actions := []AuditAction{}
	for _, ev := range st.audit {
		actions = append(actions, ev.Action)
	}
	if strings.Join(toStrings(actions), " ") != "key.create key.rename key.delete" {
		t.Fatalf("audit actions = %v", actions)
	}
}

func toStrings(a []AuditAction) []string {
	out := make([]string, len(a))
	for i, x := range a {
		out[i] = string(x)
	}
	return out
}

func TestLastUsedBatched(t *testing.T) {
	svc, st, clk := newTestService(t)
	k, secret := mustCreate(t, svc, CreateRequest{Name: "used", Permissions: Permissions{Kind: KindGlobal}})
	for i := 0; i < 100; i++ {
		clk.Set(t0.Add(time.Duration(i) * time.Second))
		svc.VerifyUse(secret, Target{})
	}
	if st.writes != 0 {
		t.Fatalf("verification wrote to the store %d times before a flush", st.writes)
	}
	if got := svc.List()[0].LastUsedAt; !got.Equal(t0.Add(99 * time.Second)) {
		t.Fatalf("pending last used = %v", got)
	}
	if err := svc.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	if st.writes != 1 || !st.keys[k.ID].LastUsedAt.Equal(t0.Add(99*time.Second)) {
		t.Fatalf("after flush: writes %d, stored %v", st.writes, st.keys[k.ID].LastUsedAt)
	}
	if err := svc.FlushLastUsed(); err != nil || st.writes != 1 {
		t.Fatalf("an empty flush wrote: %v, %d", err, st.writes)
	}
	// A failed flush keeps the pending times for the next one.
	svc.VerifyUse(secret, Target{})
	st.fail = errDisk
	if err := svc.FlushLastUsed(); !errors.Is(err, errDisk) {
		t.Fatalf("flush error = %v", err)
	}
	st.fail = nil
	if err := svc.FlushLastUsed(); err != nil || st.writes != 2 {
		t.Fatalf("retry: %v, writes %d", err, st.writes)
	}
	// Denied verifications are not uses.
	clk.Set(t0.Add(time.Hour))
	svc.VerifyUse("kdk_bad", Target{})
	if err := svc.FlushLastUsed(); err != nil || st.writes != 2 {
		t.Fatalf("malformed verification counted as a use: writes %d", st.writes)
	}
}

func TestStats(t *testing.T) {
	now := t0
	keys := []*Key{
		{ExpiresAt: now.Add(-time.Second)},
		{ExpiresAt: now},
		{ExpiresAt: now.Add(7 * 24 * time.Hour)},
		{ExpiresAt: now.Add(7*24*time.Hour + time.Second)},
	}
	st := CountStats(keys, now)
	if st != (Stats{Total: 4, Expired: 2, ExpiringSoon: 1}) {
		t.Fatalf("stats = %+v", st)
	}
	if got := st.String(); got != "4 keys · 2 expired · 1 expiring within 7 days" {
		t.Fatalf("String = %q", got)
	}
}

func TestVerifyUnmatchedAllowsNothing(t *testing.T) {
	svc, st, _ := newTestService(t)
	_, secret := mustCreate(t, svc, CreateRequest{Name: "dev", Permissions: Permissions{Kind: KindGlobal}})
	v := svc.VerifyUse(secret, Target{Unmatched: true})
	if !v.Valid || v.Allowed || v.Reason != ReasonForbidden {
		t.Fatalf("global key on an unmatched request: %+v", v)
	}
	if err := svc.FlushLastUsed(); err != nil || st.writes != 0 {
		t.Fatalf("an unmatched request was recorded as a use (writes %d, %v)", st.writes, err)
	}
}
