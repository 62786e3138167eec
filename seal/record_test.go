package seal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
)

// recordCases are key records covering every field shape the codec must
// carry.
func recordCases() map[string]*core.Key {
	created := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)
	base := func() *core.Key {
		return &core.Key{
			ID:        "0123456789abcdef",
			Name:      "Billing sync (prod)",
			Digest:    bytes.Repeat([]byte{0xd1}, 32),
			Hint:      "kdk_live_ab…wxyz",
			CreatedAt: created,
			ExpiresAt: created.AddDate(0, 6, 0),
			MAC:       bytes.Repeat([]byte{0x5a}, 32),
		}
	}
	cases := map[string]*core.Key{}
	add := func(name string, edit func(k *core.Key)) {
		k := base()
		edit(k)
		cases[name] = k
	}
	add("global", func(k *core.Key) {
		k.Permissions = core.Permissions{Kind: core.KindGlobal}
		k.Scopes = []string{core.GlobalScope}
	})
	add("sections", func(k *core.Key) {
		k.Permissions = core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{
			"users": core.AccessRead, "messaging": core.AccessFull, "billing": core.AccessRead}}
		k.Scopes = []string{"billing:read", "messaging:*", "users:read"}
	})
	add("operations", func(k *core.Key) {
		k.Permissions = core.Permissions{Kind: core.KindOperations, Operations: []string{"messaging.channels.list", "messaging.channels.get"}}
		k.Scopes = []string{"messaging:GetChannel", "messaging:ListChannels"}
	})
	add("last used set", func(k *core.Key) {
		k.Permissions = core.Permissions{Kind: core.KindGlobal}
		k.LastUsedAt = created.Add(90 * time.Minute)
	})
	add("unicode name", func(k *core.Key) {
		k.Name = "Clé de facturation — 請求 🔑 \u200d"
		k.Permissions = core.Permissions{Kind: core.KindGlobal}
	})
	add("nil maps and slices", func(k *core.Key) {
		k.Permissions = core.Permissions{Kind: core.KindSections}
		k.Digest, k.MAC, k.Scopes = nil, nil, nil
	})
	add("empty maps and slices", func(k *core.Key) {
		k.Permissions = core.Permissions{Kind: core.KindOperations, Sections: map[string]core.Access{}, Operations: []string{}}
		k.Digest, k.MAC, k.Scopes = []byte{}, []byte{}, []string{}
	})
	add("empty strings", func(k *core.Key) {
		k.Name, k.Hint = "", ""
		k.Permissions = core.Permissions{Kind: ""}
		k.Scopes = []string{""}
	})
	add("long fields", func(k *core.Key) {
		k.Name = strings.Repeat("n", 300) // lengths above 127 need two uvarint bytes
		k.Permissions = core.Permissions{Kind: core.KindOperations, Operations: make([]string, 200)}
		for i := range k.Permissions.Operations {
			k.Permissions.Operations[i] = "messaging.channels.list"
		}
	})
	add("rolled both ways", func(k *core.Key) {
		k.Permissions = core.Permissions{Kind: core.KindGlobal}
		k.RolledFrom, k.RolledTo = "fedcba9876543210", "00112233445566ff"
	})
	add("rolled to", func(k *core.Key) {
		k.Permissions = core.Permissions{Kind: core.KindGlobal}
		k.RolledTo = "00112233445566ff"
	})
	add("times before 1970 and zero", func(k *core.Key) {
		k.Permissions = core.Permissions{Kind: core.KindGlobal}
		k.CreatedAt = time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC)
		k.ExpiresAt = time.Time{}
	})
	return cases
}

