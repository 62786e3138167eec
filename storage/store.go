// Package storage keeps a Keydesk data folder: the bbolt database holding key
// records, their digest and expiry indexes, settings, digest state and the
// audit log (Store), and the per-store signing material kept in the OS keyring
// (Keyring). Neither ever holds a key's secret.
package storage

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the database file inside a data folder.
const FileName = "keydesk.db"

// DefaultOpenTimeout is how long Open waits for another process to release
// the database before answering ErrAlreadyOpen.
const DefaultOpenTimeout = time.Second

// Storage errors callers branch on.
var (
	// ErrAlreadyOpen means another Keydesk process holds the data folder.
	ErrAlreadyOpen = errors.New("Keydesk is already open on this data folder")
	// ErrSchemaTooNew means the database was written by a newer Keydesk.
	ErrSchemaTooNew = errors.New("this data folder was written by a newer version of Keydesk; update Keydesk to open it")
	// ErrCorrupt means the database's contents are inconsistent (an index
	// points at a missing record, a key record does not decode, ...).
	ErrCorrupt = errors.New("the Keydesk database is damaged")
	// ErrNoStore means the data folder holds no Keydesk database.
	ErrNoStore = errors.New("the data folder holds no Keydesk database")
)

// Bucket names. The expiry index maps ExpiresAt (8 bytes, see expiryKey)
// followed by the key id to nothing, so a time window is a cursor range.
var (
	bucketKeys     = []byte("keys")
	bucketDigest   = []byte("idx_digest")
	bucketExpiry   = []byte("idx_expiry")
	bucketSettings = []byte("settings")
	bucketDigests  = []byte("digest_state")
	bucketAudit    = []byte("audit")
	bucketMeta     = []byte("meta")
)

// Meta and digest-state entries.
var (
	metaSchema        = []byte("schema_version")
	metaStoreID       = []byte("store_id")
	metaCreated       = []byte("created")
	digestLastSlotKey = []byte("last_delivered_slot")
)

// migrations[i] moves a database from schema version i to i+1; each runs in
// the same transaction as the version bump. To add schema v2, append a
// function and nothing else.
var migrations = []func(tx *bolt.Tx) error{
	// v0 -> v1: the initial layout.
	func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketKeys, bucketDigest, bucketExpiry, bucketSettings, bucketDigests, bucketAudit, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	},
	// v1 -> v2: key records move from JSON to the binary encoding of
	// record.go (decoding JSON dominated opening a large store). Only the
	// pre-release builds wrote v1; the index buckets are unchanged.
	migrateKeysToBinary,
}

// migrateKeysToBinary re-encodes every JSON key record of a schema v1
// database in the binary record format. Records are collected first:
// bbolt forbids changing a bucket while iterating over it.
func migrateKeysToBinary(tx *bolt.Tx) error {
	b := tx.Bucket(bucketKeys)
	var ids, recs [][]byte
	if err := b.ForEach(func(id, v []byte) error {
		var k core.Key
		if err := json.Unmarshal(v, &k); err != nil {
			return fmt.Errorf("%w: key record %q is not valid JSON", ErrCorrupt, id)
		}
		ids = append(ids, bytes.Clone(id))
		recs = append(recs, encodeKey(&k))
		return nil
	}); err != nil {
		return err
	}
	for i, id := range ids {
		if err := b.Put(id, recs[i]); err != nil {
			return fmt.Errorf("rewrite key record %q: %w", id, err)
		}
	}
	return nil
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = uint64(len(migrations))

// Options tune Open.
type Options struct {
	// Timeout is how long to wait for another process to release the
	// database; zero means DefaultOpenTimeout.
	Timeout time.Duration
	// NewStoreID is the id given to the store if Open creates it; empty
	// means a random one. The workspace creates the keyring entry for this id
	// before the database exists, so that a missing keyring writes nothing.
	NewStoreID string
	// MustExist makes Open fail with ErrNoStore instead of creating a
	// database (also when the file exists but was never initialised).
	MustExist bool
	// Now is the creation time recorded in a new store; zero means now.
	Now time.Time
}

// Store is a Keydesk database. It implements core.Store and is safe for
// concurrent use.
type Store struct {
	db      *bolt.DB
	path    string
	storeID string
	created time.Time
}

var (
	_ core.Store       = (*Store)(nil)
	_ core.ExpiryIndex = (*Store)(nil)
)

// Path returns the database file path of a data folder.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Exists reports whether dir already holds a Keydesk database.
func Exists(dir string) (bool, error) {
	_, err := os.Stat(Path(dir))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("check data folder: %w", err)
}

// NewStoreID returns a random 128-bit store id in hex.
func NewStoreID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate store id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Open opens the database in dir, creating the folder (mode 0700, parents
// included) and the file (mode 0600) when missing, and running schema
// migrations. If another process holds the database, Open returns
// ErrAlreadyOpen after opts.Timeout without changing anything.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultOpenTimeout
	}
	path := Path(dir)
	exists, err := Exists(dir)
	if err != nil {
		return nil, err
	}
	if !exists {
		if opts.MustExist {
			return nil, ErrNoStore
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, ErrAlreadyOpen
		}
		return nil, fmt.Errorf("open store: %w", err)
	}
	// The lock is held: the file is ours. Keep it private even if it was
	// created by something else with a looser mode.
	if fi, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		if err := os.Chmod(path, 0o600); err != nil {
			db.Close()
			return nil, fmt.Errorf("restrict store file mode: %w", err)
		}
	}
	s := &Store{db: db, path: path}
	if err := s.init(opts); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// init runs pending migrations and reads or writes the store's identity.
