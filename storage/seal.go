package storage

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"runtime"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
	bolt "go.etcd.io/bbolt"
)

// A sealed store protects the set of its key records, not only each record:
//
//   - Each record's MAC covers its id (core.Key.MACPayload), and a record
//     is read only under the bucket key equal to that id, so a record
//     written back under another id never loads.
//   - The meta bucket holds a generation, advanced by every change
//     (creating, renaming and deleting keys, settings, digest state, audit
//     events; not last-used times, which no MAC covers and no decision
//     depends on), and a state MAC: HMAC, under a key derived from the
//     master key for this use alone, of (store id, generation, set
//     digest). The set digest (seal.Set: an LtHash of the live records,
//     with their count) is over the elements HMAC(id, record MAC, record
//     signature) under the same key (see "Record signatures" below). It is
//     kept in memory only (Seal recomputes it from the records), so the
//     file never shows an element value, and updated in O(1) per change.
//   - The keyring mirrors the generation ("generation:<storeID>"), written
//     after each committed change (in the background, see mirror).
//
// Seal, at open, recomputes the set digest and checks the state MAC, so a
// deleted record's bytes written back (under any id) or a live record
// removed or replaced fails the whole open with ErrTampered: which record
// was revived cannot be told from a set hash, and a store that cannot say
// which of its keys are genuine must not verify any (a restore from a
// backup is the way back). A whole older copy of the file has a valid MAC
// but a generation behind the keyring's: ErrRolledBack. A file ahead of
// the keyring (a crash between a commit and the keyring write) is accepted
// and the keyring brought up to date.
//
// A store with no state MAC (created before schema v3, or by a tool or test
// that never sealed it) is sealed by its first Seal, unless the keyring
// already holds a generation for it: then the MAC was removed, and Seal
// refuses with ErrTampered. A store never sealed on this computer before
// the upgrade is trusted as it is at that first Seal (nothing better is
// known about it).

// Record signatures (schema v5). Every record of a sealed store also
// carries the Ed25519 signature of its core.Key.MACPayload (record format
// v3), made with the key NewEdSigner derives from the store's master key:
// the signature a shared store keeps for it (package pgstore), so moving
// the store there keeps every signature (Ed25519 signatures are
// deterministic: re-signing gives the same bytes). The set digest's
// elements cover (id, MAC, signature), so a signature removed, replaced
// or copied from another record changes the set and fails the open with
// ErrTampered, like a revived record; the state MAC of a v5 store uses its
// own label, so a schema version set back to 4 (to have the signatures
// skipped) fails too. A record's content edited in place (its MAC and
// signature kept) leaves the set alone: its MAC no longer matches, so it
// is tampered and never verifies (core.Service flags it).
//
// Seal checks the signatures themselves in the background (sigCheck): 64
// µs an Ed25519 verification here would put seconds on opening 100,000
// keys, and an attacker without the master key cannot make a signature
// that the state MAC accepts. A record whose MAC checks but whose
// signature does not (something that holds the master key wrote it)
// makes the whole store refuse every change and read with ErrTampered.
//
// A store of schema 4 or older is migrated by Seal, after its state MAC
// checks out: every record whose MAC checks out is signed, one that fails
// is stored with an empty signature (it stays tampered), the schema goes
// to v6, the generation advances (so the unsigned copy of the file is
// older) and the state MAC is rewritten, in one transaction.

// The set digest (schema v6). Up to schema v5 the set was digested as the
// XOR of its elements (seal.XorSet), which is linear: whoever can compute
// the elements can pick old records whose XOR is the signed one. A store
// of schema v5 is moved to the LtHash digest by Seal: its v2 state MAC is
// checked (with the XOR digest, once), then the generation advances, the
// schema goes to v6 and the state MAC is rewritten over the new digest, in
// one transaction. The MAC's label names the digest's format ("keydesk
// store state v3"), and a file's schema decides which MAC is expected, so
// a v6 file set back to v5 fails with ErrTampered, and the v5 copy of the
// file taken before the move is older than the keyring's generation
// (ErrRolledBack).

// sealState is what the state MAC covers besides the store id: the
// generation and the set of live records.
type sealState struct {
	gen uint64
	set seal.Set
}

