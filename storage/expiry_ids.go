package storage

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// KeyIDsExpiring returns the ids of the records whose ExpiresAt is in
// (after, until], soonest first, from the expiry index alone: no record is
// read or decoded. core.Service.SelectDigest uses it with its in-memory
// records, so that a digest costs one index range scan (core.ExpiryIndex).
func (s *Store) KeyIDsExpiring(after, until time.Time) ([]string, error) {
	var out []string
	if !until.After(after) {
		return out, nil
	}
	start := expiryKey(after.Add(time.Nanosecond), "")
	end := expiryKey(until, "")
	err := s.read(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketExpiry).Cursor()
		for ik, _ := c.Seek(start); ik != nil && bytes.Compare(ik[:8], end) <= 0; ik, _ = c.Next() {
			out = append(out, string(ik[8:]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("key ids expiring: %w", err)
	}
	return out, nil
}
