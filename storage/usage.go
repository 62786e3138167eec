package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keydesk/keydesk/core"
)

var _ core.UsageStore = (*Store)(nil)

// bucketUsage holds usage counts: the key is the day (4 bytes, days since
// 1970-01-01, big-endian, so that days sort and prune as a cursor range),
// the writer id's length (1 byte), the writer id and the key id (empty for
// the day's unknown and malformed keys); the value is the counts allowed,
// denied, expired, unknown and malformed (5 × 8 bytes, big-endian). It is
// made by the first write and covered by no signature: counts change
// nothing else.
var bucketUsage = []byte("usage")

const usageValueLen = 5 * 8

func usageDayNumber(t time.Time) uint32 { return uint32(core.UsageDay(t).Unix() / 86400) }

func usageKey(day uint32, writer, keyID string) []byte {
	k := binary.BigEndian.AppendUint32(make([]byte, 0, 5+len(writer)+len(keyID)), day)
	k = append(k, byte(len(writer)))
	k = append(k, writer...)
	return append(k, keyID...)
}

// PutUsage replaces writer's counts for each row's day and key, and
// deletes every writer's rows of days before pruneBefore, in one
// transaction.
func (s *Store) PutUsage(writer string, rows []core.UsageRow, pruneBefore time.Time) error {
	if err := core.CheckUsageWriter(writer); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketUsage)
		if err != nil {
			return err
		}
		for _, r := range rows {
			v := make([]byte, 0, usageValueLen)
			for _, n := range [5]uint64{r.Allowed, r.Denied, r.Expired, r.Unknown, r.Malformed} {
				v = binary.BigEndian.AppendUint64(v, n)
			}
			if err := b.Put(usageKey(usageDayNumber(r.Day), writer, r.KeyID), v); err != nil {
				return err
			}
		}
		end := binary.BigEndian.AppendUint32(nil, usageDayNumber(pruneBefore))
		c := b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, end) < 0; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save usage counts: %w", err)
	}
	return nil
}

// ReadUsage calls fn with the rows of days in [from, to], of the keys in
// keys unless it is nil. A damaged entry fails with ErrCorrupt.
func (s *Store) ReadUsage(from, to time.Time, keys []string, fn func(core.UsageRow) error) error {
	start := binary.BigEndian.AppendUint32(nil, usageDayNumber(from))
	last := usageDayNumber(to)
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsage)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(start); k != nil; k, v = c.Next() {
			if len(k) < 5 || len(k) < 5+int(k[4]) || len(v) != usageValueLen {
				return fmt.Errorf("%w: a usage entry is damaged", ErrCorrupt)
			}
			day := binary.BigEndian.Uint32(k)
			if day > last {
				break
			}
			keyID := string(k[5+int(k[4]):])
			if keys != nil && !slices.Contains(keys, keyID) {
				continue
			}
			r := core.UsageRow{
				Writer: string(k[5 : 5+int(k[4])]),
				Day:    time.Unix(int64(day)*86400, 0).UTC(),
				KeyID:  keyID,
			}
			n := func(i int) uint64 { return binary.BigEndian.Uint64(v[i*8:]) }
			r.Allowed, r.Denied, r.Expired, r.Unknown, r.Malformed = n(0), n(1), n(2), n(3), n(4)
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}
