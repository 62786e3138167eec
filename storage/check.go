package storage

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the store's internal consistency: bbolt's own page checks
// (Tx.Check), then that every record decodes under its own id and has
// exactly one digest and one expiry index entry pointing at it, and that
// every index entry points at a record. It reports the first problem found,
// wrapping ErrCorrupt. It reads the whole file: tests and tools call it;
// Seal does the record checks at open.
func (s *Store) Check() error {
	return s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		keys, dig, exp := tx.Bucket(bucketKeys), tx.Bucket(bucketDigest), tx.Bucket(bucketExpiry)
		n := 0
		if err := keys.ForEach(func(id, v []byte) error {
			n++
			k, err := decodeKeyAt(id, v)
			if err != nil {
				return err
			}
			if k.ID != string(id) {
				return fmt.Errorf("%w: record %q holds id %q", ErrCorrupt, id, k.ID)
			}
			if owner := dig.Get(k.Digest); string(owner) != k.ID {
				return fmt.Errorf("%w: digest index entry of %q is missing", ErrCorrupt, id)
			}
			if exp.Get(expiryKey(k.ExpiresAt, k.ID)) == nil {
				return fmt.Errorf("%w: expiry index entry of %q is missing", ErrCorrupt, id)
			}
			return nil
		}); err != nil {
			return err
		}
		if d := dig.Stats().KeyN; d != n {
			return fmt.Errorf("%w: %d digest index entries for %d keys", ErrCorrupt, d, n)
		}
		if e := exp.Stats().KeyN; e != n {
			return fmt.Errorf("%w: %d expiry index entries for %d keys", ErrCorrupt, e, n)
		}
		return nil
	})
}
