package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	bolt "go.etcd.io/bbolt"
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
			data := encodeKey(k)
			want := byte(recordFormatV1)
			if k.RolledFrom != "" || k.RolledTo != "" {
				want = recordFormatV2
			}
			if data[0] != want {
				t.Fatalf("format byte = %#x, want %#x", data[0], want)
			}
			got, err := decodeKey(data)
			if err != nil {
				t.Fatalf("decodeKey: %v", err)
			}
			if want := normalized(k); !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if !bytes.Equal(got.MACPayload(), k.MACPayload()) {
				t.Fatal("the decoded record has another MAC payload")
			}
			if again := encodeKey(got); !bytes.Equal(again, data) {
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
	got, err := decodeKey(encodeKey(k))
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsedAt.IsZero() {
		t.Fatalf("LastUsedAt = %v, want zero", got.LastUsedAt)
	}
	// The Unix epoch is a real time, not "never".
	k.LastUsedAt = time.Unix(0, 0)
	if got, _ = decodeKey(encodeKey(k)); !got.LastUsedAt.Equal(time.Unix(0, 0)) || got.LastUsedAt.IsZero() {
		t.Fatalf("LastUsedAt = %v, want the epoch", got.LastUsedAt)
	}
}

// TestRecordDigestAppend checks that Digest and MAC, which share one
// allocation, cannot overwrite each other.
func TestRecordDigestAppend(t *testing.T) {
	k, err := decodeKey(encodeKey(recordCases()["global"]))
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
	good := encodeKey(recordCases()["sections"])
	// Offsets into good: format byte, then the id's length byte.
	withUvarint := func(v uint64) []byte { // the id length replaced by v
		b := []byte{recordFormatV1}
		b = binary.AppendUvarint(b, v)
		return append(b, good[2:]...)
	}
	unsorted := recordCases()["sections"]
	unsortedData := encodeKey(unsorted)
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
		{"format 2 with a v1 body", append([]byte{recordFormatV2}, good[1:]...)},
		{"JSON", []byte(`{"id":"0123456789abcdef","name":"x"}`)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"length past end", withUvarint(uint64(len(good)))},
		{"huge length", withUvarint(1 << 62)},
		{"overlong uvarint", append([]byte{recordFormatV1, 0x90, 0x00}, good[2:]...)},
		{"uvarint overflow", append([]byte{recordFormatV1}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"sections out of order", swapped},
		{"only format byte", []byte{recordFormatV1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := decodeKey(tt.data)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeKey = %+v, %v; want ErrCorrupt", k, err)
			}
		})
	}
	// Every prefix of a valid record fails cleanly.
	for n := range len(good) {
		if _, err := decodeKey(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decodeKey(prefix %d) = %v, want ErrCorrupt", n, err)
		}
	}
}

// TestCorruptRecordError checks that a damaged record fails reads with
// ErrCorrupt naming the record's id and none of its contents.
func TestCorruptRecordError(t *testing.T) {
	s, dir := openStore(t)
	k := keytest.Key("feed01", t0.Add(time.Hour))
	k.Name = "Quarterly payroll export"
	if err := s.InsertKey(k, event(core.ActionCreate, k.ID)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		data := bytes.Clone(b.Get([]byte(k.ID)))
		return b.Put([]byte(k.ID), data[:len(data)-3])
	})
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	reads := map[string]func() error{
		"ListKeys": func() error { _, err := s2.ListKeys(); return err },
		"GetKey":   func() error { _, err := s2.GetKey(k.ID); return err },
		"Check":    s2.Check,
	}
	for name, read := range reads {
		err := read()
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s = %v, want ErrCorrupt", name, err)
		}
		if msg := err.Error(); !strings.Contains(msg, k.ID) || strings.Contains(msg, k.Name) || strings.Contains(msg, k.Hint) {
			t.Fatalf("%s error %q should name id %q and nothing else of the record", name, msg, k.ID)
		}
	}
}

