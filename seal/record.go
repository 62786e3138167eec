package seal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unique"

	"github.com/keydesk/keydesk/core"
)

// ErrCorrupt means a key record does not decode (or is stored under
// another record's id). Package storage reports it for the rest of a
// damaged database too.
var ErrCorrupt = errors.New("database damaged")

// RecordV1 is the leading byte of a binary key record. A record in
// any other format fails to decode with ErrCorrupt; a new layout gets a new
// format byte (and, for existing stores, a schema migration).
const RecordV1 = 0x01

// RecordV2 is the leading byte of a rolled key's record: the v1
// layout with its two roll links (see below). Records without links stay
// in v1, byte for byte, so stores and backups written before rolls existed
// need no rewrite (schema v4 only keeps older builds from opening a store
// that may hold v2 records).
const RecordV2 = 0x02

// RecordV3 is the leading byte of a signed record, the only format a
// store of schema v5 or later holds: the v2 layout with the roll links
// always present (empty when the key was never rolled), followed by the
// record's Ed25519 signature over core.Key.MACPayload (see package
// storage's seal.go; empty
// for a record whose MAC did not check out when the store was migrated,
// which stays tampered).
const RecordV3 = 0x03

// ZeroTime is how a zero time.Time is stored (a never-used key's
// LastUsedAt): the smallest int64, an instant (1677-09-21) no record holds.
const ZeroTime = math.MinInt64

// A key record in the keys bucket is, in this order:
//
//	format    1 byte, RecordV1
//	ID        uvarint length, bytes
//	Name      uvarint length, bytes
//	Digest    uvarint length, bytes
//	Hint      uvarint length, bytes
//	Kind      uvarint length, bytes
//	Sections  uvarint count, then per section in increasing id order:
//	          uvarint length, id bytes, uvarint length, access bytes
//	Operations uvarint count, then per operation: uvarint length, bytes
//	Scopes    uvarint count, then per scope: uvarint length, bytes
//	CreatedAt  8 bytes big-endian Unix nanoseconds (ZeroTime if zero)
//	ExpiresAt  8 bytes, likewise
//	LastUsedAt 8 bytes, likewise
//	RolledFrom uvarint length, bytes   (formats v2 and v3)
//	RolledTo   uvarint length, bytes   (formats v2 and v3)
//	MAC       uvarint length, bytes
//	Signature uvarint length, bytes   (format v3 only)
//
// An unsigned record (formats v1 and v2, written by stores before schema
// v5 and by stores never sealed) is in v2 exactly when RolledFrom or
// RolledTo is set; a v2 record with both empty is not canonical and fails
// to decode. A signed record is always v3.
// The encoding is canonical: DecodeRecord accepts only what EncodeRecord
// and EncodeSignedRecord write
// (minimal uvarints, sorted unique section ids, no trailing bytes), so
// encoding what decodes gives back the same bytes. Times are
// stored as Unix nanoseconds, as in core.Key.MACPayload, so they must lie
// between the years 1678 and 2262 (key policy keeps them there) and come
// back in UTC. Key.Tampered is never stored.

// EncodeRecord returns the stored form of an unsigned key record (formats
// v1 and v2): what a store before record signatures holds, and the
// shared store's record column.
func EncodeRecord(k *core.Key) []byte { return encodeRecord(k, nil, false) }

// EncodeSignedRecord returns the stored form of a signed key record
// (format v3, with the record's Ed25519 signature sig), as a local store
// of schema v5 or later writes it in its keys bucket.
func EncodeSignedRecord(k *core.Key, sig []byte) []byte { return encodeRecord(k, sig, true) }

// DecodeRecord decodes a key record, copying everything out of data (a
// signed record's signature is dropped). A malformed record fails with an
// error wrapping ErrCorrupt that names the record's id when it could be
// read, never other contents.
func DecodeRecord(data []byte) (*core.Key, error) {
	return (*RecordDecoder)(nil).Decode(data)
}

// DecodeSignedRecord is DecodeRecord that also returns the record's
// Ed25519 signature: nil for an unsigned record.
func DecodeSignedRecord(data []byte) (k *core.Key, sig []byte, err error) {
	k, sig, err = decodeRecord(nil, data, nil)
	if sig != nil {
		sig = append([]byte{}, sig...)
	}
	return k, sig, err
}

