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
	"github.com/keydesk/keydesk/seal"
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

// putNewKey writes a record (signed on a sealed store: sig, or a new
// signature when nil) and its index entries, refusing a duplicate id or
// digest.
func putNewKey(tx *bolt.Tx, d *delta, k *core.Key, sig []byte) error {
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
	data, sig := d.encode(k, sig)
	if err := keys.Put([]byte(k.ID), data); err != nil {
		return err
	}
	if err := dig.Put(k.Digest, []byte(k.ID)); err != nil {
		return err
	}
	d.added(k, sig)
	return exp.Put(expiryKey(k.ExpiresAt, k.ID), nil)
}

// InsertKey stores a new record with its digest and expiry index entries and
// its audit event, in one transaction. A duplicate id or digest fails with
// core.ErrDuplicate.
func (s *Store) InsertKey(k *core.Key, ev core.AuditEvent) error {
	err := s.change(func(tx *bolt.Tx, d *delta) error {
		if err := putNewKey(tx, d, k, nil); err != nil {
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
		// Sign on every CPU first (an Ed25519 signature costs more than
		// the rest of an insert).
		sigs := make([][]byte, len(keys))
		if d.signer != nil {
			parallel(len(keys), func(i int) { _, sigs[i] = d.encode(keys[i], nil) })
		}
		for i, k := range keys {
			if err := putNewKey(tx, d, k, sigs[i]); err != nil {
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
		if _, err := replaceKey(tx, d, k, nil); err != nil {
			return err
		}
		return appendAudit(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	return nil
}

// replaceKey replaces the stored record of k.ID by k, moving its index
// entries if its digest or expiry changed, and returns the record it
// replaced. check, if not nil, vets the stored record first. An unknown id
// fails with core.ErrNotFound.
func replaceKey(tx *bolt.Tx, d *delta, k *core.Key, check func(old *core.Key) error) (*core.Key, error) {
	keys, dig, exp := tx.Bucket(bucketKeys), tx.Bucket(bucketDigest), tx.Bucket(bucketExpiry)
	oldData := keys.Get([]byte(k.ID))
	if oldData == nil {
		return nil, fmt.Errorf("%w %q", core.ErrNotFound, k.ID)
	}
	old, oldSig, err := decodeSignedAt([]byte(k.ID), oldData)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(old); err != nil {
			return nil, err
		}
	}
	if !bytes.Equal(old.Digest, k.Digest) {
		if owner := dig.Get(k.Digest); owner != nil && string(owner) != k.ID {
			return nil, core.ErrDuplicate
		}
		if err := dig.Delete(old.Digest); err != nil {
			return nil, err
		}
		if err := dig.Put(k.Digest, []byte(k.ID)); err != nil {
			return nil, err
		}
	}
	if !old.ExpiresAt.Equal(k.ExpiresAt) {
		if err := exp.Delete(expiryKey(old.ExpiresAt, k.ID)); err != nil {
			return nil, err
		}
		if err := exp.Put(expiryKey(k.ExpiresAt, k.ID), nil); err != nil {
			return nil, err
		}
	}
	data, sig := d.encode(k, nil)
	if err := keys.Put([]byte(k.ID), data); err != nil {
		return nil, err
	}
	d.removed(old, oldSig)
	d.added(k, sig)
	return old, nil
}

// RollKey replaces the record of old (its shortened expiry and RolledTo
// set; its expiry index entry moves), inserts new with its index entries,
// and appends ev, in one transaction that advances the sealed state like
// any other change. A missing old fails with core.ErrNotFound, an old whose
// stored record is already rolled with core.ErrAlreadyRolled, one that
// differs otherwise from old with core.ErrKeyChanged, a duplicate id or
// digest of new with core.ErrDuplicate; then nothing is written.
func (s *Store) RollKey(old, new *core.Key, ev core.AuditEvent) error {
	err := s.change(func(tx *bolt.Tx, d *delta) error {
		if _, err := replaceKey(tx, d, old, func(stored *core.Key) error {
			if stored.RolledTo != "" {
				return core.ErrAlreadyRolled
			}
			if !core.SameBeforeRoll(stored, old) {
				return core.ErrKeyChanged
			}
			return nil
		}); err != nil {
			return err
		}
		if err := putNewKey(tx, d, new, nil); err != nil {
			return err
		}
		return appendAudit(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("roll key: %w", err)
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
		k, sig, err := decodeSignedAt([]byte(id), data)
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
		d.removed(k, sig)
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
	err := s.read(func(tx *bolt.Tx) error {
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

// rawRecord is a key record as bbolt holds it: id and data are valid only
// until the transaction ends.
type rawRecord struct{ id, data []byte }

// keyRecords returns the key records of tx, in id order, without decoding
// them (so that callers can decode them in parallel). Stats (page headers
// only) sizes the slice up front.
func keyRecords(tx *bolt.Tx) ([]rawRecord, error) {
	b := tx.Bucket(bucketKeys)
	recs := make([]rawRecord, 0, b.Stats().KeyN)
	err := b.ForEach(func(id, v []byte) error {
		recs = append(recs, rawRecord{id, v})
		return nil
	})
	return recs, err
}

// ListKeys returns every record, in id order. Records are decoded in
// parallel (start-up with 100,000 keys is dominated by decoding).
func (s *Store) ListKeys() ([]*core.Key, error) {
	keys, _, err := s.listKeys(false)
	return keys, err
}

// ListSignedKeys is ListKeys that also returns each record's Ed25519
// signature (sigs[i] is keys[i]'s: nil for an unsigned record, empty for a
// record whose MAC did not check out when the store signed it). Moving the
// store to a shared one carries these signatures over.
func (s *Store) ListSignedKeys() (keys []*core.Key, sigs [][]byte, err error) {
	return s.listKeys(true)
}

// listKeys decodes every record, in id order and in parallel, with its
// signature (copied out of the transaction) when withSigs is set.
func (s *Store) listKeys(withSigs bool) ([]*core.Key, [][]byte, error) {
	var out []*core.Key
	var sigs [][]byte
	err := s.read(func(tx *bolt.Tx) error {
		// The decoders copy everything out of the records before the
		// transaction ends.
		recs, err := keyRecords(tx)
		if err != nil {
			return err
		}
		out = make([]*core.Key, len(recs))
		if withSigs {
			sigs = make([][]byte, len(recs))
		}
		workers := min(runtime.GOMAXPROCS(0), max(1, len(recs)/1024))
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				// The records are kept together: in blocks of the
				// worker's decoder.
				var d seal.RecordDecoder
				for i := w; i < len(recs); i += workers {
					k, sig, err := d.DecodeAt(recs[i].id, recs[i].data)
					if err != nil {
						errs[w] = err
						return
					}
					out[i] = k
					if withSigs && sig != nil {
						sigs[i] = append([]byte{}, sig...)
					}
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list keys: %w", err)
	}
	return out, sigs, nil
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
	err := s.read(func(tx *bolt.Tx) error {
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
			k, sig, err := decodeSignedAt([]byte(id), data)
			if err != nil {
				return err
			}
			if !t.After(k.LastUsedAt) {
				continue
			}
			// The last-used time is covered by neither the MAC nor the
			// signature: the record keeps both.
			k.LastUsedAt = t.UTC()
			if err := keys.Put([]byte(id), encodeRecord(k, sig, sig != nil)); err != nil {
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