// TestMigrateJSONRecords opens a schema v1 database holding JSON key
// records, as pre-release builds wrote them, and checks that they are
// re-encoded and still verify.
func TestMigrateJSONRecords(t *testing.T) {
	s, dir := openStore(t)
	svc := newService(t, s, t0)
	var secrets []string
	for _, name := range []string{"Billing sync (prod)", "Clé — 請求"} {
		_, secret := mustCreate(t, svc, name)
		secrets = append(secrets, secret)
	}
	// One key has a last-used time (omitted from JSON when zero).
	if v := svc.Verify(secrets[0], core.Target{Scope: "messaging:read"}); v.Reason != core.ReasonOK {
		t.Fatalf("Verify = %s", v.Reason)
	}
	if err := svc.FlushLastUsed(); err != nil {
		t.Fatal(err)
	}
	want, err := s.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Rewrite the file as a v1 store: JSON records, schema version 1.
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		for _, k := range want {
			data, err := json.Marshal(k)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(k.ID), data); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(metaSchema, binary.BigEndian.AppendUint64(nil, 1))
	})

	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open v1 store: %v", err)
	}
	defer s2.Close()
	// Open migrates up to v4; Seal signs the records (v5).
	if v, err := s2.Schema(); err != nil || v != 4 || SchemaVersion != 5 {
		t.Fatalf("schema after migration = %d, %v; want 4 (SchemaVersion %d)", v, err, SchemaVersion)
	}
	if err := s2.Check(); err != nil {
		t.Fatalf("Check after migration: %v", err)
	}
	got, err := s2.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("records after migration:\n got %+v\nwant %+v", got, want)
	}
	if err := s2.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(id, v []byte) error {
			if v[0] != recordFormatV1 {
				t.Errorf("record %s starts with %#x, want the binary format byte", id, v[0])
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	svc2 := newService(t, s2, t0.Add(time.Hour))
	for _, secret := range secrets {
		if v := svc2.Verify(secret, core.Target{Scope: "messaging:read"}); v.Reason != core.ReasonOK {
			t.Fatalf("Verify after migration = %s, want ok", v.Reason)
		}
	}
}

// TestMigrateBadJSONRecord checks that a v1 record that is not JSON fails
// the open with ErrCorrupt and leaves the file at v1.
func TestMigrateBadJSONRecord(t *testing.T) {
	s, dir := openStore(t)
	if err := s.InsertKey(keytest.Key("bad01", t0.Add(time.Hour)), event(core.ActionCreate, "bad01")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketKeys).Put([]byte("bad01"), []byte("{not json")); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaSchema, binary.BigEndian.AppendUint64(nil, 1))
	})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bad01") {
		t.Fatalf("Open = %v, want ErrCorrupt naming bad01", err)
	}
	var version uint64
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		version = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(metaSchema))
		return nil
	})
	if version != 1 {
		t.Fatalf("schema after a failed migration = %d, want 1", version)
	}
}

func FuzzDecodeKey(f *testing.F) {
	for _, k := range recordCases() {
		f.Add(encodeKey(k))
	}
	f.Add([]byte{})
	f.Add([]byte{recordFormatV1})
	f.Add(encodeKey(recordCases()["rolled both ways"]))
	f.Add(encodeRecord(recordCases()["global"], bytes.Repeat([]byte{7}, 64), true))
	f.Add(encodeRecord(recordCases()["rolled both ways"], nil, true))
	f.Add([]byte(`{"id":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, sig, err := decodeRecord(data, nil)
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
			t.Fatalf("encodeKey(decodeKey(x)) != x:\n x   %x\n got %x", data, again)
		}
		k2, sig2, err := decodeRecord(again, nil)
		if err != nil {
			t.Fatalf("decodeKey(encodeKey(k)): %v", err)
		}
		if !reflect.DeepEqual(k, k2) || !bytes.Equal(sig, sig2) || (sig == nil) != (sig2 == nil) {
			t.Fatalf("second decode differs:\n%+v %x\n%+v %x", k, sig, k2, sig2)
		}
		// Seal's allocation-free reader agrees with the decoder.
		id, digest, expires, mac, fsig, ok := recordFields(data)
		if !bytes.Equal(fsig, sig) || (fsig == nil) != (sig == nil) {
			t.Fatalf("recordFields signature %x, decodeRecord %x", fsig, sig)
		}
		wantExp := int64(zeroTime)
		if !k.ExpiresAt.IsZero() {
			wantExp = k.ExpiresAt.UnixNano()
		}
		if !ok || string(id) != k.ID || !bytes.Equal(digest, k.Digest) || expires != wantExp || !bytes.Equal(mac, k.MAC) {
			t.Fatalf("recordFields = %q %x %d %x %v, decodeKey = %+v", id, digest, expires, mac, ok, k)
		}
	})
}
