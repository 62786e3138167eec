package seal

import "crypto/sha256"

// Element is a record's member value in a Set: a keyed hash of what the
// set covers of the record (Signer.Element for a local store,
// EdVerifier.SetElement for a shared one).
type Element [sha256.Size]byte

// Set is the digest of a set of live records that a store's signed state
// covers: the XOR of their elements, and their number. Add and Remove
// update it in O(1) per record; Merge combines digests of disjoint parts
// (a scan split over CPUs, or one change's additions and removals). The
// zero Set is the empty set.
type Set struct {
	acc [sha256.Size]byte
	// Count is the number of records (modulo 2^64: a change's digest that
	// removes more than it adds counts below zero).
	Count uint64
}

// Add adds a record's element.
func (s *Set) Add(e Element) { s.xor(e); s.Count++ }

// Remove removes a record's element.
func (s *Set) Remove(e Element) { s.xor(e); s.Count-- }

// Merge adds the records of o (a digest of records not in s, or one
// change's additions and removals).
func (s *Set) Merge(o *Set) { s.xor(o.acc); s.Count += o.Count }

// Equal reports whether s and o are digests of the same set.
func (s *Set) Equal(o *Set) bool { return *s == *o }

func (s *Set) xor(v [sha256.Size]byte) {
	for i := range s.acc {
		s.acc[i] ^= v[i]
	}
}
