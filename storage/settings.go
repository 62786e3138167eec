package storage

import (
	"bytes"
	"fmt"

	"github.com/keydesk/keydesk/core"
	bolt "go.etcd.io/bbolt"
)

// Setting returns a setting's value, or nil, nil when it is unset.
func (s *Store) Setting(name string) ([]byte, error) {
	var v []byte
	err := s.read(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketSettings).Get([]byte(name)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", name, err)
	}
	return v, nil
}

// PutSetting stores a setting (nil value deletes it) together with its
// audit event, in one transaction.
func (s *Store) PutSetting(name string, value []byte, ev core.AuditEvent) error {
	err := s.change(func(tx *bolt.Tx, _ *delta) error {
		b := tx.Bucket(bucketSettings)
		var err error
		if value == nil {
			err = b.Delete([]byte(name))
		} else {
			err = b.Put([]byte(name), value)
		}
		if err != nil {
			return err
		}
		return appendAudit(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("save setting %s: %w", name, err)
	}
	return nil
}
