package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
	bolt "go.etcd.io/bbolt"
)

// expiryKey encodes t as 8 big-endian bytes of its Unix nanoseconds with the
// sign bit flipped (so byte order is time order, before 1970 included),
// followed by id.
func expiryKey(t time.Time, id string) []byte {
	b := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(b, uint64(t.UnixNano())^(1<<63))
	return append(b, id...)
}

// putNewKey writes a record and its index entries, refusing a duplicate id or
// digest.
func putNewKey(tx *bolt.Tx, d *delta, k *core.Key) error {
	if k.ID == "" || len(k.Digest) == 0 {
		return errors.New("a key record needs an id and a digest")
	}
	keys, dig, exp := tx.Bucket(bucketKeys), tx.Bucket(bucketDigest), tx.Bucket(bucketExpiry)
	if keys.Get([]byte(k.ID)) != nil {
		return fmt.Errorf("%w (id %s)", core.ErrDuplicate, k.ID)
	}
	if dig.Get(k.Digest) != nil {
		return core.ErrDuplicate
	}
	if err := keys.Put([]byte(k.ID), encodeKey(k)); err != nil {
		return err
	}
	if err := dig.Put(k.Digest, []byte(k.ID)); err != nil {
		return err
	}
	d.added(k)
	return exp.Put(expiryKey(k.ExpiresAt, k.ID), nil)
}

