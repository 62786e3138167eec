package seal

import (
	"crypto/sha256"
	"crypto/sha3"
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
)

// Element is a record's member value in a Set: a keyed hash of what the
// set covers of the record (Signer.Element for a local store,
// EdVerifier.SetElement for a shared one).
type Element [sha256.Size]byte

// Set is the digest of a set of live records that a store's signed state
// covers, and their number. Add and Remove update it in O(1) per record;
// Merge combines the digests of disjoint parts (a scan split over CPUs, or
// one change's additions and removals). The zero Set is the empty set.
//
// The digest is LtHash16 (Lewi, Kim, Maykov and Weis, "Securing Update
// Propagation with Homomorphic Hashing", 2019; Facebook's design): each
// element is expanded by SHAKE128 into 1024 lanes of 16 bits, and the
// digest is their lane-wise sum modulo 2^16 (2048 bytes). Finding two sets
// with the same digest is a short-vector problem in a lattice of dimension
// 1024, estimated at over 200 bits of security, whoever can compute the
// elements: so a holder of a server's credential (which holds the set key)
// who can write the database cannot pick old signed rows whose digest
// adds up to the signed state. The XOR digest before it (XorSet) could be
// forged so by Gaussian elimination over GF(2) (Bellare and Micciancio's
// attack on XHASH).
//
// No Go module implementing LtHash is served here, so it is written out:
// the lane arithmetic is 20 lines, and the expansion is the standard
// library's SHAKE128 (measured here at about 5 µs an element, faster than
// BLAKE2X's 7 µs and a SHA-256 counter mode's 6.5 µs).
type Set struct {
	// sum holds the 1024 lanes, four to a word: lane i is bits
	// 16*(i%4) to 16*(i%4)+15 of word i/4 (the little-endian reading of
	// the expansion's bytes).
	sum [setWords]uint64
	// Count is the number of records (modulo 2^64: a change's digest that
	// removes more than it adds counts below zero).
	Count uint64
}

const (
	setLanes = 1024
	setWords = setLanes / 4
	// SetSize is the size of a Set's binary form: the count (8 bytes,
	// big-endian), then the lanes (2 bytes each, little-endian).
	SetSize = 8 + 2*setLanes
)

// elementLabel separates the expansion of a set element from every other
// use of SHAKE128.
const elementLabel = "keydesk set element lthash16 v1\x00"

// expand returns e's 1024 lanes.
func (e *Element) expand(v *[setWords]uint64) {
	var buf [2 * setLanes]byte
	h := sha3.NewSHAKE128()
	h.Write([]byte(elementLabel))
	h.Write(e[:])
	h.Read(buf[:])
	for i := range v {
		v[i] = binary.LittleEndian.Uint64(buf[8*i:])
	}
}

// laneHigh holds the top bit of each 16-bit lane of a word.
const laneHigh = 0x8000_8000_8000_8000

// addLanes adds v to s lane by lane, modulo 2^16: the low 15 bits of each
// lane are added without carrying across lanes, then the top bits are
// put back with XOR.
func addLanes(s, v *[setWords]uint64) {
	for i := range s {
		x, y := s[i], v[i]
		s[i] = ((x &^ laneHigh) + (y &^ laneHigh)) ^ ((x ^ y) & laneHigh)
	}
}

// subLanes subtracts v from s lane by lane, modulo 2^16 (setting each
// lane's top bit first so that no lane borrows from the next).
func subLanes(s, v *[setWords]uint64) {
	for i := range s {
		x, y := s[i], v[i]
		s[i] = ((x | laneHigh) - (y &^ laneHigh)) ^ ((x ^ ^y) & laneHigh)
	}
}

// Add adds a record's element.
func (s *Set) Add(e Element) {
	var v [setWords]uint64
	e.expand(&v)
	addLanes(&s.sum, &v)
	s.Count++
}

// Remove removes a record's element (one that Add added).
func (s *Set) Remove(e Element) {
	var v [setWords]uint64
	e.expand(&v)
	subLanes(&s.sum, &v)
	s.Count--
}

// Merge adds the records of o (a digest of records not in s, or one
// change's additions and removals).
func (s *Set) Merge(o *Set) {
	addLanes(&s.sum, &o.sum)
	s.Count += o.Count
}

// Equal reports whether s and o are the digests of the same set.
func (s *Set) Equal(o *Set) bool { return *s == *o }

// AppendBinary appends the binary form of s (SetSize bytes) to b.
func (s *Set) AppendBinary(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(b, s.Count)
	for _, w := range s.sum {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b, nil
}

// MarshalBinary returns the binary form of s (SetSize bytes).
func (s *Set) MarshalBinary() ([]byte, error) { return s.AppendBinary(make([]byte, 0, SetSize)) }

// errSetSize is UnmarshalBinary's error for input of the wrong size.
var errSetSize = errors.New("a set digest of the wrong size")

// UnmarshalBinary sets s from its binary form (MarshalBinary).
func (s *Set) UnmarshalBinary(b []byte) error {
	if len(b) != SetSize {
		return errSetSize
	}
	s.Count = binary.BigEndian.Uint64(b)
	for i := range s.sum {
		s.sum[i] = binary.LittleEndian.Uint64(b[8+8*i:])
	}
	return nil
}

// SetOf returns the digest of elems, computed on every CPU (opening a
// store of 100,000 records expands 100,000 elements).
func SetOf(elems []Element) Set {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(elems)/1024))
	parts := make([]Set, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			p := &parts[w]
			for i := w; i < len(elems); i += workers {
				p.Add(elems[i])
			}
		})
	}
	wg.Wait()
	var s Set
	for i := range parts {
		s.Merge(&parts[i])
	}
	return s
}