// DecodeRecordAt decodes the record stored under id (which may be a bbolt
// buffer, valid only during its transaction): the key is copied out of
// data, but the signature (nil for an unsigned record, not nil but empty
// for a signed record with an empty signature) is a slice of data, which
// the caller copies if it keeps it past data's life. A record holding
// another id fails with ErrCorrupt; errors name id.
func DecodeRecordAt(id, data []byte) (*core.Key, []byte, error) {
	return (*RecordDecoder)(nil).DecodeAt(id, data)
}

// encodeRecord returns the binary record of k: signed (format v3, with
// sig) or unsigned (v1 or v2, sig ignored).
func encodeRecord(k *core.Key, sig []byte, signed bool) []byte {
	p := &k.Permissions
	secIDs := make([]string, 0, len(p.Sections))
	for id := range p.Sections {
		secIDs = append(secIDs, id)
	}
	slices.Sort(secIDs)

	rolled := k.RolledFrom != "" || k.RolledTo != "" || signed
	size := 1 + 3*8 +
		strLen(k.ID) + strLen(k.Name) + strLen(string(k.Digest)) + strLen(k.Hint) + strLen(string(p.Kind)) + strLen(string(k.MAC)) +
		uvarintLen(uint64(len(secIDs))) + uvarintLen(uint64(len(p.Operations))) + uvarintLen(uint64(len(k.Scopes)))
	if rolled {
		size += strLen(k.RolledFrom) + strLen(k.RolledTo)
	}
	if signed {
		size += strLen(string(sig))
	}
	for _, id := range secIDs {
		size += strLen(id) + strLen(string(p.Sections[id]))
	}
	for _, s := range p.Operations {
		size += strLen(s)
	}
	for _, s := range k.Scopes {
		size += strLen(s)
	}

	b := make([]byte, 0, size)
	if signed {
		b = append(b, RecordV3)
	} else if rolled {
		b = append(b, RecordV2)
	} else {
		b = append(b, RecordV1)
	}
	b = appendString(b, k.ID)
	b = appendString(b, k.Name)
	b = appendString(b, string(k.Digest))
	b = appendString(b, k.Hint)
	b = appendString(b, string(p.Kind))
	b = binary.AppendUvarint(b, uint64(len(secIDs)))
	for _, id := range secIDs {
		b = appendString(b, id)
		b = appendString(b, string(p.Sections[id]))
	}
	b = binary.AppendUvarint(b, uint64(len(p.Operations)))
	for _, s := range p.Operations {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(k.Scopes)))
	for _, s := range k.Scopes {
		b = appendString(b, s)
	}
	b = appendTime(b, k.CreatedAt)
	b = appendTime(b, k.ExpiresAt)
	b = appendTime(b, k.LastUsedAt)
	if rolled {
		b = appendString(b, k.RolledFrom)
		b = appendString(b, k.RolledTo)
	}
	b = appendString(b, string(k.MAC))
	if signed {
		b = appendString(b, string(sig))
	}
	return b
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

func strLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	n := int64(ZeroTime)
	if !t.IsZero() {
		n = t.UnixNano()
	}
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

// recordReader reads the fields of a record. Offsets index both data (for
// uvarints and times) and str, one string copy of data that every decoded
// string field is a substring of: one allocation for all of them.
type recordReader struct {
	data []byte
	str  string
	off  int
	err  string // the first problem found, "" if none
}

func (r *recordReader) fail(what string) {
	if r.err == "" {
		r.err = fmt.Sprintf("%s at byte %d of %d", what, r.off, len(r.data))
	}
}

func (r *recordReader) uvarint(what string) uint64 {
	if r.err != "" {
		return 0
	}
	v, n := binary.Uvarint(r.data[r.off:])
	switch {
	case n <= 0:
		r.fail("bad " + what)
		return 0
	case n > 1 && r.data[r.off+n-1] == 0:
		r.fail("non-canonical " + what)
		return 0
	}
	r.off += n
	return v
}

// span reads a length-prefixed field and returns its bounds.
func (r *recordReader) span(what string) (int, int) {
	n := r.uvarint(what + " length")
	if r.err != "" {
		return r.off, r.off
	}
	if n > uint64(len(r.data)-r.off) {
		r.fail(what + " runs past the end")
		return r.off, r.off
	}
	start := r.off
	r.off += int(n)
	return start, r.off
}

