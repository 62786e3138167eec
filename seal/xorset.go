package seal

import "crypto/sha256"

// XorSet is the set digest of the stores that Keydesk wrote before Set
// (a local store of schema 5 or older, a shared store's state of format
// 2): the XOR of the elements, and their number. The XOR is linear over
// GF(2), so whoever can compute the elements can find, by Gaussian
// elimination, old records whose XOR equals a signed state (see Set). It
// is kept only so that such a state is checked once, when an admin opens
// the store and moves it to Set; no reader accepts it otherwise.
type XorSet struct {
	Acc   [sha256.Size]byte
	Count uint64
}

// Add adds a record's element.
func (s *XorSet) Add(e Element) {
	for i := range s.Acc {
		s.Acc[i] ^= e[i]
	}
	s.Count++
}

// Merge adds the records of o (a digest of records not in s).
func (s *XorSet) Merge(o *XorSet) {
	for i := range s.Acc {
		s.Acc[i] ^= o.Acc[i]
	}
	s.Count += o.Count
}
