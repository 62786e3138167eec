package seal

import (
	"errors"
	"testing"
)

// TestRaiseGeneration: the recorded generation only rises, and a record
// that cannot be read is written over.
func TestRaiseGeneration(t *testing.T) {
	var rec uint64
	var readErr error
	writes := 0
	read := func() (uint64, error) { return rec, readErr }
	write := func(gen uint64) error { rec = gen; writes++; return nil }
	for _, tc := range []struct {
		gen        uint64
		want       uint64
		wantWrites int
	}{
		{5, 5, 1}, // raised from none
		{3, 5, 1}, // lower: kept
		{5, 5, 1}, // equal: nothing written
		{9, 9, 2}, // raised
	} {
		if err := RaiseGeneration(tc.gen, read, write); err != nil {
			t.Fatalf("RaiseGeneration(%d): %v", tc.gen, err)
		}
		if rec != tc.want || writes != tc.wantWrites {
			t.Fatalf("after RaiseGeneration(%d): recorded %d in %d writes, want %d in %d", tc.gen, rec, writes, tc.want, tc.wantWrites)
		}
	}
	readErr = errors.New("damaged")
	if err := RaiseGeneration(2, read, write); err != nil || rec != 2 {
		t.Fatalf("over a damaged record: %v, recorded %d; want 2", err, rec)
	}
	failed := errors.New("keyring locked")
	if err := RaiseGeneration(10, read, func(uint64) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("a failed write = %v, want it returned", err)
	}
}
