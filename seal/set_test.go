package seal

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/keydesk/keydesk/internal/gf2"
)

// randomElements returns n elements from a seeded generator (elements are
// keyed hashes: uniformly random to anyone without the key, and known to
// anyone with it, as the attacks below assume).
func randomElements(n int, seed uint64) []Element {
	r := rand.New(rand.NewPCG(seed, 0))
	out := make([]Element, n)
	for i := range out {
		for j := 0; j < len(out[i]); j += 8 {
			binary.LittleEndian.PutUint64(out[i][j:], r.Uint64())
		}
	}
	return out
}

// The packed lane arithmetic matches adding and subtracting 1024 uint16
// lanes one by one, carries and borrows included.
func TestSetLaneArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var x, y [setWords]uint64
		for i := range x {
			x[i], y[i] = r.Uint64(), r.Uint64()
			if round%4 == 0 { // edge lanes: 0, 0x7fff, 0x8000, 0xffff
				edges := [4]uint64{0, 0x7fff, 0x8000, 0xffff}
				x[i] = edges[r.IntN(4)] | edges[r.IntN(4)]<<16 | edges[r.IntN(4)]<<32 | edges[r.IntN(4)]<<48
				y[i] = edges[r.IntN(4)] | edges[r.IntN(4)]<<16 | edges[r.IntN(4)]<<32 | edges[r.IntN(4)]<<48
			}
		}
		sum, diff := x, x
		addLanes(&sum, &y)
		subLanes(&diff, &y)
		for i := range setLanes {
			w, sh := i/4, 16*(i%4)
			a, b := uint16(x[w]>>sh), uint16(y[w]>>sh)
			if got := uint16(sum[w] >> sh); got != a+b {
				t.Fatalf("lane %d: %#x + %#x = %#x, want %#x", i, a, b, got, a+b)
			}
			if got := uint16(diff[w] >> sh); got != a-b {
				t.Fatalf("lane %d: %#x - %#x = %#x, want %#x", i, a, b, got, a-b)
			}
		}
	}
}

