package storage

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/keydesk/keydesk/core"
	bolt "go.etcd.io/bbolt"
)

// migrations[i] moves a database from schema version i to i+1, up to v4;
// each runs in the same transaction as the version bump. A migration that
// needs the signing material (which Open does not have) belongs in Seal
// instead: the v3 state MAC, keyed on what the file lacks, the v5 record
// signatures (signedSchema), the v6 set digest (digestSchema) and the v7
// catalog digest (catalogSchema), keyed on the schema version. A schema
// version after v7 must keep that order: Open must not take a v4 file past
// v4.
var migrations = []func(tx *bolt.Tx) error{
	// v0 -> v1: the initial layout.
	func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketKeys, bucketDigest, bucketExpiry, bucketSettings, bucketDigests, bucketAudit, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	},
	// v1 -> v2: key records move from JSON to the binary encoding of
	// seal/record.go (decoding JSON dominated opening a large store). Only the
	// pre-release builds wrote v1; the index buckets are unchanged.
	migrateKeysToBinary,
	// v2 -> v3: the store gains a generation, advanced by every change,
	// and a state MAC over (store id, generation, record count, set of
	// live records) in the meta bucket (see seal.go). The generation
	// starts at 0 here; the MAC needs the signing material, so the first
	// Seal writes it (the schema bump keeps older builds, which would
	// change records without updating the MAC, from opening the store).
	func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m.Get(metaGeneration) != nil {
			return nil
		}
		return m.Put(metaGeneration, make([]byte, 8))
	},
	// v3 -> v4: a rolled key's record is written in format v2, with its
	// roll links (seal/record.go). Every existing record stays valid in format
	// v1 and its MAC unchanged, so nothing is rewritten: the bump keeps
	// older builds, which cannot read v2 records, from opening the store.
	func(*bolt.Tx) error { return nil },
}

// migrateKeysToBinary re-encodes every JSON key record of a schema v1
// database in the binary record format. Records are collected first:
// bbolt forbids changing a bucket while iterating over it.
func migrateKeysToBinary(tx *bolt.Tx) error {
	b := tx.Bucket(bucketKeys)
	var ids, recs [][]byte
	if err := b.ForEach(func(id, v []byte) error {
		var k core.Key
		if err := json.Unmarshal(v, &k); err != nil {
			return fmt.Errorf("%w: key record %q is not valid JSON", ErrCorrupt, id)
		}
		ids = append(ids, bytes.Clone(id))
		recs = append(recs, encodeKey(&k))
		return nil
	}); err != nil {
		return err
	}
	for i, id := range ids {
		if err := b.Put(id, recs[i]); err != nil {
			return fmt.Errorf("rewrite key record %q: %w", id, err)
		}
	}
	return nil
}

// signedSchema is the schema version whose key records all carry an
// Ed25519 signature (record format v3). Moving a store there needs the
// signing material, so Open stops one version short (at len(migrations))
// and Seal takes the last step: it checks the store's state MAC and every
// record's MAC, then signs every record, bumps the schema and writes the
// new state MAC, in one transaction (see seal.go). A new store starts at
// SchemaVersion (it has no records to sign).
const signedSchema = 5

// digestSchema is the schema version whose state MAC covers the LtHash
// set digest (seal.Set) rather than the XOR one (see seal.go). Seal moves a
// store of schema v5 there after checking its state the old way, and one
// of v4 or older straight from signing its records.
const digestSchema = 6

// SchemaVersion is the schema version this build writes: catalogSchema
// (seal_catalog.go), whose state MAC also names the catalog setting.
var SchemaVersion = uint64(catalogSchema)
