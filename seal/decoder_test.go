package seal

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/core"
)

// TestRecordDecoderMatchesDecodeRecord decodes more records than a block
// holds (of every field shape, with names long and short, one longer than
// a text block) with one RecordDecoder and checks each against
// DecodeRecordAt's, after all were decoded: no later record overwrote an
// earlier one's strings or MAC.
func TestRecordDecoderMatchesDecodeRecord(t *testing.T) {
	var datas [][]byte
	for i := range 3*keyBlock + 7 {
		for name, k := range recordCases() {
			k = k.Clone()
			k.ID = fmt.Sprintf("%016x", i)
			k.Name = fmt.Sprintf("%s %d %s", name, i, strings.Repeat("é", i%40))
			if i == keyBlock+1 {
				k.Name = strings.Repeat("n", textBlock+1)
			}
			k.MAC = bytes.Repeat([]byte{byte(i)}, 32)
			datas = append(datas, EncodeSignedRecord(k, bytes.Repeat([]byte{byte(i + 1)}, 64)))
		}
	}
	var d RecordDecoder
	got := make([]*core.Key, len(datas))
	for i, data := range datas {
		id := data[2 : 2+16]
		k, sig, err := d.DecodeAt(id, data)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if len(sig) != 64 {
			t.Fatalf("record %d: signature of %d bytes", i, len(sig))
		}
		got[i] = k
		// An append to a record's MAC never reaches the next copy.
		if cap(k.MAC) != len(k.MAC) {
			t.Fatalf("record %d: MAC of length %d has capacity %d", i, len(k.MAC), cap(k.MAC))
		}
	}
	for i, data := range datas {
		want, _, err := DecodeRecordAt(data[2:2+16], data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("record %d decoded by a RecordDecoder:\n%+v\nwant\n%+v", i, got[i], want)
		}
	}
}

// TestRecordDecoderRefusesAsDecodeRecord checks that a RecordDecoder
// refuses what DecodeRecordAt refuses, with the same error, and goes on
// decoding after it.
func TestRecordDecoderRefusesAsDecodeRecord(t *testing.T) {
	good := EncodeRecord(recordCases()["global"])
	id := []byte(recordCases()["global"].ID)
	var d RecordDecoder
	for n := range len(good) {
		_, _, err := d.DecodeAt(id, good[:n])
		_, _, want := DecodeRecordAt(id, good[:n])
		if !errors.Is(err, ErrCorrupt) || err.Error() != want.Error() {
			t.Fatalf("prefix %d: %v, want %v", n, err, want)
		}
	}
	if _, _, err := d.DecodeAt([]byte("another id"), good); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a record under another id: %v, want ErrCorrupt", err)
	}
	k, err := d.Decode(good)
	if err != nil || k.ID != string(id) {
		t.Fatalf("after the refusals: %+v, %v", k, err)
	}
}

// TestRecordDecoderAllocations checks that a RecordDecoder makes three
// allocations fewer a record than DecodeRecordAt (the record, its strings
// and its MAC come from its blocks).
func TestRecordDecoderAllocations(t *testing.T) {
	k := recordCases()["sections"]
	data := EncodeRecord(k)
	id := []byte(k.ID)
	alone := testing.AllocsPerRun(200, func() {
		if _, _, err := DecodeRecordAt(id, data); err != nil {
			t.Fatal(err)
		}
	})
	var d RecordDecoder
	for range 2 * keyBlock { // past the first, smaller blocks
		if _, _, err := d.DecodeAt(id, data); err != nil {
			t.Fatal(err)
		}
	}
	d.keys = d.keys[:0]                                  // a new block of keyBlock records next
	blocked := testing.AllocsPerRun(keyBlock-2, func() { // within one block
		if _, _, err := d.DecodeAt(id, data); err != nil {
			t.Fatal(err)
		}
	})
	if alone-blocked < 2.9 {
		t.Fatalf("a record costs %.1f allocations with a RecordDecoder, %.1f without; want 3 fewer", blocked, alone)
	}
}
