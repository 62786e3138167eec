package storage

import (
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"

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
//     digest, and from schema v7 the digest of the catalog setting: see
//     seal_catalog.go). The set digest (seal.Set: an LtHash of the live
//     records, with their count) is over the elements HMAC(id, record
//     MAC, record signature) under the same key (see "Record signatures" below). It is
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
// to the current one (v7), the generation advances (so the unsigned copy
// of the file is older) and the state MAC is rewritten, in one
// transaction.

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
// (ErrRolledBack). A store of schema v5 now goes straight to v7 (the
// catalog digest too, see seal_catalog.go), one of v6 the same way.

// sealState is what the state MAC covers besides the store id: the
// generation, the set of live records and the digest of the catalog
// setting (seal_catalog.go).
type sealState struct {
	gen     uint64
	set     seal.Set
	catalog catalogDigest
}

// mac returns the state MAC of st for the store storeID.
func (st *sealState) mac(signer *seal.Signer, storeID string) []byte {
	return signer.CatalogStateMAC(storeID, st.gen, &st.set, st.catalog)
}

// The formats of a local store's state, by schema.
const (
	stateV1 = 1 // schema 3 and 4: unsigned records, XOR digest
	stateV2 = 2 // schema 5: signed records, XOR digest
	stateV3 = 3 // schema 6 (digestSchema): signed records, LtHash digest
	stateV4 = 4 // schema 7 (catalogSchema): stateV3 and the catalog's digest
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
// ErrTampered when the records do not match the signed state, with
// ErrRolledBack when the file is older than the keyring's generation, and
// with ErrCatalogMismatch when a catalog Setting returned before it is not
// the one the state names; the store stays unsealed (and read-only if it
// was sealed before). A store without record signatures gets them (see
// above), one of an older schema moves to the current state format; the
// record signatures are then checked in the background (SignatureCheck).
// A catalog setting that is not the one the state names does not fail
// Seal: reads of it do (ErrCatalogMismatch), until a catalog import or
// reset replaces it.
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
	if err := s.checkCatalogSeen(st.catalog); err != nil {
		return fmt.Errorf("seal store: %w", err)
	}
	switch {
	case sc.mac == nil || sc.format == stateV1:
		if st, err = s.signRecords(kr, sc.mac != nil, st.catalog); err != nil {
			return fmt.Errorf("seal store: sign the key records: %w", err)
		}
	case sc.format == stateV2 || sc.format == stateV3:
		if st, err = s.upgradeState(kr, st); err != nil {
			return fmt.Errorf("seal store: move to the current state format: %w", err)
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

// signRecords moves the store to the current schema (see above): in one
// transaction, every record is signed if its MAC checks out (an empty
// signature otherwise), the schema is bumped and the state MAC rewritten,
// naming catalog, the digest of the catalog setting scan read; advance
// moves the generation on. It returns the new state.
func (s *Store) signRecords(kr *Keyring, advance bool, catalog catalogDigest) (sealState, error) {
	var st sealState
	err := s.db.Update(func(tx *bolt.Tx) error {
		if st.catalog = storedCatalog(tx); st.catalog != catalog {
			return fmt.Errorf("%w: the catalog changed while the store was being checked", ErrCorrupt)
		}
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
		}
		return s.putState(m, kr, st, advance)
	})
	return st, err
}

// upgradeState moves a store of schema v5 or v6, whose state st (with the
// records' LtHash digest and the digest of the catalog setting) scan read
// and whose state MAC of that schema Seal checked, to the current schema:
// in one transaction the generation advances, the schema is bumped and
// the state MAC rewritten over the LtHash digest and the catalog's. It
// returns the new state.
func (s *Store) upgradeState(kr *Keyring, st sealState) (sealState, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if readGeneration(m) != st.gen || storedCatalog(tx) != st.catalog {
			return fmt.Errorf("%w: the store changed while it was being checked", ErrCorrupt)
		}
		st.gen++
		return s.putState(m, kr, st, true)
	})
	return st, err
}

// putState ends a move to the current schema in the meta bucket m: it
// writes st's generation when gen is set, then the schema, the catalog
// digest st names and st's state MAC.
func (s *Store) putState(m *bolt.Bucket, kr *Keyring, st sealState, gen bool) error {
	if gen {
		if err := m.Put(metaGeneration, binary.BigEndian.AppendUint64(nil, st.gen)); err != nil {
			return err
		}
	}
	if err := m.Put(metaSchema, binary.BigEndian.AppendUint64(nil, catalogSchema)); err != nil {
		return err
	}
	if err := m.Put(metaCatalog, st.catalog[:]); err != nil {
		return err
	}
	return m.Put(metaStateMAC, st.mac(kr.signer, s.storeID))
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
