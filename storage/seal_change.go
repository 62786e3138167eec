package storage

import (
	"encoding/binary"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
	bolt "go.etcd.io/bbolt"
)

// delta is what one change does to the sealed state.
type delta struct {
	signer *seal.Signer   // nil when the store is not sealed
	ed     *seal.EdSigner // likewise
	set    seal.Set       // the records added, less those removed
	// catalog, when set, is the digest of the catalog setting the change
	// stores (see seal_catalog.go).
	catalog *catalogDigest
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

// change runs fn in a write transaction that also advances the generation,
// names the catalog fn stored (d.catalog) and, on a sealed store, rewrites
// the state MAC; after the commit the new
// generation goes to the keyring in the background (see mirror). A store that was sealed
// before but not by this process refuses with ErrReadOnly.
func (s *Store) change(fn func(tx *bolt.Tx, d *delta) error) error {
	if err := s.WaitSeal(); err != nil { // see SealInBackground
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var next sealState
	var newCatalog bool
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
		if d.catalog != nil {
			if err := m.Put(metaCatalog, d.catalog[:]); err != nil {
				return err
			}
		}
		newCatalog = d.catalog != nil
		if s.signer == nil {
			return nil
		}
		next = sealState{gen: gen, set: s.state.set, catalog: s.state.catalog}
		next.set.Merge(&d.set)
		if d.catalog != nil {
			next.catalog = *d.catalog
		}
		return m.Put(metaStateMAC, next.mac(s.signer, s.storeID))
	})
	if err != nil {
		return err
	}
	if newCatalog {
		// The store's own change (of a store not sealed yet, nothing
		// else changes one): the catalogs read before it are not ones
		// Seal must find named.
		s.catalogSeen = nil
	}
	if s.signer != nil {
		s.state = next
		s.mirror.committed(next.gen)
	}
	return nil
}
