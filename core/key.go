package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest key name, in characters, after trimming.
const MaxNameLength = 100

// Key is the stored record of an API key. It never holds the secret: only
// its HMAC digest and its hint.
type Key struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Digest      []byte      `json:"digest"`
	Hint        string      `json:"hint"`
	Permissions Permissions `json:"permissions"`
	Scopes      []string    `json:"scopes"`
	CreatedAt   time.Time   `json:"createdAt"`
	ExpiresAt   time.Time   `json:"expiresAt"`
	// LastUsedAt is the time of the last successful verification; zero if
	// never. It is not covered by the record MAC.
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
	// RolledFrom is the id of the key this one replaced by a roll; empty
	// if it was created. Covered by the record MAC.
	RolledFrom string `json:"rolledFrom,omitempty"`
	// RolledTo is the id of the key that replaced this one by a roll;
	// empty if it was never rolled. Covered by the record MAC.
	RolledTo string `json:"rolledTo,omitempty"`
	// MAC authenticates every other field except LastUsedAt.
	MAC []byte `json:"mac"`

	// Tampered is set when the record's MAC does not match; such a key
	// never verifies. It is computed on load, never stored.
	Tampered bool `json:"-"`
}

// Expired reports whether the key has expired at now.
func (k *Key) Expired(now time.Time) bool { return !now.Before(k.ExpiresAt) }

// ExpiresWithin reports whether the key is active at now and expires
// within d.
func (k *Key) ExpiresWithin(now time.Time, d time.Duration) bool {
	return !k.Expired(now) && k.ExpiresAt.Sub(now) <= d
}

// Clone returns a deep copy of k.
func (k *Key) Clone() *Key {
	c := *k
	// Digest and MAC share one allocation (Clone is on the verification
	// hot path); the three-index slice keeps an append to Digest from
	// overwriting MAC.
	c.Digest, c.MAC = nil, nil
	if n := len(k.Digest) + len(k.MAC); n > 0 {
		buf := make([]byte, n)
		copy(buf, k.Digest)
		copy(buf[len(k.Digest):], k.MAC)
		if len(k.Digest) > 0 {
			c.Digest = buf[:len(k.Digest):len(k.Digest)]
		}
		if len(k.MAC) > 0 {
			c.MAC = buf[len(k.Digest):]
		}
	}
	c.Scopes = append([]string(nil), k.Scopes...)
	c.Permissions.Operations = append([]string(nil), k.Permissions.Operations...)
	if k.Permissions.Sections != nil {
		c.Permissions.Sections = make(map[string]Access, len(k.Permissions.Sections))
		for id, a := range k.Permissions.Sections {
			c.Permissions.Sections[id] = a
		}
	}
	return &c
}

// MACPayload is the canonical, unambiguous encoding of every field the
// record MAC covers.
func (k *Key) MACPayload() []byte {
	var b []byte
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	str("keydesk-key-v1")
	str(k.ID)
	str(k.Name)
	str(string(k.Digest))
	str(k.Hint)
	str(string(k.Permissions.Kind))
	secs := make([]string, 0, len(k.Permissions.Sections))
	for id, a := range k.Permissions.Sections {
		secs = append(secs, id+"="+string(a))
	}
	sort.Strings(secs)
	str(strings.Join(secs, ","))
	str(strings.Join(k.Permissions.Operations, ","))
	str(strings.Join(k.Scopes, ","))
	b = binary.BigEndian.AppendUint64(b, uint64(k.CreatedAt.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(k.ExpiresAt.UnixNano()))
	if k.RolledFrom != "" || k.RolledTo != "" {
		// Only rolled keys carry the links, so the payload (and the MAC)
		// of every record written before rolls existed is unchanged.
		// The fixed-size times above end the v1 payload, so the extra
		// length-prefixed fields cannot be confused with it.
		str("rolled")
		str(k.RolledFrom)
		str(k.RolledTo)
	}
	return b
}

// Name errors.
var (
	ErrNameEmpty   = errors.New("enter a name for the key")
	ErrNameTooLong = fmt.Errorf("the name is longer than %d characters", MaxNameLength)
	ErrNameControl = errors.New("the name contains control characters")
)

// CleanName trims name and checks it: 1–100 characters, any Unicode letters,
// no control characters.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", ErrNameEmpty
	}
	if !utf8.ValidString(name) {
		return "", ErrNameControl
	}
	if utf8.RuneCountInString(name) > MaxNameLength {
		return "", ErrNameTooLong
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) && r != '\u200d' {
			return "", ErrNameControl
		}
	}
	return name, nil
}
