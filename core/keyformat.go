package core

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"regexp"
	"unsafe"
)

// Key format constants. A key is KeyPrefix, BodyLength base62 characters
// encoding 32 random bytes, and ChecksumLength base62 characters encoding the
// CRC-32 (IEEE) of everything before it.
const (
	KeyPrefix      = "kdk_"
	BodyLength     = 43
	ChecksumLength = 6
	KeyLength      = len(KeyPrefix) + BodyLength + ChecksumLength // 53
	// HintLength is the number of body characters shown in a key's hint.
	HintLength = 3
)

// KeyPattern matches a Keydesk key inside arbitrary text; secret scanners can
// use it to find leaked keys.
var KeyPattern = regexp.MustCompile(`\bkdk_[0-9A-Za-z]{49}\b`)

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Errors returned by ParseKey. ErrBadChecksum is the only one for a key that is
// well-formed but mistyped; the others mean the string is not a key at all.
var (
	ErrKeyPrefix   = errors.New("the key does not start with kdk_")
	ErrKeyLength   = fmt.Errorf("the key is not %d characters long", KeyLength)
	ErrKeyAlphabet = errors.New("the key contains characters other than 0-9, A-Z and a-z")
	ErrKeyRange    = errors.New("the key's random part is out of range")
	ErrBadChecksum = errors.New("the key's checksum does not match (is it mistyped?)")
)

// maxBody is 2^256-1 in base62, left-padded to BodyLength. Because the
// alphabet is in ASCII order and bodies have a fixed length, a body is in
// range exactly when it is not lexicographically greater than maxBody.
var maxBody = encodeBase62([]byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}, BodyLength)

var base62Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base62Alphabet); i++ {
		t[base62Alphabet[i]] = int8(i)
	}
	return t
}()

// uint256 is a 256-bit number as four 64-bit limbs, most significant
// first: a key's random part, decoded and encoded with integer arithmetic
// (math/big allocates on every call, and ParseKey is on the verification
// path).
type uint256 [4]uint64

// uint256From reads the big-endian b (at most 32 bytes).
func uint256From(b []byte) (n uint256) {
	var buf [32]byte
	copy(buf[32-len(b):], b)
	for i := range n {
		n[i] = binary.BigEndian.Uint64(buf[8*i:])
	}
	return n
}

// divMod62 divides n by 62 in place and returns the remainder.
func (n *uint256) divMod62() uint64 {
	var r uint64
	for i := range n {
		n[i], r = bits.Div64(r, n[i], 62)
	}
	return r
}

// mulAdd62 sets n to n*62+d, modulo 2^256.
func (n *uint256) mulAdd62(d uint64) {
	carry := d
	for i := len(n) - 1; i >= 0; i-- {
		hi, lo := bits.Mul64(n[i], 62)
		var c uint64
		n[i], c = bits.Add64(lo, carry, 0)
		carry = hi + c
	}
}

func (n *uint256) isZero() bool { return n[0]|n[1]|n[2]|n[3] == 0 }

// encodeBase62 encodes the big-endian number b (at most 32 bytes) in
// base62, left-padded with '0' to width characters.
func encodeBase62(b []byte, width int) string {
	n := uint256From(b)
	out := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		if n.isZero() {
			out[i] = '0'
			continue
		}
		out[i] = base62Alphabet[n.divMod62()]
	}
	return string(out)
}

func checksum(s string) string {
	c := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, ChecksumLength)
	for i := ChecksumLength - 1; i >= 0; i-- {
		out[i] = base62Alphabet[c%62]
		c /= 62
	}
	return string(out)
}

// prefixCRC is the CRC-32 of KeyPrefix, from which checksumMatches goes on.
var prefixCRC = crc32.ChecksumIEEE([]byte(KeyPrefix))

// checksumMatches reports whether the last ChecksumLength characters of the
// KeyLength-character s are the checksum of the rest. It is checksum
// without allocating, for the verification hot path: hash/crc32 reads the
// string's bytes in place (it neither keeps nor changes them), with its
// slicing-by-8 tables, about four times faster than a byte-at-a-time loop.
func checksumMatches(s string) bool {
	body := s[len(KeyPrefix) : KeyLength-ChecksumLength]
	c := crc32.Update(prefixCRC, crc32.IEEETable, unsafe.Slice(unsafe.StringData(body), len(body)))
	for i := KeyLength - 1; i >= KeyLength-ChecksumLength; i-- {
		if s[i] != base62Alphabet[c%62] {
			return false
		}
		c /= 62
	}
	return true
}

// FormatKey returns the key whose random part is random.
func FormatKey(random [32]byte) string {
	s := KeyPrefix + encodeBase62(random[:], BodyLength)
	return s + checksum(s)
}

// GenerateKey returns a new key made of 32 bytes read from r, or from
// crypto/rand when r is nil.
func GenerateKey(r io.Reader) (string, error) {
	var random [32]byte
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, random[:]); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return FormatKey(random), nil
}

// CheckKey validates s as a key without decoding it: prefix, length,
// alphabet, range and checksum. It returns nil or one of the ErrKey* errors
// or ErrBadChecksum. It never includes s in the error.
func CheckKey(s string) error {
	if err := checkShape(s); err != nil {
		return err
	}
	body := s[len(KeyPrefix) : len(KeyPrefix)+BodyLength]
	if body > maxBody {
		return ErrKeyRange
	}
	if !checksumMatches(s) {
		return ErrBadChecksum
	}
	return nil
}

// checkShape is the first part of CheckKey: prefix, length and alphabet.
func checkShape(s string) error {
	if len(s) != KeyLength {
		if len(s) >= len(KeyPrefix) && s[:len(KeyPrefix)] != KeyPrefix {
			return ErrKeyPrefix
		}
		return ErrKeyLength
	}
	if s[:len(KeyPrefix)] != KeyPrefix {
		return ErrKeyPrefix
	}
	// One test after the loop instead of a branch per character: every
	// character outside the alphabet has a negative index.
	var bad int8
	for i := len(KeyPrefix); i < KeyLength; i++ {
		bad |= base62Index[s[i]]
	}
	if bad < 0 {
		return ErrKeyAlphabet
	}
	return nil
}

// ParseKey validates s and returns its 32 random bytes. It does not
// allocate.
func ParseKey(s string) ([32]byte, error) {
	var out [32]byte
	if err := CheckKey(s); err != nil {
		return out, err
	}
	var n uint256
	for i := len(KeyPrefix); i < len(KeyPrefix)+BodyLength; i++ {
		// CheckKey bounded the body by maxBody, so this cannot overflow.
		n.mulAdd62(uint64(base62Index[s[i]]))
	}
	for i, limb := range n {
		binary.BigEndian.PutUint64(out[8*i:], limb)
	}
	return out, nil
}

// KeyHint returns the part of a key that may be shown after creation:
// the prefix and the first HintLength characters of the random part.
func KeyHint(key string) string {
	if len(key) < len(KeyPrefix)+HintLength {
		return key
	}
	return key[:len(KeyPrefix)+HintLength]
}
