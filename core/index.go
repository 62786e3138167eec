package core

import (
	"crypto/sha256"
	"encoding/binary"
	"iter"
	"math"
	"time"
)

// The digest index: every record's entry, found by its HMAC digest.
//
// A verification reads the map's group and one entry, and nothing else:
// the map is keyed by the digest's first 8 bytes (HMAC-SHA256 output is
// uniform, so they spread like a hash, and a uint64 key is compared in the
// group itself instead of through a pointer to the digest's bytes), and
// the entry holds the whole digest, the expiry, the last use, the scope
// set and the check state, so the record (Key) itself is not read. The
// rare entry whose digest's first 8 bytes are another indexed entry's is
// kept in a second map, by its whole digest (collided), which is read
// only when the first map's entry is not the digest looked up.

// digestLen is the length of a digest the index holds (HMAC-SHA256).
const digestLen = sha256.Size

// digestPrefix is the index's map key for d.
func digestPrefix(d *[digestLen]byte) uint64 { return binary.LittleEndian.Uint64(d[:8]) }

// lookup returns the entry of digest d, or nil; s.mu must be held. The
// digests are compared in constant time.
func (s *Service) lookup(d *[digestLen]byte) *entry {
	e := s.byDigest[digestPrefix(d)]
	switch {
	case e == nil:
		return nil
	case equalDigest(&e.digest, d):
		return e
	case len(s.collided) == 0:
		return nil
	}
	return s.collided[*d]
}

// equalDigest compares a and b in constant time.
func equalDigest(a, b *[digestLen]byte) bool {
	var x uint64
	for i := 0; i < digestLen; i += 8 {
		x |= binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
	}
	return x == 0
}

// link adds e, whose digest is not indexed, to the digest index; s.mu
// must be held for writing.
func (s *Service) link(e *entry) {
	p := digestPrefix(&e.digest)
	if _, taken := s.byDigest[p]; !taken {
		s.byDigest[p] = e
		return
	}
	if s.collided == nil {
		s.collided = make(map[[digestLen]byte]*entry)
	}
	s.collided[e.digest] = e
}

// unlink removes e from the digest index; s.mu must be held for writing.
// An entry of the same prefix moves from collided to the first map.
func (s *Service) unlink(e *entry) {
	p := digestPrefix(&e.digest)
	if s.byDigest[p] != e {
		delete(s.collided, e.digest)
		return
	}
	delete(s.byDigest, p)
	for d, o := range s.collided {
		if digestPrefix(&d) == p {
			delete(s.collided, d)
			s.byDigest[p] = o
			return
		}
	}
}

// digestOf returns k's digest as the index keys it, and false when it is
// not an HMAC-SHA256 digest (a forged record: no presented key matches
// it, so it is listed but not in the digest index).
func digestOf(k *Key) (d [digestLen]byte, ok bool) {
	if len(k.Digest) != digestLen {
		return d, false
	}
	copy(d[:], k.Digest)
	return d, true
}

// unixNano returns t in Unix ns, saturated to the int64 range (a time
// before 1678 or after 2262, such as the zero time, has no ns value).
func unixNano(t time.Time) int64 {
	switch s := t.Unix(); {
	case s <= math.MinInt64/int64(time.Second)+1:
		return math.MinInt64 + 1
	case s >= math.MaxInt64/int64(time.Second)-1:
		return math.MaxInt64
	}
	return t.UnixNano()
}

// scopeSet is one interned list of scopes (see internScopes).
type scopeSet struct{ list []string }

// noScopes is the scope set of a record without scopes.
var noScopes = &scopeSet{}

// setKey makes k e's record and copies what a verification reads into e
// (not the check state: see setChecked); s.mu must be held for writing.
func (s *Service) setKey(e *entry, k *Key, scopes *scopeSet) {
	e.key = k
	e.scopes = scopes
	e.expires = unixNano(k.ExpiresAt)
	e.lastUsed = noUse
	if !k.LastUsedAt.IsZero() {
		e.lastUsed = unixNano(k.LastUsedAt)
	}
	s.setRow(e)
}

// setChecked sets e's check state from its record's Tampered flag, for a
// record whose MAC or signature was checked.
func (e *entry) setChecked() {
	if e.key.Tampered {
		e.sig.Store(sigBad)
	} else {
		e.sig.Store(sigChecked)
	}
}

// lastUsedAt is e's stored last use (Key.LastUsedAt), zero if never.
func (e *entry) lastUsedAt() time.Time {
	if e.lastUsed == noUse {
		return time.Time{}
	}
	return time.Unix(0, e.lastUsed).UTC()
}

// idIndex finds entries by key id. Keydesk's ids are 16 lowercase hex
// digits (8 random bytes): those are kept by their value, 8 bytes a map
// slot instead of a 16-byte string header; any other id (a record written
// by something else) by its string.
type idIndex struct {
	hex   map[uint64]*entry
	other map[string]*entry
}

func newIDIndex(n int) idIndex {
	return idIndex{hex: make(map[uint64]*entry, n)}
}

// hexID returns the value of a 16-digit lowercase hex id.
func hexID(id string) (uint64, bool) {
	if len(id) != 16 {
		return 0, false
	}
	var v uint64
	for i := range len(id) {
		c := id[i]
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

func (x *idIndex) get(id string) (*entry, bool) {
	if v, ok := hexID(id); ok {
		e, ok := x.hex[v]
		return e, ok
	}
	e, ok := x.other[id]
	return e, ok
}

func (x *idIndex) set(id string, e *entry) {
	if v, ok := hexID(id); ok {
		x.hex[v] = e
		return
	}
	if x.other == nil {
		x.other = make(map[string]*entry)
	}
	x.other[id] = e
}

func (x *idIndex) del(id string) {
	if v, ok := hexID(id); ok {
		delete(x.hex, v)
		return
	}
	delete(x.other, id)
}

func (x *idIndex) len() int { return len(x.hex) + len(x.other) }

// all yields every entry.
func (x *idIndex) all() iter.Seq[*entry] {
	return func(yield func(*entry) bool) {
		for _, e := range x.hex {
			if !yield(e) {
				return
			}
		}
		for _, e := range x.other {
			if !yield(e) {
				return
			}
		}
	}
}
