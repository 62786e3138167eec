// Package gf2 is linear algebra over GF(2) for tests that play the attack
// on an XOR set digest (issue #18): whoever can compute a set's elements
// finds, by Gaussian elimination, elements whose XOR is zero, and so swaps
// records without changing the digest.
package gf2

// Dependency returns the indexes of a non-empty subset of vecs (all of one
// length) whose XOR is zero, or nil if the vectors are independent. There
// is one as soon as there are more vectors than bits.
func Dependency(vecs [][]byte) []int {
	n := len(vecs)
	type row struct {
		v    []byte
		comb []uint64 // which of the vectors XOR to v
		bit  int      // the row's pivot: its lowest set bit
	}
	words := (n + 63) / 64
	var rows []row
	for i := range n {
		r := row{v: append([]byte{}, vecs[i]...), comb: make([]uint64, words)}
		r.comb[i/64] |= 1 << (i % 64)
		for _, p := range rows {
			if r.v[p.bit/8]>>(p.bit%8)&1 == 1 {
				for j := range r.v {
					r.v[j] ^= p.v[j]
				}
				for j := range r.comb {
					r.comb[j] ^= p.comb[j]
				}
			}
		}
		r.bit = -1
		for b := range 8 * len(r.v) {
			if r.v[b/8]>>(b%8)&1 == 1 {
				r.bit = b
				break
			}
		}
		if r.bit < 0 { // vector i is the XOR of earlier ones
			var out []int
			for j := range n {
				if r.comb[j/64]>>(j%64)&1 == 1 {
					out = append(out, j)
				}
			}
			return out
		}
		rows = append(rows, r)
	}
	return nil
}