// normalized returns k as the codec gives it back: empty slices and maps
// become nil, times are in UTC.
func normalized(k *core.Key) *core.Key {
	c := k.Clone()
	if len(c.Digest) == 0 {
		c.Digest = nil
	}
	if len(c.MAC) == 0 {
		c.MAC = nil
	}
	if len(c.Scopes) == 0 {
		c.Scopes = nil
	}
	if len(c.Permissions.Operations) == 0 {
		c.Permissions.Operations = nil
	}
	if len(c.Permissions.Sections) == 0 {
		c.Permissions.Sections = nil
	}
	for _, t := range []*time.Time{&c.CreatedAt, &c.ExpiresAt, &c.LastUsedAt} {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
	return c
}

func TestRecordRoundTrip(t *testing.T) {
	for name, k := range recordCases() {
		t.Run(name, func(t *testing.T) {
			data := EncodeRecord(k)
			want := byte(RecordV1)
			if k.RolledFrom != "" || k.RolledTo != "" {
				want = RecordV2
			}
			if data[0] != want {
				t.Fatalf("format byte = %#x, want %#x", data[0], want)
			}
			got, err := DecodeRecord(data)
			if err != nil {
				t.Fatalf("decodeKey: %v", err)
			}
			if want := normalized(k); !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if !bytes.Equal(got.MACPayload(), k.MACPayload()) {
				t.Fatal("the decoded record has another MAC payload")
			}
			if again := EncodeRecord(got); !bytes.Equal(again, data) {
				t.Fatal("re-encoding the decoded record changed its bytes")
			}
			// Decoding copies: scribbling over the input changes nothing.
			for i := range data {
				data[i] = 0xff
			}
			if !reflect.DeepEqual(got, normalized(k)) {
				t.Fatal("the decoded record shares memory with its input")
			}
		})
	}
}

func TestRecordZeroLastUsed(t *testing.T) {
	k := recordCases()["global"]
	got, err := DecodeRecord(EncodeRecord(k))
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsedAt.IsZero() {
		t.Fatalf("LastUsedAt = %v, want zero", got.LastUsedAt)
	}
	// The Unix epoch is a real time, not "never".
	k.LastUsedAt = time.Unix(0, 0)
	if got, _ = DecodeRecord(EncodeRecord(k)); !got.LastUsedAt.Equal(time.Unix(0, 0)) || got.LastUsedAt.IsZero() {
		t.Fatalf("LastUsedAt = %v, want the epoch", got.LastUsedAt)
	}
}

// TestRecordDigestAppend checks that Digest and MAC, which share one
// allocation, cannot overwrite each other.
func TestRecordDigestAppend(t *testing.T) {
	k, err := DecodeRecord(EncodeRecord(recordCases()["global"]))
	if err != nil {
		t.Fatal(err)
	}
	mac := bytes.Clone(k.MAC)
	_ = append(k.Digest, 1, 2, 3)
	if !bytes.Equal(k.MAC, mac) {
		t.Fatal("appending to Digest overwrote MAC")
	}
}

func TestDecodeKeyRejects(t *testing.T) {
	good := EncodeRecord(recordCases()["sections"])
	// Offsets into good: format byte, then the id's length byte.
	withUvarint := func(v uint64) []byte { // the id length replaced by v
		b := []byte{RecordV1}
		b = binary.AppendUvarint(b, v)
		return append(b, good[2:]...)
	}
	unsorted := recordCases()["sections"]
	unsortedData := EncodeRecord(unsorted)
	// Swap "billing" and "messaging" entries by hand: find both and
	// rebuild the sections block in the wrong order.
	i := bytes.Index(unsortedData, []byte("\x07billing"))
	j := bytes.Index(unsortedData, []byte("\x09messaging"))
	if i < 0 || j < 0 {
		t.Fatal("test setup: sections not found in the record")
	}
	first := bytes.Clone(unsortedData[i:j])                                 // billing entry
	second := bytes.Clone(unsortedData[j : j+len("\x09messaging\x04full")]) // messaging entry
	swapped := append(append(append(bytes.Clone(unsortedData[:i]), second...), first...), unsortedData[j+len(second):]...)

	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown format", append([]byte{0x03}, good[1:]...)},
		{"format 2 with a v1 body", append([]byte{RecordV2}, good[1:]...)},
		{"JSON", []byte(`{"id":"0123456789abcdef","name":"x"}`)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"length past end", withUvarint(uint64(len(good)))},
		{"huge length", withUvarint(1 << 62)},
		{"overlong uvarint", append([]byte{RecordV1, 0x90, 0x00}, good[2:]...)},
		{"uvarint overflow", append([]byte{RecordV1}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"sections out of order", swapped},
		{"only format byte", []byte{RecordV1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := DecodeRecord(tt.data)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeKey = %+v, %v; want ErrCorrupt", k, err)
			}
		})
	}
	// Every prefix of a valid record fails cleanly.
	for n := range len(good) {
		if _, err := DecodeRecord(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("DecodeRecord(prefix %d) = %v, want ErrCorrupt", n, err)
		}
	}
}

