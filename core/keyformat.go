package core

import (
	"crypto/rand"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"regexp"
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
var maxBody = encodeBase62(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)).Bytes(), BodyLength)

var base62Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base62Alphabet); i++ {
		t[base62Alphabet[i]] = int8(i)
	}
	return t
}()

// encodeBase62 encodes the big-endian number b in base62, left-padded with
// '0' to width characters.
func encodeBase62(b []byte, width int) string {
	n := new(big.Int).SetBytes(b)
	out := make([]byte, width)
	for i := range out {
		out[i] = '0'
	}
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0 && n.Sign() > 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62Alphabet[mod.Int64()]
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

var crcTable = crc32.MakeTable(crc32.IEEE)

// checksumMatches reports whether the last ChecksumLength characters of the
// KeyLength-character s are the checksum of the rest. It is checksum
// without allocating, for the verification hot path.
func checksumMatches(s string) bool {
	c := ^uint32(0)
	for i := 0; i < KeyLength-ChecksumLength; i++ {
		c = crcTable[byte(c)^s[i]] ^ (c >> 8)
	}
	c = ^c
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
	if len(s) != KeyLength {
		if len(s) >= len(KeyPrefix) && s[:len(KeyPrefix)] != KeyPrefix {
			return ErrKeyPrefix
		}
		return ErrKeyLength
	}
	if s[:len(KeyPrefix)] != KeyPrefix {
		return ErrKeyPrefix
	}
	for i := len(KeyPrefix); i < KeyLength; i++ {
		if base62Index[s[i]] < 0 {
			return ErrKeyAlphabet
		}
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

// ParseKey validates s and returns its 32 random bytes.
func ParseKey(s string) ([32]byte, error) {
	var out [32]byte
	if err := CheckKey(s); err != nil {
		return out, err
	}
	n := new(big.Int)
	base := big.NewInt(62)
	for i := len(KeyPrefix); i < len(KeyPrefix)+BodyLength; i++ {
		n.Mul(n, base)
		n.Add(n, big.NewInt(int64(base62Index[s[i]])))
	}
	n.FillBytes(out[:])
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
