package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/keydesk/keydesk/core"
	bolt "go.etcd.io/bbolt"
)

func appendAudit(tx *bolt.Tx, ev core.AuditEvent) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("audit sequence: %w", err)
	}
	ev.Seq = seq
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Time = ev.Time.UTC()
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode audit event: %w", err)
	}
	return b.Put(binary.BigEndian.AppendUint64(nil, seq), data)
}

// AppendAudit records an event that changes no key.
func (s *Store) AppendAudit(ev core.AuditEvent) error {
	if err := s.change(func(tx *bolt.Tx, _ *delta) error { return appendAudit(tx, ev) }); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// Audit returns the audit log, newest first.
func (s *Store) Audit() ([]core.AuditEvent, error) {
	var out []core.AuditEvent
	err := s.read(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var ev core.AuditEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("%w: an audit event is not valid JSON: %v", ErrCorrupt, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// KeyAudit returns the audit entries about the keys ids, newest first. It
// walks the log as Audit does but decodes only the entries that name one of
// the keys, so showing one key's entries costs no more than a scan.
func (s *Store) KeyAudit(ids ...string) ([]core.AuditEvent, error) {
	marks := make([][]byte, len(ids))
	for i, id := range ids {
		// keyId is written with encoding/json, which escapes none of an
		// id's characters; the decoded entry is checked again below.
		marks[i] = []byte(`"keyId":"` + id + `"`)
	}
	var out []core.AuditEvent
	err := s.read(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			if !slices.ContainsFunc(marks, func(m []byte) bool { return bytes.Contains(v, m) }) {
				continue
			}
			var ev core.AuditEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("%w: an audit event is not valid JSON: %v", ErrCorrupt, err)
			}
			if slices.Contains(ids, ev.KeyID) {
				out = append(out, ev)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the keys' audit entries: %w", err)
	}
	return out, nil
}