func FuzzDecodeKey(f *testing.F) {
	for _, k := range recordCases() {
		f.Add(EncodeRecord(k))
	}
	f.Add([]byte{})
	f.Add([]byte{RecordV1})
	f.Add(EncodeRecord(recordCases()["rolled both ways"]))
	f.Add(encodeRecord(recordCases()["global"], bytes.Repeat([]byte{7}, 64), true))
	f.Add(encodeRecord(recordCases()["rolled both ways"], nil, true))
	f.Add([]byte(`{"id":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, sig, err := decodeRecord(nil, data, nil)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeKey error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// The encoding is canonical: what decodes re-encodes to the
		// same bytes, and decodes again to the same record.
		again := encodeRecord(k, sig, sig != nil)
		if !bytes.Equal(again, data) {
			t.Fatalf("EncodeRecord(DecodeRecord(x)) != x:\n x   %x\n got %x", data, again)
		}
		// A RecordDecoder (the loads' path) decodes it the same.
		var d RecordDecoder
		k2, sig2, err := decodeRecord(&d, again, nil)
		if err != nil {
			t.Fatalf("DecodeRecord(EncodeRecord(k)): %v", err)
		}
		if !reflect.DeepEqual(k, k2) || !bytes.Equal(sig, sig2) || (sig == nil) != (sig2 == nil) {
			t.Fatalf("second decode differs:\n%+v %x\n%+v %x", k, sig, k2, sig2)
		}
		// Seal's allocation-free reader agrees with the decoder.
		id, digest, expires, mac, fsig, ok := recordFields(data)
		if !bytes.Equal(fsig, sig) || (fsig == nil) != (sig == nil) {
			t.Fatalf("recordFields signature %x, decodeRecord %x", fsig, sig)
		}
		wantExp := int64(ZeroTime)
		if !k.ExpiresAt.IsZero() {
			wantExp = k.ExpiresAt.UnixNano()
		}
		if !ok || string(id) != k.ID || !bytes.Equal(digest, k.Digest) || expires != wantExp || !bytes.Equal(mac, k.MAC) {
			t.Fatalf("recordFields = %q %x %d %x %v, decodeKey = %+v", id, digest, expires, mac, ok, k)
		}
	})
}

func TestRecordV2Rejects(t *testing.T) {
	k := recordCases()["global"]
	k.RolledTo = "0123456789abcdef"
	data := EncodeRecord(k)
	if data[0] != RecordV2 {
		t.Fatalf("format %#x", data[0])
	}
	got, err := DecodeRecord(data)
	if err != nil || got.RolledTo != k.RolledTo || got.RolledFrom != "" {
		t.Fatalf("decode: %+v, %v", got, err)
	}
	// A v2 record whose links are both empty is not canonical.
	k.RolledTo = ""
	v1 := EncodeRecord(k)
	i := len(v1) - 1 - len(k.MAC)
	bad := append(append(append([]byte{RecordV2}, v1[1:i]...), 0, 0), v1[i:]...)
	if _, err := DecodeRecord(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("v2 without links: %v", err)
	}
	if _, _, _, _, _, ok := recordFields(data); !ok {
		t.Fatal("recordFields does not parse a v2 record")
	}
}