// mac returns the state MAC of st for the store storeID.
func (st *sealState) mac(signer *seal.Signer, storeID string) []byte {
	return signer.StateMAC(storeID, st.gen, &st.set)
}

// The formats of a local store's state, by schema.
const (
	stateV1 = 1 // schema 3 and 4: unsigned records, XOR digest
	stateV2 = 2 // schema 5: signed records, XOR digest
	stateV3 = 3 // schema 6 (digestSchema): signed records, LtHash digest
)

// decodeKeyAt, decodeSignedAt, encodeKey and encodeRecord are package
// seal's record codec as this package's files use it.
func decodeKeyAt(id, data []byte) (*core.Key, error) {
	k, _, err := seal.DecodeRecordAt(id, data)
	return k, err
}

func decodeSignedAt(id, data []byte) (*core.Key, []byte, error) { return seal.DecodeRecordAt(id, data) }

func encodeKey(k *core.Key) []byte { return seal.EncodeRecord(k) }

func encodeRecord(k *core.Key, sig []byte, signed bool) []byte {
	if signed {
		return seal.EncodeSignedRecord(k, sig)
	}
	return seal.EncodeRecord(k)
}

// Seal checks the store against the signing material and generation in kr
// and keeps them for every later change (see the comment above sealState).
// Call it once, right after Open and before the store is used. It fails
// with ErrCorrupt when the records and their indexes disagree, with
// ErrTampered when the records do not match the signed state, and with
// ErrRolledBack when the file is older than the keyring's generation; the
// store stays unsealed (and read-only if it was sealed before). A store
// without record signatures gets them (see above); the record signatures
// are then checked in the background (SignatureCheck).
func (s *Store) Seal(kr *Keyring) error {
	if kr.StoreID() != s.storeID {
		return fmt.Errorf("seal store: keyring of store %s given for store %s", kr.StoreID(), s.storeID)
	}
	kgen, kok, err := kr.Generation()
	if err != nil {
		return fmt.Errorf("seal store: %w", err)
	}
	sc, err := s.scan(kr.signer)
	if err != nil {
		return fmt.Errorf("seal store: %w", err)
	}
	st := sc.state
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case sc.mac == nil && kok:
		return fmt.Errorf("seal store: %w (its signed state was removed)", ErrTampered)
	case sc.mac == nil:
		// Never sealed: trusted as it is (nothing better is known).
	case !hmac.Equal(sc.mac, sc.expectedMAC(kr.signer, s.storeID)):
		return fmt.Errorf("seal store: %w", ErrTampered)
	case kok && st.gen < kgen:
		return fmt.Errorf("seal store: %w (generation %d, keyring %d)", ErrRolledBack, st.gen, kgen)
	}
	switch {
	case sc.mac == nil || sc.format == stateV1:
		if st, err = s.signRecords(kr, sc.mac != nil); err != nil {
			return fmt.Errorf("seal store: sign the key records: %w", err)
		}
	case sc.format == stateV2:
		if st, err = s.upgradeDigest(kr, st); err != nil {
			return fmt.Errorf("seal store: move to the new set digest: %w", err)
		}
	}
	if !kok || st.gen > kgen {
		if err := kr.SetGeneration(st.gen); err != nil {
			return fmt.Errorf("seal store: %w", err)
		}
	}
	s.signer, s.ed, s.state, s.mirror = kr.signer, kr.ed, st, newMirror(kr, st.gen)
	s.startSigCheck(kr.signer, kr.ed)
	return nil
}