func (s *Store) init(opts Options) error {
	var version uint64
	var id, created []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m != nil {
			if v := m.Get(metaSchema); len(v) == 8 {
				version = binary.BigEndian.Uint64(v)
			}
			id = bytes.Clone(m.Get(metaStoreID))
			created = bytes.Clone(m.Get(metaCreated))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("read store schema: %w", err)
	}
	if version > SchemaVersion {
		return ErrSchemaTooNew
	}
	if len(id) == 0 && opts.MustExist {
		// The file exists but was never given an identity (a first run
		// stopped before its first transaction): it is not a store yet.
		return ErrNoStore
	}
	if version < SchemaVersion || len(id) == 0 {
		err := s.db.Update(func(tx *bolt.Tx) error {
			for v := version; v < SchemaVersion; v++ {
				if err := migrations[v](tx); err != nil {
					return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
				}
			}
			m := tx.Bucket(bucketMeta)
			if err := m.Put(metaSchema, binary.BigEndian.AppendUint64(nil, SchemaVersion)); err != nil {
				return err
			}
			if len(id) == 0 {
				newID := opts.NewStoreID
				if newID == "" {
					var err error
					if newID, err = NewStoreID(); err != nil {
						return err
					}
				}
				now := opts.Now
				if now.IsZero() {
					now = time.Now()
				}
				id = []byte(newID)
				created, _ = now.UTC().MarshalText()
				if err := m.Put(metaStoreID, id); err != nil {
					return err
				}
				if err := m.Put(metaCreated, created); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("initialise store: %w", err)
		}
	}
	s.storeID = string(id)
	if err := s.created.UnmarshalText(created); err != nil {
		return fmt.Errorf("%w: bad creation time: %v", ErrCorrupt, err)
	}
	return nil
}

// Close closes the database, releasing the data folder.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// StoreID returns the store's random id (hex), fixed at creation. It names
// the store's entries in the OS keyring.
func (s *Store) StoreID() string { return s.storeID }

// Created returns when the store was created.
func (s *Store) Created() time.Time { return s.created }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Schema returns the schema version stored in the database.
func (s *Store) Schema() (uint64, error) {
	var v uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta).Get(metaSchema); len(b) == 8 {
			v = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	return v, err
}

// expiryKey encodes t as 8 big-endian bytes of its Unix nanoseconds with the
// sign bit flipped (so byte order is time order, before 1970 included),
// followed by id.
func expiryKey(t time.Time, id string) []byte {
	b := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(b, uint64(t.UnixNano())^(1<<63))
	return append(b, id...)
}

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

// putNewKey writes a record and its index entries, refusing a duplicate id or
// digest.
func putNewKey(tx *bolt.Tx, k *core.Key) error {
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
	return exp.Put(expiryKey(k.ExpiresAt, k.ID), nil)
}

// InsertKey stores a new record with its digest and expiry index entries and
// its audit event, in one transaction. A duplicate id or digest fails with
// core.ErrDuplicate.
func (s *Store) InsertKey(k *core.Key, ev core.AuditEvent) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := putNewKey(tx, k); err != nil {
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
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, k := range keys {
			if err := putNewKey(tx, k); err != nil {
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
	err := s.db.Update(func(tx *bolt.Tx) error {
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
	err := s.db.Update(func(tx *bolt.Tx) error {
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

// AppendAudit records an event that changes no key.
func (s *Store) AppendAudit(ev core.AuditEvent) error {
	if err := s.db.Update(func(tx *bolt.Tx) error { return appendAudit(tx, ev) }); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// Audit returns the audit log, newest first.
func (s *Store) Audit() ([]core.AuditEvent, error) {
	var out []core.AuditEvent
	err := s.db.View(func(tx *bolt.Tx) error {
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

// Setting returns a setting's value, or nil, nil when it is unset.
func (s *Store) Setting(name string) ([]byte, error) {
	var v []byte
	err := s.db.View(func(tx *bolt.Tx) error {
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
	err := s.db.Update(func(tx *bolt.Tx) error {
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

// LastDeliveredSlot returns the last digest slot marked delivered, or the
// zero time when none was.
func (s *Store) LastDeliveredSlot() (time.Time, error) {
	var t time.Time
	err := s.db.View(func(tx *bolt.Tx) error {
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
	err := s.db.Update(func(tx *bolt.Tx) error {
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

// Check verifies the store's internal consistency: every record decodes and
// has exactly one digest and one expiry index entry pointing at it, and
// every index entry points at a record. It reports the first problem found,
// wrapping ErrCorrupt.
func (s *Store) Check() error {
	return s.db.View(func(tx *bolt.Tx) error {
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
