package storage

import (
	"fmt"
	"time"

	"github.com/keydesk/keydesk/core"
	bolt "go.etcd.io/bbolt"
)

// LastDeliveredSlot returns the last digest slot marked delivered, or the
// zero time when none was.
func (s *Store) LastDeliveredSlot() (time.Time, error) {
	var t time.Time
	err := s.read(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDigests).Get(digestLastSlotKey)
		if v == nil {
			return nil
		}
		if err := t.UnmarshalText(v); err != nil {
			return fmt.Errorf("%w: bad last delivered slot: %v", ErrCorrupt, err)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read digest state: %w", err)
	}
	return t, nil
}

// MarkSlotDelivered records slot as the last delivered digest slot together
// with its audit event, in one transaction. A slot older than the one
// already recorded leaves the record unchanged (the event is still logged).
func (s *Store) MarkSlotDelivered(slot time.Time, ev core.AuditEvent) error {
	err := s.change(func(tx *bolt.Tx, _ *delta) error {
		b := tx.Bucket(bucketDigests)
		if v := b.Get(digestLastSlotKey); v != nil {
			var prev time.Time
			if err := prev.UnmarshalText(v); err == nil && !slot.After(prev) {
				return appendAudit(tx, ev)
			}
		}
		text, err := slot.UTC().MarshalText()
		if err != nil {
			return err
		}
		if err := b.Put(digestLastSlotKey, text); err != nil {
			return err
		}
		return appendAudit(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("mark digest slot delivered: %w", err)
	}
	return nil
}