// signRecords moves the store to schema v6 (see above): in one
// transaction, every record is signed if its MAC checks out (an empty
// signature otherwise), the schema is bumped and the state MAC rewritten;
// advance moves the generation on. It returns the new state.
func (s *Store) signRecords(kr *Keyring, advance bool) (sealState, error) {
	var st sealState
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		// The raw records stay valid until the transaction ends (bbolt
		// copies the keys it is given to Put).
		raw, err := keyRecords(tx)
		if err != nil {
			return err
		}
		type signed struct {
			k   *core.Key
			sig []byte
			err error
		}
		recs := make([]signed, len(raw))
		parallel(len(recs), func(i int) {
			r := &recs[i]
			if r.k, r.err = decodeKeyAt(raw[i].id, raw[i].data); r.err != nil {
				return
			}
			r.sig = []byte{}
			if p := r.k.MACPayload(); kr.signer.VerifyRecord(p, r.k.MAC) {
				r.sig = kr.ed.SignRecord(p)
			}
		})
		for i := range recs {
			r := &recs[i]
			if r.err != nil {
				return r.err
			}
			if err := b.Put(raw[i].id, encodeRecord(r.k, r.sig, true)); err != nil {
				return err
			}
			st.set.Add(kr.signer.Element(raw[i].id, r.k.MAC, r.sig))
		}
		m := tx.Bucket(bucketMeta)
		st.gen = readGeneration(m)
		if advance {
			st.gen++
			if err := m.Put(metaGeneration, binary.BigEndian.AppendUint64(nil, st.gen)); err != nil {
				return err
			}
		}
		if err := m.Put(metaSchema, binary.BigEndian.AppendUint64(nil, digestSchema)); err != nil {
			return err
		}
		return m.Put(metaStateMAC, st.mac(kr.signer, s.storeID))
	})
	return st, err
}

// upgradeDigest moves a store of schema v5, whose state st (with the
// records' LtHash digest) scan read and whose XOR state MAC Seal checked,
// to schema v6: in one transaction the generation advances, the schema is
// bumped and the state MAC rewritten over the LtHash digest. It returns
// the new state.
func (s *Store) upgradeDigest(kr *Keyring, st sealState) (sealState, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if readGeneration(m) != st.gen {
			return fmt.Errorf("%w: the generation changed while the store was being checked", ErrCorrupt)
		}
		st.gen++
		if err := m.Put(metaGeneration, binary.BigEndian.AppendUint64(nil, st.gen)); err != nil {
			return err
		}
		if err := m.Put(metaSchema, binary.BigEndian.AppendUint64(nil, digestSchema)); err != nil {
			return err
		}
		return m.Put(metaStateMAC, st.mac(kr.signer, s.storeID))
	})
	return st, err
}

// parallel calls fn(i) for every i in [0, n) on every CPU.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// Sealed reports whether Seal succeeded on this store.
func (s *Store) Sealed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signer != nil
}

// Generation returns the store's generation as stored in the file.
func (s *Store) Generation() (uint64, error) {
	var gen uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		gen = readGeneration(tx.Bucket(bucketMeta))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read generation: %w", err)
	}
	return gen, nil
}

func readGeneration(m *bolt.Bucket) uint64 {
	if v := m.Get(metaGeneration); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// delta is what one change does to the sealed state.
type delta struct {
	signer *seal.Signer   // nil when the store is not sealed
	ed     *seal.EdSigner // likewise
	set    seal.Set       // the records added, less those removed
}

// added and removed record a live record, with its signature, entering or
// leaving the store.
func (d *delta) added(k *core.Key, sig []byte) {
	if d.signer != nil {
		d.set.Add(d.signer.Element([]byte(k.ID), k.MAC, sig))
	}
}

func (d *delta) removed(k *core.Key, sig []byte) {
	if d.signer != nil {
		d.set.Remove(d.signer.Element([]byte(k.ID), k.MAC, sig))
	}
}

// encode returns the stored form of k and its signature: on a sealed
// store signed (sig, if not nil, is the signature already made), unsigned
// otherwise. The store signs only what the record's MAC authenticates: a
// record whose MAC does not match gets an empty signature (it is tampered
// and stays so, on a shared store too).
func (d *delta) encode(k *core.Key, sig []byte) ([]byte, []byte) {
	if d.signer == nil {
		return encodeKey(k), nil
	}
	if sig == nil {
		sig = []byte{}
		if p := k.MACPayload(); d.signer.VerifyRecord(p, k.MAC) {
			sig = d.ed.SignRecord(p)
		}
	}
	return encodeRecord(k, sig, true), sig
}

// change runs fn in a write transaction that also advances the generation
// and, on a sealed store, rewrites the state MAC; after the commit the new
// generation goes to the keyring in the background (see mirror). A store that was sealed
// before but not by this process refuses with ErrReadOnly.
func (s *Store) change(fn func(tx *bolt.Tx, d *delta) error) error {
	if err := s.WaitSeal(); err != nil { // see SealInBackground
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var next sealState
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if s.signer == nil && m.Get(metaStateMAC) != nil {
			return ErrReadOnly
		}
		if err := s.refused(); err != nil {
			return err
		}
		d := &delta{signer: s.signer, ed: s.ed}
		if err := fn(tx, d); err != nil {
			return err
		}
		gen := readGeneration(m) + 1
		if err := m.Put(metaGeneration, binary.BigEndian.AppendUint64(nil, gen)); err != nil {
			return err
		}
		if s.signer == nil {
			return nil
		}
		next = sealState{gen: gen, set: s.state.set}
		next.set.Merge(&d.set)
		return m.Put(metaStateMAC, next.mac(s.signer, s.storeID))
	})
	if err != nil {
		return err
	}
	if s.signer != nil {
		s.state = next
		s.mirror.committed(next.gen)
	}
	return nil
}

