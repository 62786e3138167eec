package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/internal/gf2"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/internal/legacystate"
	"github.com/keydesk/keydesk/seal"
)

// legacyStateRow returns the signed state row that builds before the
// LtHash digest (state format 2) wrote for the records ss holds now at
// generation gen.
func legacyStateRow(t *testing.T, ss *SealedStore, gen uint64) string {
	t.Helper()
	ctx := context.Background()
	tx, err := ss.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	keys, err := allKeys(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	row, err := legacystate.Row(testMaster, ss.storeID, gen, keys)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

// setStateRow writes the signed state row, as a database writer can.
func setStateRow(t *testing.T, ss *SealedStore, value string) {
	t.Helper()
	if _, err := ss.pool.Exec(context.Background(), `UPDATE store_meta SET value = $2 WHERE name = $1`, stateName, value); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeStateFromFormat2 opens a store whose signed state builds
// before the LtHash digest wrote: a reader refuses it (ErrOldState); an
// admin's open checks it the old way once and moves it to the current
// format at the next generation, after which readers accept it. The
// format 2 row written back afterwards (a downgrade) is refused by readers
// and by an admin's change, and by an admin's upgrade that has seen the
// later generation.
func TestUpgradeStateFromFormat2(t *testing.T) {
	ctx := context.Background()
	ss, svc, u := newSealed(t)
	for i := range 3 {
		keytest.Create(t, svc, keytest.SectionRequest(fmt.Sprintf("key %d", i)))
	}
	_, snap := snapshotIDs(t, ss.Store, ss.signer.Verifier(), 0)
	gen := snap.State.Gen
	old := legacyStateRow(t, ss, gen)
	setStateRow(t, ss, old)

	v := ss.signer.Verifier()
	if _, err := ss.ReadSignedSnapshot(ctx, v, 0); !errors.Is(err, ErrOldState) || !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("a reader given a format 2 state: %v, want ErrOldState", err)
	}
	if read, err := ss.KeyChanges(ctx, 0, nil); err != nil || read.State.Format != legacyStateFormat || read.State.Check(v, ss.storeID, snap.Set) {
		t.Fatalf("KeyChanges state: %+v, %v; a format 2 state must not check", read, err)
	}

	admin, asnap, err := OpenSealed(ctx, u, newEdSigner(t), Options{})
	if err != nil {
		t.Fatalf("an admin's open of a format 2 store: %v", err)
	}
	defer admin.Close()
	if asnap.State.Format != StateFormat || asnap.State.Gen != gen+1 || len(asnap.Keys) != 3 {
		t.Fatalf("after the upgrade: format %d, generation %d, %d keys; want %d, %d, 3",
			asnap.State.Format, asnap.State.Gen, len(asnap.Keys), StateFormat, gen+1)
	}
	if _, err := ss.ReadSignedSnapshot(ctx, v, gen+1); err != nil {
		t.Fatalf("a reader after the upgrade: %v", err)
	}
	keytest.Create(t, svc, keytest.SectionRequest("after the upgrade"))
	if _, err := ss.ReadSignedSnapshot(ctx, v, gen+2); err != nil {
		t.Fatalf("a reader after a change: %v", err)
	}

	// The downgrade: the format 2 row (with the rows it covers) put back.
	if _, err := ss.pool.Exec(ctx, `DELETE FROM keys WHERE name = 'after the upgrade'`); err != nil {
		t.Fatal(err)
	}
	setStateRow(t, ss, old)
	if _, err := ss.ReadSignedSnapshot(ctx, v, 0); !errors.Is(err, ErrOldState) {
		t.Fatalf("a reader after the downgrade: %v, want ErrOldState", err)
	}
	if _, _, err := svc.Create(keytest.SectionRequest("during the downgrade")); !errors.Is(err, ErrOldState) {
		t.Fatalf("an admin's change on a downgraded state: %v, want ErrOldState", err)
	}
	if err := admin.UpgradeState(ctx, gen+2); !errors.Is(err, ErrStateRolledBack) {
		t.Fatalf("an admin that has seen generation %d upgrading the downgraded state: %v, want ErrStateRolledBack", gen+2, err)
	}
}

// TestUpgradeStateRefusesAForgedFormat2 checks that the upgrade checks the
// old state: rows that do not match it are not moved (nothing written).
func TestUpgradeStateRefusesAForgedFormat2(t *testing.T) {
	ctx := context.Background()
	ss, svc, u := newSealed(t)
	k, _ := keytest.Create(t, svc, keytest.SectionRequest("kept"))
	keytest.Create(t, svc, keytest.SectionRequest("removed by a writer"))
	_, snap := snapshotIDs(t, ss.Store, ss.signer.Verifier(), 0)
	setStateRow(t, ss, legacyStateRow(t, ss, snap.State.Gen))
	if _, err := ss.pool.Exec(ctx, `DELETE FROM keys WHERE id <> $1`, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenSealed(ctx, u, newEdSigner(t), Options{}); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("an admin's open of a format 2 store missing a row: %v, want ErrStateMismatch", err)
	}
	if r, _, err := readState(ctx, ss.pool); err != nil || r.Format != legacyStateFormat {
		t.Fatalf("a refused upgrade left format %d, %v", r.Format, err)
	}
}

// TestXorForgeryRefused plays issue #18's attack with what a server's
// credential and write access to the keys table give: the set key (so
// every row version's set element) and the rows. 270 keys are renamed
// once each; Gaussian elimination over GF(2) finds keys whose old rows,
// written back, leave the XOR digest of format 2 unchanged (the test
// checks that the forgery would have passed it). The current digest
// refuses the set.
func TestXorForgeryRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("540 signed changes")
	}
	ctx := context.Background()
	ss, svc, _ := newSealed(t)
	v := ss.signer.Verifier() // what the verify-only credential holds
	type row struct {
		id, name string
		record   []byte
		mac      []byte
	}
	read := func(id string) row {
		r := row{id: id}
		if err := ss.pool.QueryRow(ctx, `SELECT name, record, mac FROM keys WHERE id = $1`, id).Scan(&r.name, &r.record, &r.mac); err != nil {
			t.Fatal(err)
		}
		return r
	}
	const n = 270
	var olds, news []row
	for i := range n {
		k, _ := keytest.Create(t, svc, keytest.SectionRequest(fmt.Sprintf("key %d", i)))
		olds = append(olds, read(k.ID))
		if _, err := svc.Rename(k.ID, fmt.Sprintf("key %d renamed", i)); err != nil {
			t.Fatal(err)
		}
		news = append(news, read(k.ID))
	}
	if _, err := ss.ReadSignedSnapshot(ctx, v, 0); err != nil {
		t.Fatal(err)
	}
	diffs := make([][]byte, n)
	for i := range diffs {
		eo, en := v.SetElement(olds[i].id, olds[i].mac), v.SetElement(news[i].id, news[i].mac)
		diffs[i] = make([]byte, len(eo))
		for j := range eo {
			diffs[i][j] = eo[j] ^ en[j]
		}
	}
	revert := gf2.Dependency(diffs)
	if len(revert) == 0 {
		t.Fatal("no dependency found")
	}
	var signed, forged seal.XorSet
	reverted := map[int]bool{}
	for _, i := range revert {
		reverted[i] = true
	}
	for i := range n {
		signed.Add(v.SetElement(news[i].id, news[i].mac))
		if reverted[i] {
			forged.Add(v.SetElement(olds[i].id, olds[i].mac))
		} else {
			forged.Add(v.SetElement(news[i].id, news[i].mac))
		}
	}
	if signed != forged {
		t.Fatal("the forgery does not keep the XOR digest: the test shows nothing")
	}
	for _, i := range revert {
		o := olds[i]
		if _, err := ss.pool.Exec(ctx, `UPDATE keys SET name = $2, record = $3, mac = $4 WHERE id = $1`, o.id, o.name, o.record, o.mac); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d of %d keys reverted to their old rows, keeping the XOR digest", len(revert), n)
	if _, err := ss.ReadSignedSnapshot(ctx, v, 0); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("ReadSignedSnapshot of the forged set: %v, want ErrStateMismatch", err)
	}
}

// A signed state row that is not one (too long, or of no known format) is
// refused in one error, read with a limit.
func TestStateRowThatDoesNotParse(t *testing.T) {
	ctx := context.Background()
	ss, _, _ := newSealed(t)
	for _, value := range []string{strings.Repeat("A", 1<<20), "", "AAAA"} {
		setStateRow(t, ss, value)
		if _, err := ss.ReadSignedSnapshot(ctx, ss.signer.Verifier(), 0); !errors.Is(err, ErrStateMismatch) {
			t.Fatalf("a state row of %d characters: %v, want ErrStateMismatch", len(value), err)
		}
	}
}
