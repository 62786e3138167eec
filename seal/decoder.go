package seal

import (
	"bytes"
	"strings"

	"github.com/keydesk/keydesk/core"
)

// Sizes of a RecordDecoder's blocks: the first ones are small (a list of a
// few records costs little more than their own allocations), each next one
// twice as large, up to these.
const (
	keyBlock  = 256     // records (72 KB)
	textBlock = 8 << 10 // bytes of the records' own strings
	byteBlock = 8 << 10 // bytes of the records' MACs

	firstKeyBlock  = 8
	firstByteBlock = 256 // and first text block
)

// A RecordDecoder decodes the records of a store's load, which are kept
// together for as long as the store is open (a window or a replica keeps
// 100,000 of them). DecodeRecordAt allocates each record's struct, its own
// strings and its MAC apart, and between them the decoding leaves garbage
// of the same sizes (the digest, which the index keeps elsewhere, is the
// MAC's size): once collected, it left the kept records spread over
// partly empty spans. A RecordDecoder hands the three out of blocks that
// hold only them, a few hundred records at a time, so that they fill their
// memory, and the load makes three allocations fewer a record.
//
// A block stays in memory while any record in it does: a record replaced
// later (renamed, rolled) keeps its block until the others in it are
// gone too, so the memory held never exceeds that of the load. A
// RecordDecoder is not safe for concurrent use: each goroutine of a load
// has its own. The zero value is ready for use; a nil *RecordDecoder
// decodes as DecodeRecord and DecodeRecordAt do.
type RecordDecoder struct {
	keys  []core.Key
	text  strings.Builder
	bytes []byte
	// The sizes of the last blocks.
	keyN, textN, byteN int
}

// grow returns the size of the block after one of last (0: none yet).
func grow(last, first, most int) int { return min(most, max(first, 2*last)) }

// DecodeAt is DecodeRecordAt with the record held in d's blocks.
func (d *RecordDecoder) DecodeAt(id, data []byte) (*core.Key, []byte, error) {
	if id == nil {
		id = []byte{}
	}
	return decodeRecord(d, data, id)
}

// Decode is DecodeRecord with the record held in d's blocks.
func (d *RecordDecoder) Decode(data []byte) (*core.Key, error) {
	k, _, err := decodeRecord(d, data, nil)
	return k, err
}

// newKey returns a zero record: the next of d's block, or a new one when
// d is nil.
func (d *RecordDecoder) newKey() *core.Key {
	if d == nil {
		return new(core.Key)
	}
	if len(d.keys) == 0 {
		d.keyN = grow(d.keyN, firstKeyBlock, keyBlock)
		d.keys = make([]core.Key, d.keyN)
	}
	k := &d.keys[0]
	d.keys = d.keys[1:]
	return k
}

// rehome is rehome into d's text block (a builder of k's own when d is
// nil). A builder never changes the bytes it has written, so the strings
// cut from it stay valid; a block too full for k's strings is left to
// them, never grown (which would copy it), and a new one started.
func (d *RecordDecoder) rehome(k *core.Key) {
	n := ownLen(k)
	if d == nil {
		var b strings.Builder
		b.Grow(n)
		rehome(k, &b)
		return
	}
	if d.text.Cap()-d.text.Len() < n {
		d.textN = grow(d.textN, firstByteBlock, textBlock)
		d.text = strings.Builder{}
		d.text.Grow(max(n, d.textN))
	}
	rehome(k, &d.text)
}

// clone returns a copy of b: in d's byte block, capped at its length so
// that an append to it cannot reach the next copy, or its own when d is
// nil.
func (d *RecordDecoder) clone(b []byte) []byte {
	if d == nil {
		return bytes.Clone(b)
	}
	if cap(d.bytes)-len(d.bytes) < len(b) {
		d.byteN = grow(d.byteN, firstByteBlock, byteBlock)
		d.bytes = make([]byte, 0, max(len(b), d.byteN))
	}
	start := len(d.bytes)
	d.bytes = append(d.bytes, b...)
	return d.bytes[start:len(d.bytes):len(d.bytes)]
}