// mirror writes a sealed store's latest committed generation to the
// keyring in the background: a Secret Service write costs more than a
// durable bbolt commit (about 17 ms against 2-5 ms here), so a change does
// not wait for it. Writes are coalesced (only the latest generation is
// written) and never go backwards. If the process dies before a write lands
// the keyring lags the file, which Seal accepts (the file is ahead), so the
// cost is only that a copy of the file taken in that moment would not be
// recognised as older.
type mirror struct {
	kr   *Keyring
	mu   sync.Mutex
	idle *sync.Cond // signalled when busy becomes false
	want uint64     // latest committed generation
	done uint64     // highest generation written to the keyring
	err  error      // the last write's failure, nil after a success
	busy bool       // a writer goroutine is running
}

func newMirror(kr *Keyring, done uint64) *mirror {
	m := &mirror{kr: kr, want: done, done: done}
	m.idle = sync.NewCond(&m.mu)
	return m
}

// committed records gen as committed and starts a writer if none runs.
func (m *mirror) committed(gen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.want = max(m.want, gen)
	if !m.busy && m.done < m.want {
		m.busy = true
		go m.run()
	}
}

// run writes the wanted generation until the keyring has caught up or a
// write fails (the next change, or flush, tries again).
func (m *mirror) run() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.done < m.want {
		gen := m.want
		m.mu.Unlock()
		err := m.kr.SetGeneration(gen)
		m.mu.Lock()
		if err != nil {
			m.err = err
			break
		}
		m.done, m.err = gen, nil
	}
	m.busy = false
	m.idle.Broadcast()
}

