package core

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keydesk/keydesk/internal/clocktest"
)

// lazyFixture creates two keys in a store, alters the stored record of the
// first (a wider expiry, its MAC left as it was), and loads the store into
// a NewLazyService, so that no record was checked yet.
func lazyFixture(t *testing.T) (svc *Service, bad, good *Key, badSecret, goodSecret string) {
	t.Helper()
	admin, st, _ := newTestService(t)
	req := CreateRequest{Name: "altered", Permissions: sections(map[string]Access{"messaging": AccessRead})}
	bad, badSecret = mustCreate(t, admin, req)
	req.Name = "intact"
	good, goodSecret = mustCreate(t, admin, req)
	st.keys[bad.ID].ExpiresAt = st.keys[bad.ID].ExpiresAt.AddDate(1, 0, 0)
	svc, err := NewLazyService(st, newSigner(), clocktest.New(t0), nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc, bad, good, badSecret, goodSecret
}

// A record altered in the store is refused at its first verification by a
// service that has not checked any record yet, and an intact one verifies.
func TestLazyServiceRefusesAlteredRecordAtFirstVerification(t *testing.T) {
	svc, _, _, badSecret, goodSecret := lazyFixture(t)
	if v := svc.Verify(badSecret, Target{}); v.Valid || v.Reason != ReasonTampered {
		t.Errorf("altered record, first verification: %+v, want refused as tampered", v)
	}
	if v := svc.VerifyUse(badSecret, Target{}); v.Valid || v.Reason != ReasonTampered {
		t.Errorf("altered record, second verification: %+v, want refused as tampered", v)
	}
	if v := svc.Verify(goodSecret, Target{}); !v.Valid {
		t.Errorf("intact record: %+v, want valid", v)
	}
}

// Rename, Roll and Get check a record not checked yet before they act on
// it or hand it out; Delete still removes it.
func TestLazyServiceChecksBeforeActing(t *testing.T) {
	svc, bad, good, _, _ := lazyFixture(t)
	if _, err := svc.Rename(bad.ID, "laundered"); !errors.Is(err, ErrTampered) {
		t.Errorf("Rename of the altered record: %v, want ErrTampered", err)
	}
	if _, err := svc.Roll(bad.ID, time.Hour); !errors.Is(err, ErrTampered) {
		t.Errorf("Roll of the altered record: %v, want ErrTampered", err)
	}
	if k, err := svc.Get(bad.ID); err != nil || !k.Tampered {
		t.Errorf("Get of the altered record: %+v, %v; want it flagged Tampered", k, err)
	}
	if _, err := svc.Rename(good.ID, "renamed"); err != nil {
		t.Errorf("Rename of the intact record: %v", err)
	}
	if _, err := svc.Delete(bad.ID); err != nil {
		t.Errorf("Delete of the altered record: %v", err)
	}
	if _, err := svc.Get(bad.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
}

// List does not flag a record not checked yet; CheckRecords checks them
// all, reports its progress, and List flags the altered one from then on.
func TestCheckRecordsFlagsAlteredRecords(t *testing.T) {
	svc, bad, good, _, _ := lazyFixture(t)
	var last, total int
	if n := svc.CheckRecords(func(done, all int) { last, total = done, all }); n != 1 {
		t.Errorf("CheckRecords found %d tampered records, want 1", n)
	}
	if last != 2 || total != 2 {
		t.Errorf("last progress %d of %d, want 2 of 2", last, total)
	}
	for _, k := range svc.List() {
		if want := k.ID == bad.ID; k.Tampered != want {
			t.Errorf("List: %s Tampered = %v, want %v", k.Name, k.Tampered, want)
		}
	}
	if n := svc.CheckRecords(nil); n != 1 {
		t.Errorf("a second CheckRecords found %d, want the same 1", n)
	}
	if k, _ := svc.Get(good.ID); k.Tampered {
		t.Error("the intact record is flagged")
	}
}

// Records that their first verification checked before CheckRecords ran
// count as checked in its progress (which still reaches its total), and
// one refused there is counted and flagged in the list like the others.
func TestCheckRecordsCountsRecordsCheckedAtFirstUse(t *testing.T) {
	svc, bad, good, badSecret, goodSecret := lazyFixture(t)
	if v := svc.Verify(badSecret, Target{}); v.Valid || v.Reason != ReasonTampered {
		t.Errorf("the altered record's first verification: %+v, want refused as tampered", v)
	}
	if v := svc.Verify(goodSecret, Target{}); !v.Valid {
		t.Errorf("the intact record's first verification: %+v, want valid", v)
	}
	calls, last, total := 0, 0, 0
	if n := svc.CheckRecords(func(done, all int) { calls, last, total = calls+1, done, all }); n != 1 {
		t.Errorf("CheckRecords found %d tampered records, want 1 (refused at its first verification)", n)
	}
	if calls != 1 || last != 2 || total != 2 {
		t.Errorf("progress called %d times, last %d of %d; want once, 2 of 2", calls, last, total)
	}
	for _, k := range svc.List() {
		if want := k.ID == bad.ID; k.Tampered != want {
			t.Errorf("List: %s Tampered = %v, want %v", k.Name, k.Tampered, want)
		}
	}
	if k, _ := svc.Get(good.ID); k.Tampered {
		t.Error("the intact record is flagged")
	}
}

// VerifyAfter holds verifications until its channel is closed, having
// asked for what closes it to start; a Distrust before the close refuses
// the key that waited.
func TestVerifyAfterHoldsVerifications(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, _ := newTestService(t)
		_, secret := mustCreate(t, svc, CreateRequest{Name: "held", Permissions: sections(map[string]Access{"messaging": AccessRead})})
		ready := make(chan struct{})
		started := make(chan struct{}, 2)
		svc.VerifyAfter(ready, func() { started <- struct{}{} })
		got := make(chan Verification, 1)
		go func() { got <- svc.Verify(secret, Target{}) }()
		synctest.Wait()
		select {
		case v := <-got:
			t.Fatalf("verified before the channel closed: %+v", v)
		default:
		}
		if len(started) == 0 {
			t.Fatal("the waiting verification did not call start")
		}
		svc.Distrust()
		close(ready)
		if v := <-got; v.Valid || v.Reason != ReasonTampered {
			t.Errorf("after Distrust and close: %+v, want refused as tampered", v)
		}
		svc2, _, _ := newTestService(t)
		_, secret2 := mustCreate(t, svc2, CreateRequest{Name: "passes", Permissions: sections(map[string]Access{"messaging": AccessRead})})
		open := make(chan struct{})
		close(open)
		svc2.VerifyAfter(open, nil)
		if v := svc2.Verify(secret2, Target{}); !v.Valid {
			t.Errorf("with the channel closed: %+v, want valid", v)
		}
	})
}