// A Set is a digest of the set, not of the order or the way it was built:
// any order of additions, removals that undo additions, merged parts and
// SetOf give the same digest; its binary form round-trips.
func TestSetIsADigestOfTheSet(t *testing.T) {
	elems := randomElements(3000, 7)
	var forward, backward, parts Set
	for _, e := range elems {
		forward.Add(e)
	}
	for i := len(elems) - 1; i >= 0; i-- {
		backward.Add(elems[i])
	}
	var p1, p2 Set
	for i, e := range elems {
		if i%3 == 0 {
			p1.Add(e)
		} else {
			p2.Add(e)
		}
	}
	parts.Merge(&p1)
	parts.Merge(&p2)
	all := SetOf(elems)
	if !forward.Equal(&backward) || !forward.Equal(&parts) || !forward.Equal(&all) || forward.Count != 3000 {
		t.Fatal("the digest depends on the order or the way the set was built")
	}
	// A change's additions and removals, merged, move the set.
	extra := randomElements(2, 8)
	var change Set
	change.Remove(elems[0])
	change.Add(extra[0])
	moved := forward
	moved.Merge(&change)
	want := SetOf(append(append([]Element{}, elems[1:]...), extra[0]))
	if !moved.Equal(&want) || moved.Count != 3000 {
		t.Fatal("merging a change's digest does not give the changed set")
	}
	moved.Remove(extra[0])
	moved.Add(elems[0])
	if !moved.Equal(&forward) {
		t.Fatal("Remove does not undo Add")
	}
	var empty Set
	if forward.Equal(&empty) || p1.Equal(&p2) {
		t.Fatal("different sets share a digest")
	}
	bin, err := forward.MarshalBinary()
	if err != nil || len(bin) != SetSize {
		t.Fatalf("MarshalBinary: %d bytes, %v", len(bin), err)
	}
	var back Set
	if err := back.UnmarshalBinary(bin); err != nil || !back.Equal(&forward) {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	if err := back.UnmarshalBinary(bin[1:]); err == nil {
		t.Fatal("UnmarshalBinary accepted a short digest")
	}
	if a, _ := p1.MarshalBinary(); bytes.Equal(a, bin) {
		t.Fatal("different sets share a binary form")
	}
}

// TestXorForgeryDoesNotCollide plays issue #18's attack on the set digest:
// whoever holds a server's credential computes the elements of every old
// row version; with 300 keys each renamed once, Gaussian elimination finds
// keys whose old rows, put back, leave the XOR digest unchanged (so a
// reader accepted the reverted keys under the admin's signed state). The
// same reverted set has another LtHash digest.
func TestXorForgeryDoesNotCollide(t *testing.T) {
	const keys = 300
	current := randomElements(keys, 11) // each key's live row
	old := randomElements(keys, 12)     // each key's row before its rename
	diffs := make([][]byte, keys)
	for i := range diffs {
		diffs[i] = make([]byte, len(current[i]))
		for j := range diffs[i] {
			diffs[i][j] = current[i][j] ^ old[i][j]
		}
	}
	revert := gf2.Dependency(diffs)
	if len(revert) == 0 {
		t.Fatal("no dependency among 300 vectors of 256 bits")
	}
	forged := append([]Element{}, current...)
	for _, i := range revert {
		forged[i] = old[i]
	}
	var xorSigned, xorForged XorSet
	for i := range current {
		xorSigned.Add(current[i])
		xorForged.Add(forged[i])
	}
	if xorSigned != xorForged {
		t.Fatal("the attack on the XOR digest failed: the test does not show what it should")
	}
	t.Logf("reverting %d of %d keys to their old rows keeps the XOR digest", len(revert), keys)
	signed, forgedSet := SetOf(current), SetOf(forged)
	if signed.Equal(&forgedSet) {
		t.Fatal("the reverted set has the signed set's digest")
	}
}

// benchKeys is the store size of the benchmarks.
const benchKeys = 100_000

// BenchmarkSetOpen100k measures the set digest of a store of 100,000 keys
// at open (from the records' elements, on every CPU, as the stores compute
// it): the XOR digest before and the LtHash digest now, and their ratio.
// The elements themselves (an HMAC per record, the same before and after)
// are not counted.
func BenchmarkSetOpen100k(b *testing.B) {
	elems := randomElements(benchKeys, 3)
	var xorTime, ltTime time.Duration
	for b.Loop() {
		start := time.Now()
		var x XorSet
		for _, e := range elems {
			x.Add(e)
		}
		xorTime += time.Since(start)
		start = time.Now()
		SetOf(elems)
		ltTime += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(xorTime.Microseconds())/1e3/n, "ms-xor/open")
	b.ReportMetric(float64(ltTime.Microseconds())/1e3/n, "ms-lthash/open")
	b.ReportMetric(float64(ltTime)/float64(xorTime), "lthash/xor")
}

// BenchmarkSetChange measures what one change (a record replaced: its old
// element removed, the new one added) costs the set digest of a local
// store, with the state MAC, and of a shared store, with the state
// signature: before (XOR) and now (LtHash), and the ratios. Per change
// the cost does not depend on the number of keys (the digest is updated,
// not recomputed).
func BenchmarkSetChange(b *testing.B) {
	signer, ed, err := MasterSigners(testMaster)
	if err != nil {
		b.Fatal(err)
	}
	elems := randomElements(2, 5)
	set := SetOf(randomElements(1000, 6))
	var xs XorSet
	xs.Count = set.Count
	var localXor, localLt, sharedXor, sharedLt time.Duration
	for b.Loop() {
		start := time.Now()
		xs.Add(elems[0]) // XOR: removing is adding
		xs.Add(elems[1])
		xs.Count -= 2
		signer.LegacyStateMAC("store", 2, &xs, false)
		localXor += time.Since(start)

		start = time.Now()
		set.Remove(elems[0])
		set.Add(elems[1])
		signer.StateMAC("store", 2, &set)
		localLt += time.Since(start)
		set.Remove(elems[1])
		set.Add(elems[0])

		start = time.Now()
		xs.Add(elems[0])
		xs.Add(elems[1])
		xs.Count -= 2
		legacySig := ed25519Sign(ed, legacyStateMessage("store", 2, &xs))
		sharedXor += time.Since(start)

		start = time.Now()
		set.Remove(elems[0])
		set.Add(elems[1])
		sig := ed.SignState("store", 2, &set)
		sharedLt += time.Since(start)
		set.Remove(elems[1])
		set.Add(elems[0])
		_, _ = legacySig, sig
	}
	n := float64(b.N)
	b.ReportMetric(float64(localXor.Nanoseconds())/1e3/n, "µs-local-xor/change")
	b.ReportMetric(float64(localLt.Nanoseconds())/1e3/n, "µs-local-lthash/change")
	b.ReportMetric(float64(sharedXor.Nanoseconds())/1e3/n, "µs-shared-xor/change")
	b.ReportMetric(float64(sharedLt.Nanoseconds())/1e3/n, "µs-shared-lthash/change")
	b.ReportMetric(float64(localLt)/float64(localXor), "local-lthash/xor")
	b.ReportMetric(float64(sharedLt)/float64(sharedXor), "shared-lthash/xor")
}