// flush waits for a running writer, writes the latest generation if it is
// still missing, and returns the last write's error.
func (m *mirror) flush() error {
	m.mu.Lock()
	for m.busy {
		m.idle.Wait()
	}
	if m.done < m.want {
		m.busy = true
		m.mu.Unlock()
		m.run()
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	return m.err
}

// FlushGeneration waits until the keyring holds the store's latest
// generation (writing it if a background write failed) and returns the
// keyring's error, if any. Close calls it; an unsealed store returns nil.
func (s *Store) FlushGeneration() error {
	s.mu.Lock()
	m := s.mirror
	s.mu.Unlock()
	if m == nil {
		return nil
	}
	return m.flush()
}

// scanSeed keys the index checksums of scan: random per process, so that
// a crafted file cannot make unequal index sets sum alike.
var scanSeed = maphash.MakeSeed()

// scanResult is what scan reads: the sealed state the records give
// (generation from the file; the LtHash digest, except for format
// stateV1), the stored state MAC (nil if none) and the format of the
// state the file's schema says it holds; for formats stateV1 and stateV2,
// also the records' XOR digest, which their state MAC covers.
type scanResult struct {
	state  sealState
	xor    seal.XorSet
	mac    []byte
	format int
}

// expectedMAC returns the state MAC that the records give, in the
// format of the file's schema.
func (sc *scanResult) expectedMAC(signer *seal.Signer, storeID string) []byte {
	if sc.format == stateV3 {
		return sc.state.mac(signer, storeID)
	}
	return signer.LegacyStateMAC(storeID, sc.state.gen, &sc.xor, sc.format == stateV1)
}

// scan reads every record, checks that it decodes under its own id and
// that the digest and expiry indexes hold exactly one entry per record, and
// returns what the records give (see scanResult). A sealed store of schema
// v5 holding an unsigned record fails with ErrTampered. The records are
// decoded and hashed on every CPU; the indexes are compared through keyed
// checksums of their entries rather than a lookup per record.
func (s *Store) scan(signer *seal.Signer) (scanResult, error) {
	var sc scanResult
	st := &sc.state
	err := s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		st.gen = readGeneration(m)
		if v := m.Get(metaStateMAC); v != nil {
			sc.mac = append([]byte(nil), v...)
		}
		sc.format = stateV3
		if v := m.Get(metaSchema); len(v) != 8 || binary.BigEndian.Uint64(v) < signedSchema {
			sc.format = stateV1
		} else if binary.BigEndian.Uint64(v) < digestSchema {
			sc.format = stateV2
		}
		recs, err := keyRecords(tx)
		if err != nil {
			return err
		}
		type part struct {
			set      seal.Set
			xor      seal.XorSet
			dig, exp uint64
			err      error
		}
		workers := min(runtime.GOMAXPROCS(0), max(1, len(recs)/1024))
		parts := make([]part, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				p := &parts[w]
				var h maphash.Hash
				h.SetSeed(scanSeed)
				ek := make([]byte, 0, 64)
				for i := w; i < len(recs); i += workers {
					f, ok := seal.RecordFields(recs[i].data)
					id, digest, expires := f.ID, f.Digest, f.Expires
					if !ok || !bytes.Equal(id, recs[i].id) {
						_, err := decodeKeyAt(recs[i].id, recs[i].data)
						if err == nil {
							err = fmt.Errorf("%w: key record %q does not parse", ErrCorrupt, recs[i].id)
						}
						p.err = err
						return
					}
					switch {
					case sc.format == stateV1:
						p.xor.Add(signer.ElementV1(id, f.MAC))
					case f.Sig == nil && sc.mac != nil:
						p.err = fmt.Errorf("%w (key %q has lost its signature)", ErrTampered, id[:min(len(id), 64)])
						return
					default:
						e := signer.Element(id, f.MAC, f.Sig)
						p.set.Add(e)
						if sc.format == stateV2 {
							p.xor.Add(e)
						}
					}
					p.dig += entrySum(&h, digest, id)
					if expires == seal.ZeroTime {
						expires = time.Time{}.UnixNano() // as expiryKey stores it
					}
					ek = binary.BigEndian.AppendUint64(ek[:0], uint64(expires)^(1<<63))
					p.exp += entrySum(&h, append(ek, id...), nil)
				}
			})
		}
		wg.Wait()
		var dig, exp uint64
		for _, p := range parts {
			if p.err != nil {
				return p.err
			}
			st.set.Merge(&p.set)
			sc.xor.Merge(&p.xor)
			dig += p.dig
			exp += p.exp
		}
		var h maphash.Hash
		h.SetSeed(scanSeed)
		var n int
		if err := tx.Bucket(bucketDigest).ForEach(func(k, v []byte) error {
			n++
			dig -= entrySum(&h, k, v)
			return nil
		}); err != nil {
			return err
		}
		if n != len(recs) || dig != 0 {
			return fmt.Errorf("%w: the digest index (%d entries) does not match the %d key records", ErrCorrupt, n, len(recs))
		}
		n = 0
		if err := tx.Bucket(bucketExpiry).ForEach(func(k, v []byte) error {
			n++
			if len(v) != 0 {
				return fmt.Errorf("%w: an expiry index entry holds a value", ErrCorrupt)
			}
			exp -= entrySum(&h, k, nil)
			return nil
		}); err != nil {
			return err
		}
		if n != len(recs) || exp != 0 {
			return fmt.Errorf("%w: the expiry index (%d entries) does not match the %d key records", ErrCorrupt, n, len(recs))
		}
		return nil
	})
	return sc, err
}

// entrySum is the keyed checksum of one index entry (key, value).
func entrySum(h *maphash.Hash, key, value []byte) uint64 {
	h.Reset()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(key)))
	h.Write(n[:])
	h.Write(key)
	h.Write(value)
	return h.Sum64()
}