// InsertKey stores a new record with its digest and expiry index entries and
// its audit event, in one transaction. A duplicate id or digest fails with
// core.ErrDuplicate.
func (s *Store) InsertKey(k *core.Key, ev core.AuditEvent) error {
	err := s.change(func(tx *bolt.Tx, d *delta) error {
		if err := putNewKey(tx, d, k); err != nil {
			return err
		}
		return appendAudit(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("insert key: %w", err)
	}
	return nil
}

// InsertKeys stores many new records in one transaction with one audit
// event (for imports, demo data and benchmarks building large stores
// quickly). Any duplicate id or digest fails the whole batch with
// core.ErrDuplicate.
func (s *Store) InsertKeys(keys []*core.Key, ev core.AuditEvent) error {
	err := s.change(func(tx *bolt.Tx, d *delta) error {
		for _, k := range keys {
			if err := putNewKey(tx, d, k); err != nil {
				return err
			}
		}
		return appendAudit(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("insert keys: %w", err)
	}
	return nil
}

// UpdateKey replaces an existing record, moving its index entries if its
// digest or expiry changed, with its audit event, in one transaction. An
// unknown id fails with core.ErrNotFound.
func (s *Store) UpdateKey(k *core.Key, ev core.AuditEvent) error {
	err := s.change(func(tx *bolt.Tx, d *delta) error {
		keys, dig, exp := tx.Bucket(bucketKeys), tx.Bucket(bucketDigest), tx.Bucket(bucketExpiry)
		oldData := keys.Get([]byte(k.ID))
		if oldData == nil {
			return fmt.Errorf("%w %q", core.ErrNotFound, k.ID)
		}
		old, err := decodeKeyAt([]byte(k.ID), oldData)
		if err != nil {
			return err
		}
		if !bytes.Equal(old.Digest, k.Digest) {
			if owner := dig.Get(k.Digest); owner != nil && string(owner) != k.ID {
				return core.ErrDuplicate
			}
			if err := dig.Delete(old.Digest); err != nil {
				return err
			}
			if err := dig.Put(k.Digest, []byte(k.ID)); err != nil {
				return err
			}
		}
		if !old.ExpiresAt.Equal(k.ExpiresAt) {
			if err := exp.Delete(expiryKey(old.ExpiresAt, k.ID)); err != nil {
				return err
			}
			if err := exp.Put(expiryKey(k.ExpiresAt, k.ID), nil); err != nil {
				return err
			}
		}
		if err := keys.Put([]byte(k.ID), encodeKey(k)); err != nil {
			return err
		}
		d.removed(old)
		d.added(k)
		return appendAudit(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	return nil
}

// DeleteKey removes a record and its index entries, with its audit event,
// in one transaction. An unknown id fails with core.ErrNotFound.
func (s *Store) DeleteKey(id string, ev core.AuditEvent) error {
	err := s.change(func(tx *bolt.Tx, d *delta) error {
		keys, dig, exp := tx.Bucket(bucketKeys), tx.Bucket(bucketDigest), tx.Bucket(bucketExpiry)
		data := keys.Get([]byte(id))
		if data == nil {
			return fmt.Errorf("%w %q", core.ErrNotFound, id)
		}
		k, err := decodeKeyAt([]byte(id), data)
		if err != nil {
			return err
		}
		if owner := dig.Get(k.Digest); string(owner) == id {
			if err := dig.Delete(k.Digest); err != nil {
				return err
			}
		}
		if err := exp.Delete(expiryKey(k.ExpiresAt, id)); err != nil {
			return err
		}
		if err := keys.Delete([]byte(id)); err != nil {
			return err
		}
		d.removed(k)
		return appendAudit(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	return nil
}

// GetKey returns one record, or core.ErrNotFound.
func (s *Store) GetKey(id string) (*core.Key, error) {
	var k *core.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketKeys).Get([]byte(id))
		if data == nil {
			return fmt.Errorf("%w %q", core.ErrNotFound, id)
		}
		var err error
		k, err = decodeKeyAt([]byte(id), data) // decoding copies out of the transaction
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get key: %w", err)
	}
	return k, nil
}

// ListKeys returns every record, in id order. Records are decoded in
// parallel (start-up with 100,000 keys is dominated by decoding).
func (s *Store) ListKeys() ([]*core.Key, error) {
	var out []*core.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		// The values stay valid until the transaction ends; the decoders
		// copy everything out of them before it does.
		// Stats (page headers only) sizes the slice up front.
		b := tx.Bucket(bucketKeys)
		type record struct{ id, data []byte }
		recs := make([]record, 0, b.Stats().KeyN)
		if err := b.ForEach(func(id, v []byte) error {
			recs = append(recs, record{id, v})
			return nil
		}); err != nil {
			return err
		}
		out = make([]*core.Key, len(recs))
		workers := min(runtime.GOMAXPROCS(0), max(1, len(recs)/1024))
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(recs); i += workers {
					k, err := decodeKeyAt(recs[i].id, recs[i].data)
					if err != nil {
						errs[w] = err
						return
					}
					out[i] = k
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}

// expiryRange calls fn with the id of every record whose ExpiresAt is in
// (after, until], soonest first, reading only that range of the expiry
// index. id is only valid during the call.
func expiryRange(tx *bolt.Tx, after, until time.Time, fn func(id []byte) error) error {
	if !until.After(after) {
		return nil
	}
	start := expiryKey(after.Add(time.Nanosecond), "")
	end := expiryKey(until, "")
	c := tx.Bucket(bucketExpiry).Cursor()
	for ik, _ := c.Seek(start); ik != nil && bytes.Compare(ik[:8], end) <= 0; ik, _ = c.Next() {
		if err := fn(ik[8:]); err != nil {
			return err
		}
	}
	return nil
}

// KeysExpiring returns the records whose ExpiresAt is in (after, until],
// soonest first. It reads only that range of the expiry index.
func (s *Store) KeysExpiring(after, until time.Time) ([]*core.Key, error) {
	var out []*core.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		keys := tx.Bucket(bucketKeys)
		return expiryRange(tx, after, until, func(id []byte) error {
			data := keys.Get(id)
			if data == nil {
				return fmt.Errorf("%w: the expiry index names missing key %q", ErrCorrupt, id)
			}
			k, err := decodeKeyAt(id, data)
			if err != nil {
				return err
			}
			out = append(out, k)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("keys expiring: %w", err)
	}
	return out, nil
}

// SetLastUsed records last-used times for several keys in one transaction.
// Ids that no longer exist are skipped; a time earlier than the stored one
// is ignored.
func (s *Store) SetLastUsed(times map[string]time.Time) error {
	if len(times) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		keys := tx.Bucket(bucketKeys)
		for id, t := range times {
			data := keys.Get([]byte(id))
			if data == nil {
				continue
			}
			k, err := decodeKeyAt([]byte(id), data)
			if err != nil {
				return err
			}
			if !t.After(k.LastUsedAt) {
				continue
			}
			k.LastUsedAt = t.UTC()
			if err := keys.Put([]byte(id), encodeKey(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save last used: %w", err)
	}
	return nil
}
