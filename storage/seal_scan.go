package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"runtime"
	"sync"
	"time"

	"github.com/keydesk/keydesk/seal"
	bolt "go.etcd.io/bbolt"
)

// scanSeed keys the index checksums of scan: random per process, so that
// a crafted file cannot make unequal index sets sum alike.
var scanSeed = maphash.MakeSeed()

// scanResult is what scan reads: the sealed state the records give
// (generation from the file; the LtHash digest, except for format
// stateV1; the catalog digest the file names for format stateV4, else, or
// without a state MAC, the digest of the catalog setting, which a move to
// stateV4 names), the stored state MAC (nil if none) and the format of the
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
	switch sc.format {
	case stateV4:
		return sc.state.mac(signer, storeID)
	case stateV3:
		return signer.StateMAC(storeID, sc.state.gen, &sc.state.set)
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
		switch v := m.Get(metaSchema); {
		case len(v) != 8 || binary.BigEndian.Uint64(v) < signedSchema:
			sc.format = stateV1
		case binary.BigEndian.Uint64(v) < digestSchema:
			sc.format = stateV2
		case binary.BigEndian.Uint64(v) < catalogSchema:
			sc.format = stateV3
		default:
			sc.format = stateV4
		}
		named, bound, err := namedCatalog(m)
		if err != nil {
			return err
		}
		if !bound || sc.mac == nil {
			// What a move to stateV4 (or a first Seal) names.
			named = storedCatalog(tx)
		}
		st.catalog = named
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
		if err := checkIndex(tx.Bucket(bucketDigest), "digest index", len(recs), dig, false); err != nil {
			return err
		}
		return checkIndex(tx.Bucket(bucketExpiry), "expiry index", len(recs), exp, true)
	})
	return sc, err
}

// checkIndex checks that the index b (named what in errors) holds one entry
// per key record, records of them, and that its entries' sum (entrySum)
// is want, the sum the records' own fields give. With noValues an entry
// holding a value is corrupt too.
func checkIndex(b *bolt.Bucket, what string, records int, want uint64, noValues bool) error {
	var h maphash.Hash
	h.SetSeed(scanSeed)
	n := 0
	if err := b.ForEach(func(k, v []byte) error {
		n++
		if noValues && len(v) != 0 {
			return fmt.Errorf("%w: an %s entry holds a value", ErrCorrupt, what)
		}
		want -= entrySum(&h, k, v)
		return nil
	}); err != nil {
		return err
	}
	if n != records || want != 0 {
		return fmt.Errorf("%w: the %s (%d entries) does not match the %d key records", ErrCorrupt, what, n, records)
	}
	return nil
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
