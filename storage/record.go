package storage

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/keydesk/keydesk/core"
)

// recordFormatV1 is the leading byte of a binary key record. A record in
// any other format fails to decode with ErrCorrupt; a new layout gets a new
// format byte (and, for existing stores, a schema migration).
const recordFormatV1 = 0x01

// zeroTime is how a zero time.Time is stored (a never-used key's
// LastUsedAt): the smallest int64, an instant (1677-09-21) no record holds.
const zeroTime = math.MinInt64

// A key record in the keys bucket is, in this order:
//
//	format    1 byte, recordFormatV1
//	ID        uvarint length, bytes
//	Name      uvarint length, bytes
//	Digest    uvarint length, bytes
//	Hint      uvarint length, bytes
//	Kind      uvarint length, bytes
//	Sections  uvarint count, then per section in increasing id order:
//	          uvarint length, id bytes, uvarint length, access bytes
//	Operations uvarint count, then per operation: uvarint length, bytes
//	Scopes    uvarint count, then per scope: uvarint length, bytes
//	CreatedAt  8 bytes big-endian Unix nanoseconds (zeroTime if zero)
//	ExpiresAt  8 bytes, likewise
//	LastUsedAt 8 bytes, likewise
//	MAC       uvarint length, bytes
//
// The encoding is canonical: decodeKey accepts only what encodeKey writes
// (minimal uvarints, sorted unique section ids, no trailing bytes), so
// encodeKey(decodeKey(b)) == b for every record that decodes. Times are
// stored as Unix nanoseconds, as in core.Key.MACPayload, so they must lie
// between the years 1678 and 2262 (key policy keeps them there) and come
// back in UTC. Key.Tampered is never stored.

// EncodeRecord returns the stored form of a key record, as Store writes it
// in its keys bucket. It is for tools and tests that edit a database file
// directly; programs use Store.
func EncodeRecord(k *core.Key) []byte { return encodeKey(k) }

// DecodeRecord decodes a key record as read from a Store's keys bucket,
// copying everything out of data. A malformed record fails with an error
// wrapping ErrCorrupt. It is for tools and tests that read a database file
// directly; programs use Store.
func DecodeRecord(data []byte) (*core.Key, error) { return decodeKey(data) }

// encodeKey returns the binary record of k (see the layout above).
func encodeKey(k *core.Key) []byte {
	p := &k.Permissions
	secIDs := make([]string, 0, len(p.Sections))
	for id := range p.Sections {
		secIDs = append(secIDs, id)
	}
	slices.Sort(secIDs)

	size := 1 + 3*8 +
		strLen(k.ID) + strLen(k.Name) + strLen(string(k.Digest)) + strLen(k.Hint) + strLen(string(p.Kind)) + strLen(string(k.MAC)) +
		uvarintLen(uint64(len(secIDs))) + uvarintLen(uint64(len(p.Operations))) + uvarintLen(uint64(len(k.Scopes)))
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
	b = append(b, recordFormatV1)
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
	b = appendString(b, string(k.MAC))
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
	n := int64(zeroTime)
	if !t.IsZero() {
		n = t.UnixNano()
	}
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

// decodeKey decodes a binary key record (see encodeKey), copying everything
// out of data (which may be a bbolt buffer, valid only during its
// transaction). A malformed record fails with an error wrapping ErrCorrupt
// that names the record's id when it could be read, never other contents.
func decodeKey(data []byte) (*core.Key, error) { return decodeRecord(data, nil) }

// decodeKeyAt is decodeKey for the record stored under id; its errors name
// id.
func decodeKeyAt(id, data []byte) (*core.Key, error) {
	if id == nil {
		id = []byte{}
	}
	return decodeRecord(data, id)
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
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decodeRecord decodes data; errors name id, or the id read from the record
// when id is nil.
func decodeRecord(data, id []byte) (*core.Key, error) {
	corrupt := func(what string) error {
		name := "a key record"
		if len(id) > 0 {
			const maxShown = 64
			name = fmt.Sprintf("key record %q", id[:min(len(id), maxShown)])
		}
		return fmt.Errorf("%w: %s is unreadable (%s)", ErrCorrupt, name, what)
	}
	if len(data) == 0 {
		return nil, corrupt("empty")
	}
	if data[0] != recordFormatV1 {
		return nil, corrupt(fmt.Sprintf("unknown format 0x%02x", data[0]))
	}
	r := &recordReader{data: data, str: string(data), off: 1}
	k := new(core.Key)
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
	mi, mj := r.span("MAC")
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
		return nil, corrupt(r.err)
	}
	// Digest and MAC share one allocation; the three-index slice keeps an
	// append to Digest from overwriting MAC (as core.Key.Clone does).
	if n := (dj - di) + (mj - mi); n > 0 {
		buf := make([]byte, n)
		copy(buf, data[di:dj])
		copy(buf[dj-di:], data[mi:mj])
		if dj > di {
			k.Digest = buf[: dj-di : dj-di]
		}
		if mj > mi {
			k.MAC = buf[dj-di:]
		}
	}
	return k, nil
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

// recordFields returns, without copying or allocating, the fields of a
// binary record that Seal checks: its id, digest, expiry (Unix ns, or
// zeroTime) and MAC, all slices of data. ok is false for a record that
// does not parse; decodeKeyAt then says why. It checks the framing only
// (decodeKey checks the rest when the records are loaded).
func recordFields(data []byte) (id, digest []byte, expires int64, mac []byte, ok bool) {
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
	if len(data) == 0 || data[0] != recordFormatV1 {
		return nil, nil, 0, nil, false
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
		return nil, nil, 0, nil, false
	}
	expires = int64(binary.BigEndian.Uint64(data[off+8:]))
	off += 3 * 8
	mac = field()
	if off != len(data) {
		return nil, nil, 0, nil, false
	}
	return id, digest, expires, mac, true
}
