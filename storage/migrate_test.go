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
	"github.com/keydesk/keydesk/seal"
	bolt "go.etcd.io/bbolt"
)

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
		_, secret := keytest.Create(t, svc, keytest.SectionRequest(name))
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
	// Open migrates up to v4; Seal signs the records (v5), digests them
	// anew (v6) and names the catalog (v7).
	if v, err := s2.Schema(); err != nil || v != 4 || SchemaVersion != catalogSchema {
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
			if v[0] != seal.RecordV1 {
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