func (r *recordReader) string(what string) string {
	i, j := r.span(what)
	return r.str[i:j]
}

// count reads an element count; each element takes at least minSize bytes,
// which bounds the count by what is left (no huge allocation from a
// corrupt count).
func (r *recordReader) count(what string, minSize int) int {
	n := r.uvarint(what + " count")
	if r.err != "" {
		return 0
	}
	if n > uint64((len(r.data)-r.off)/minSize) {
		r.fail(what + " count exceeds the record")
		return 0
	}
	return int(n)
}

func (r *recordReader) time(what string) time.Time {
	if r.err != "" {
		return time.Time{}
	}
	if len(r.data)-r.off < 8 {
		r.fail(what + " runs past the end")
		return time.Time{}
	}
	n := int64(binary.BigEndian.Uint64(r.data[r.off:]))
	r.off += 8
	if n == ZeroTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decodeRecord decodes data and returns the key and its signature (nil
// when unsigned; otherwise a slice of data, which the caller copies if it
// keeps it past data's life); errors name id, or the id read from the
// record when id is nil. The record, its own strings and its MAC come from
// d's blocks, or from allocations of their own when d is nil.
func decodeRecord(d *RecordDecoder, data, id []byte) (*core.Key, []byte, error) {
	corrupt := func(what string) error {
		name := "a key record"
		if len(id) > 0 {
			const maxShown = 64
			name = fmt.Sprintf("key record %q", id[:min(len(id), maxShown)])
		}
		return fmt.Errorf("%w: %s is unreadable (%s)", ErrCorrupt, name, what)
	}
	if len(data) == 0 {
		return nil, nil, corrupt("empty")
	}
	if data[0] != RecordV1 && data[0] != RecordV2 && data[0] != RecordV3 {
		return nil, nil, corrupt(fmt.Sprintf("unknown format 0x%02x", data[0]))
	}
	r := &recordReader{data: data, str: string(data), off: 1}
	k := d.newKey()
	k.ID = r.string("id")
	if id == nil && r.err == "" {
		id = data[1+uvarintLen(uint64(len(k.ID))):][:len(k.ID)]
	}
	k.Name = r.string("name")
	di, dj := r.span("digest")
	k.Hint = r.string("hint")
	k.Permissions.Kind = core.PermissionKind(r.string("permission kind"))
	if n := r.count("section", 2); n > 0 {
		k.Permissions.Sections = make(map[string]core.Access, n)
		prev := ""
		for i := range n {
			sec := r.string("section id")
			acc := r.string("section access")
			if r.err != "" {
				break
			}
			if i > 0 && sec <= prev {
				r.fail("section ids out of order")
				break
			}
			prev = sec
			k.Permissions.Sections[sec] = core.Access(acc)
		}
	}
	k.Permissions.Operations = r.strings("operation")
	k.Scopes = r.strings("scope")
	k.CreatedAt = r.time("creation time")
	k.ExpiresAt = r.time("expiry time")
	k.LastUsedAt = r.time("last-used time")
	if data[0] != RecordV1 {
		k.RolledFrom = r.string("rolled-from id")
		k.RolledTo = r.string("rolled-to id")
		if r.err == "" && data[0] == RecordV2 && k.RolledFrom == "" && k.RolledTo == "" {
			r.fail("format 2 without roll links")
		}
	}
	mi, mj := r.span("MAC")
	var sig []byte
	if data[0] == RecordV3 {
		si, sj := r.span("signature")
		if r.err == "" {
			sig = data[si:sj:sj] // not nil when empty: the record is signed
		}
	}
	if r.err == "" && r.off != len(data) {
		r.fail("trailing bytes")
	}
	if r.err == "" && id != nil && k.ID != string(id) {
		// The record MAC covers the id: a record is only ever valid
		// under its own id (a deleted record's bytes written back under
		// a live record's id must not load).
		r.fail("holds the id of another record")
	}
	if r.err != "" {
		*k = core.Key{} // a slot of d's block: keep nothing of data alive
		return nil, nil, corrupt(r.err)
	}
	d.rehome(k)
	// Digest and MAC are allocated apart: core.Service keeps the digest
	// in its index entry and points the record's Digest there, so that
	// the copy made here is garbage once the record is indexed.
	if dj > di {
		k.Digest = bytes.Clone(data[di:dj])
	}
	if mj > mi {
		k.MAC = d.clone(data[mi:mj])
	}
	return k, sig, nil
}

// rehome moves k's own strings (id, name, hint, roll links) off the
// record's string copy that the reader cut them from, appending them to b
// (a builder of their own, or a RecordDecoder's block), and interns its
// permission kind, so that a record kept in
// memory (100,000 of them in a window or a replica) does not keep its
// whole encoded record alive. The section, operation and scope strings
// stay cut from the copy: core.Service replaces them with the shared sets
// it interns (most records share a few hundred), after which the copy is
// garbage.
func rehome(k *core.Key, b *strings.Builder) {
	start := b.Len()
	for _, s := range [...]string{k.ID, k.Name, k.Hint, k.RolledFrom, k.RolledTo} {
		b.WriteString(s)
	}
	own := b.String()[start:]
	cut := func(s string) string {
		v := own[:len(s)]
		own = own[len(s):]
		return v
	}
	k.ID, k.Name, k.Hint, k.RolledFrom, k.RolledTo = cut(k.ID), cut(k.Name), cut(k.Hint), cut(k.RolledFrom), cut(k.RolledTo)
	k.Permissions.Kind = core.PermissionKind(intern(string(k.Permissions.Kind)))
}

// ownLen is the length of k's own strings, which rehome copies.
func ownLen(k *core.Key) int {
	return len(k.ID) + len(k.Name) + len(k.Hint) + len(k.RolledFrom) + len(k.RolledTo)
}

// intern returns s held once per process (see rehome); "" stays "".
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// strings reads a counted list of strings; nil when empty.
func (r *recordReader) strings(what string) []string {
	n := r.count(what, 1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.string(what)
	}
	if r.err != "" {
		return nil
	}
	return out
}

// Fields are the fields of a binary record that a set check reads: all
// slices of the record's bytes.
type Fields struct {
	ID, Digest []byte
	// Expires is the expiry in Unix nanoseconds, or ZeroTime.
	Expires int64
	MAC     []byte
	// Sig is the record's signature: nil when unsigned, empty (not nil)
	// for a signed record with an empty signature.
	Sig []byte
}

// RecordFields returns, without copying or allocating, the Fields of a
// binary record. ok is false for a record that does not parse;
// DecodeRecordAt then says why. It checks the framing only (DecodeRecord
// checks the rest).
func RecordFields(data []byte) (f Fields, ok bool) {
	id, digest, expires, mac, sig, ok := recordFields(data)
	return Fields{ID: id, Digest: digest, Expires: expires, MAC: mac, Sig: sig}, ok
}

// recordFields is RecordFields, field by field.
func recordFields(data []byte) (id, digest []byte, expires int64, mac, sig []byte, ok bool) {
	off := 1
	field := func() []byte {
		if off < 0 {
			return nil
		}
		n, k := binary.Uvarint(data[off:])
		if k <= 0 || n > uint64(len(data)-off-k) {
			off = -1
			return nil
		}
		start := off + k
		off = start + int(n)
		return data[start:off]
	}
	count := func() uint64 {
		if off < 0 {
			return 0
		}
		n, k := binary.Uvarint(data[off:])
		if k <= 0 || n > uint64(len(data)-off-k) {
			off = -1
			return 0
		}
		off += k
		return n
	}
	if len(data) == 0 || data[0] != RecordV1 && data[0] != RecordV2 && data[0] != RecordV3 {
		return nil, nil, 0, nil, nil, false
	}
	id = field()
	field() // name
	digest = field()
	field() // hint
	field() // permission kind
	for n := count(); n > 0 && off >= 0; n-- {
		field()
		field()
	}
	for range 2 { // operations, scopes
		for n := count(); n > 0 && off >= 0; n-- {
			field()
		}
	}
	if off < 0 || len(data)-off < 3*8 {
		return nil, nil, 0, nil, nil, false
	}
	expires = int64(binary.BigEndian.Uint64(data[off+8:]))
	off += 3 * 8
	if data[0] != RecordV1 {
		field() // rolled from
		field() // rolled to
	}
	mac = field()
	if data[0] == RecordV3 {
		if sig = field(); sig == nil {
			sig = data[len(data):] // signed, with an empty signature
		}
	}
	if off != len(data) {
		return nil, nil, 0, nil, nil, false
	}
	return id, digest, expires, mac, sig, true
}
