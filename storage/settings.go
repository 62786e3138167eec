package storage

import (
	"bytes"
	"fmt"

	"github.com/keydesk/keydesk/core"
	bolt "go.etcd.io/bbolt"
)

// Setting returns a setting's value, or nil, nil when it is unset. The
// catalog (core.CatalogSetting) must be the one the store's sealed state
// names, else the read fails with ErrCatalogMismatch (see seal_catalog.go).
func (s *Store) Setting(name string) ([]byte, error) {
	if name == core.CatalogSetting {
		return s.catalogSetting()
	}
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
// audit event, in one transaction. For the catalog (core.CatalogSetting)
// the same transaction names the new value in the sealed state (see
// seal_catalog.go), so that no other catalog setting is accepted from then
// on.
func (s *Store) PutSetting(name string, value []byte, ev core.AuditEvent) error {
	if name == core.CatalogSetting && len(value) > core.MaxCatalogSetting {
		return fmt.Errorf("save setting %s: %w: it is larger than %d MB", name, core.ErrCatalog, core.MaxCatalogSetting>>20)
	}
	err := s.change(func(tx *bolt.Tx, d *delta) error {
		if name == core.CatalogSetting {
			c := digestCatalog(value)
			d.catalog = &c
		}
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
