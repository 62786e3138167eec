package storage

import (
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// SnapshotInfo describes a consistent copy of the database.
type SnapshotInfo struct {
	// StoreID is the store's id.
	StoreID string
	// Generation is the copy's generation (see Seal).
	Generation uint64
	// KeyCount is the number of key records in the copy.
	KeyCount int
	// Size is the copy's size in bytes.
	Size int64
}

// Snapshot calls fn inside one read transaction with what the copy holds
// and a WriterTo that writes the copy (a valid bbolt file of info.Size
// bytes): changes committed meanwhile, by this process or a window running
// in it, are not in the copy, and the copy is never half of a change. fn
// must write the copy before it returns. A long fn delays the database's
// growth (bbolt cannot remap while a read transaction is open), not other
// readers or writers.
func (s *Store) Snapshot(fn func(info SnapshotInfo, copy io.WriterTo) error) error {
	err := s.db.View(func(tx *bolt.Tx) error {
		info := SnapshotInfo{
			StoreID:    s.storeID,
			Generation: readGeneration(tx.Bucket(bucketMeta)),
			KeyCount:   tx.Bucket(bucketKeys).Stats().KeyN,
			Size:       tx.Size(),
		}
		return fn(info, tx)
	})
	if err != nil {
		return fmt.Errorf("copy store: %w", err)
	}
	return nil
}
