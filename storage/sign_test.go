package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
	bolt "go.etcd.io/bbolt"
)

// rawRecords returns every stored record of the closed store in dir with
// its signature (nil when unsigned).
func rawRecords(t testing.TB, dir string) (map[string]*core.Key, map[string][]byte) {
	t.Helper()
	keys, sigs := map[string]*core.Key{}, map[string][]byte{}
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(id, v []byte) error {
			k, sig, err := decodeSignedAt(id, v)
			if err != nil {
				return err
			}
			if sig != nil {
				sig = bytes.Clone(sig)
			}
			keys[k.ID], sigs[k.ID] = k, sig
			return nil
		})
	})
	return keys, sigs
}

// rewriteState rewrites the state MAC of the closed store in dir over the
// records as they are, as only someone holding the master key can, in
// format (stateV1: a pre-signature, schema 4 state; stateV2: schema 5's
// XOR digest; stateV3: schema 6's; stateV4: the current one, naming the
// catalog digest in the file). It leaves the schema alone.
func rewriteState(t testing.TB, dir string, kr *Keyring, format int) {
	t.Helper()
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		var st sealState
		var xor seal.XorSet
		m := tx.Bucket(bucketMeta)
		st.gen = readGeneration(m)
		if err := tx.Bucket(bucketKeys).ForEach(func(id, v []byte) error {
			k, sig, err := decodeSignedAt(id, v)
			if err != nil {
				return err
			}
			switch format {
			case stateV1:
				xor.Add(kr.signer.ElementV1(id, k.MAC))
			case stateV2:
				xor.Add(kr.signer.Element(id, k.MAC, sig))
			default:
				st.set.Add(kr.signer.Element(id, k.MAC, sig))
			}
			return nil
		}); err != nil {
			return err
		}
		switch format {
		case stateV4:
			named, _, err := namedCatalog(m)
			if err != nil {
				return err
			}
			st.catalog = named
			return m.Put(metaStateMAC, st.mac(kr.signer, s0(tx)))
		case stateV3:
			return m.Put(metaStateMAC, kr.signer.StateMAC(s0(tx), st.gen, &st.set))
		}
		return m.Put(metaStateMAC, kr.signer.LegacyStateMAC(s0(tx), st.gen, &xor, format == stateV1))
	})
}

func s0(tx *bolt.Tx) string { return string(tx.Bucket(bucketMeta).Get(metaStoreID)) }

// v4StoreWithKeys writes a sealed store of n keys (sealedWithKeys), closes
// it and turns it into what Keydesk before record signatures left:
// unsigned records, schema 4, a v1 state MAC.
func v4StoreWithKeys(t *testing.T, n int) (kr *Keyring, dir string, keys []*core.Key, secrets []string) {
	t.Helper()
	s, kr, dir, keys, secrets := sealedWithKeys(t, NewMemoryKeyring(), n)
	s.Close()
	makeV4(t, dir, kr)
	return kr, dir, keys, secrets
}

// makeV4 turns the closed, sealed store in dir into a v4 one.
func makeV4(t testing.TB, dir string, kr *Keyring) {
	t.Helper()
	keys, _ := rawRecords(t, dir)
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		for id, k := range keys {
			if err := tx.Bucket(bucketKeys).Put([]byte(id), encodeKey(k)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(metaSchema, binary.BigEndian.AppendUint64(nil, 4))
	})
	rewriteState(t, dir, kr, stateV1)
}

// TestNewStoreSignsRecords: a new store is at the current schema (7) and every record
// carries the Ed25519 signature a shared store would hold for it (the
// same bytes: Ed25519 is deterministic), through create, rename, roll and
// last-used updates.
func TestNewStoreSignsRecords(t *testing.T) {
	s, kr, dir, keys, _ := sealedWithKeys(t, NewMemoryKeyring(), 3)
	svc, err := core.NewService(s, kr.Signer(), core.FixedClock(t0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rename(keys[0].ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Roll(keys[1].ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastUsed(map[string]time.Time{keys[2].ID: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Schema(); v != SchemaVersion {
		t.Fatalf("schema %d, want %d", v, SchemaVersion)
	}
	lk, ls, err := s.ListSignedKeys()
	if err != nil || len(lk) != 4 {
		t.Fatalf("ListSignedKeys = %d keys, %v", len(lk), err)
	}
	for i, k := range lk {
		if !bytes.Equal(ls[i], kr.ed.SignRecord(k.MACPayload())) {
			t.Fatalf("key %s: stored signature is not the store's signature of it", k.ID)
		}
	}
	s.Close()
	recs, sigs := rawRecords(t, dir)
	for id, k := range recs {
		if !kr.ed.Verifier().VerifyRecord(k.MACPayload(), sigs[id]) {
			t.Fatalf("key %s: signature %x does not verify", id, sigs[id])
		}
	}
	if _, err := reseal(t, dir, kr); err != nil {
		t.Fatalf("reopen: %v", err)
	}
}

// TestSealMigratesV4Store opens a store as Keydesk before record
// signatures left it, with one record edited in place: Seal checks the
// state MAC, signs every record whose MAC checks out, gives the edited one
// an empty signature (it stays tampered), moves to the current schema and advances
// the generation, so the unsigned copy of the file is refused afterwards.
func TestSealMigratesV4Store(t *testing.T) {
	kr, dir, keys, secrets := v4StoreWithKeys(t, 3)
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		k := keys[2].Clone()
		k.Name = "edited in the file"
		return tx.Bucket(bucketKeys).Put([]byte(k.ID), encodeKey(k))
	})
	before, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := reseal(t, dir, kr)
	if err != nil {
		t.Fatalf("Seal of a v4 store: %v", err)
	}
	gen, _ := s2.Generation()
	if v, _ := s2.Schema(); v != SchemaVersion {
		t.Fatalf("schema after the migration %d, want %d", v, SchemaVersion)
	}
	if err := s2.SignatureCheck(); err != nil {
		t.Fatalf("SignatureCheck after the migration: %v", err)
	}
	s2.Close()
	recs, sigs := rawRecords(t, dir)
	for id, k := range recs {
		ok := kr.ed.Verifier().VerifyRecord(k.MACPayload(), sigs[id])
		if id == keys[2].ID {
			if sigs[id] == nil || len(sigs[id]) != 0 {
				t.Fatalf("the edited record got signature %x, want an empty one", sigs[id])
			}
			continue
		}
		if !ok {
			t.Fatalf("key %s was not signed", id)
		}
	}
	if kg, _, _ := kr.Generation(); kg != gen || gen == 0 {
		t.Fatalf("generation %d, keyring %d", gen, kg)
	}
	for i, want := range []core.Reason{core.ReasonOK, core.ReasonOK, core.ReasonTampered} {
		if got, err := verifyAfterOpen(t, dir, kr, secrets[i]); err != nil || got != want {
			t.Fatalf("key %d after the migration: %q, %v; want %q", i, got, err, want)
		}
	}
	if err := os.WriteFile(Path(dir), before, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := reseal(t, dir, kr); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("the unsigned copy put back: Seal = %v, want ErrRolledBack", err)
	}
}

// TestSealMigrationNeedsTheStateMAC: a v4 store whose set of records does
// not match its state MAC is refused before anything is signed.
func TestSealMigrationNeedsTheStateMAC(t *testing.T) {
	kr, dir, keys, _ := v4StoreWithKeys(t, 2)
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		tx.Bucket(bucketDigest).Delete(keys[1].Digest)
		tx.Bucket(bucketExpiry).Delete(expiryKey(keys[1].ExpiresAt, keys[1].ID))
		return tx.Bucket(bucketKeys).Delete([]byte(keys[1].ID))
	})
	if _, err := reseal(t, dir, kr); !errors.Is(err, ErrTampered) {
		t.Fatalf("Seal = %v, want ErrTampered", err)
	}
	s2, err := Open(dir, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if v, _ := s2.Schema(); v != 4 {
		t.Fatalf("a refused migration left schema %d, want 4", v)
	}
}

// TestSignatureAttacksRefused edits keydesk.db as an attacker without the
// master key can: every change to the signatures, or a schema set back to
// have them skipped, fails the open with ErrTampered and writes nothing.
func TestSignatureAttacksRefused(t *testing.T) {
	attacks := map[string]func(t *testing.T, tx *bolt.Tx, keys []*core.Key, sigs map[string][]byte){
		"signature removed": func(t *testing.T, tx *bolt.Tx, keys []*core.Key, sigs map[string][]byte) {
			put(t, tx, keys[0].ID, encodeKey(keys[0]))
		},
		"signature emptied": func(t *testing.T, tx *bolt.Tx, keys []*core.Key, sigs map[string][]byte) {
			put(t, tx, keys[0].ID, encodeRecord(keys[0], []byte{}, true))
		},
		"signature copied from another record": func(t *testing.T, tx *bolt.Tx, keys []*core.Key, sigs map[string][]byte) {
			put(t, tx, keys[0].ID, encodeRecord(keys[0], sigs[keys[1].ID], true))
		},
		"signatures swapped": func(t *testing.T, tx *bolt.Tx, keys []*core.Key, sigs map[string][]byte) {
			put(t, tx, keys[0].ID, encodeRecord(keys[0], sigs[keys[1].ID], true))
			put(t, tx, keys[1].ID, encodeRecord(keys[1], sigs[keys[0].ID], true))
		},
		"schema set back to 4": func(t *testing.T, tx *bolt.Tx, keys []*core.Key, sigs map[string][]byte) {
			setSchema(t, tx, 4)
		},
		"schema set back to 4, signatures removed": func(t *testing.T, tx *bolt.Tx, keys []*core.Key, sigs map[string][]byte) {
			setSchema(t, tx, 4)
			for _, k := range keys {
				put(t, tx, k.ID, encodeKey(k))
			}
		},
		"schema set back to 3, signatures and state MAC removed": func(t *testing.T, tx *bolt.Tx, keys []*core.Key, sigs map[string][]byte) {
			setSchema(t, tx, 3)
			for _, k := range keys {
				put(t, tx, k.ID, encodeKey(k))
			}
			if err := tx.Bucket(bucketMeta).Delete(metaStateMAC); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, attack := range attacks {
		t.Run(name, func(t *testing.T) {
			s, kr, dir, _, secrets := sealedWithKeys(t, NewMemoryKeyring(), 2)
			s.Close()
			recs, sigs := rawRecords(t, dir)
			var keys []*core.Key
			for _, k := range recs {
				keys = append(keys, k)
			}
			rawUpdate(t, dir, func(tx *bolt.Tx) error { attack(t, tx, keys, sigs); return nil })
			before := keysAndState(t, dir)
			reason, err := verifyAfterOpen(t, dir, kr, secrets[0])
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("open = %v (verify %q), want ErrTampered", err, reason)
			}
			if after := keysAndState(t, dir); !bytes.Equal(before, after) {
				t.Fatal("the refused open changed the records or the signed state")
			}
		})
	}
}

// keysAndState returns the records and the state MAC of the closed store
// in dir, concatenated (what a refused open must leave alone; Open's own
// schema migrations below v4 may bump the version).
func keysAndState(t *testing.T, dir string) []byte {
	t.Helper()
	var out []byte
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		out = append(out, tx.Bucket(bucketMeta).Get(metaStateMAC)...)
		out = append(out, tx.Bucket(bucketMeta).Get(metaGeneration)...)
		return tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
			out = append(append(out, k...), v...)
			return nil
		})
	})
	return out
}

func put(t *testing.T, tx *bolt.Tx, id string, data []byte) {
	t.Helper()
	if err := tx.Bucket(bucketKeys).Put([]byte(id), data); err != nil {
		t.Fatal(err)
	}
}

func setSchema(t *testing.T, tx *bolt.Tx, v uint64) {
	t.Helper()
	if err := tx.Bucket(bucketMeta).Put(metaSchema, binary.BigEndian.AppendUint64(nil, v)); err != nil {
		t.Fatal(err)
	}
}

// TestBadSignatureRefusesTheStore writes, holding the master key (so the
// state MAC matches), a record whose MAC checks out but whose signature is
// another record's: the open succeeds, the background check finds it, and
// from then on the store refuses every read and change with ErrTampered.
func TestBadSignatureRefusesTheStore(t *testing.T) {
	s, kr, dir, keys, _ := sealedWithKeys(t, NewMemoryKeyring(), 2)
	s.Close()
	_, sigs := rawRecords(t, dir)
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		put(t, tx, keys[0].ID, encodeRecord(keys[0], sigs[keys[1].ID], true))
		return nil
	})
	rewriteState(t, dir, kr, stateV4)
	s2, err := Open(dir, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Seal(kr); err != nil {
		t.Fatalf("Seal = %v; the signatures are checked in the background", err)
	}
	s2.StartSignatureCheck()
	if err := s2.WaitSignatureCheck(); !errors.Is(err, ErrTampered) {
		t.Fatalf("WaitSignatureCheck = %v, want ErrTampered", err)
	}
	if err := s2.SignatureCheck(); !errors.Is(err, ErrTampered) {
		t.Fatalf("SignatureCheck = %v, want ErrTampered", err)
	}
	if _, err := s2.ListKeys(); !errors.Is(err, ErrTampered) {
		t.Fatalf("ListKeys after the failed check = %v, want ErrTampered", err)
	}
	if err := s2.PutSetting("x", []byte("1"), event(core.ActionSettingsChanged, "")); !errors.Is(err, ErrTampered) {
		t.Fatalf("a change after the failed check = %v, want ErrTampered", err)
	}
	reads := map[string]func() error{
		"Audit":             func() error { _, err := s2.Audit(); return err },
		"Setting":           func() error { _, err := s2.Setting("x"); return err },
		"LastDeliveredSlot": func() error { _, err := s2.LastDeliveredSlot(); return err },
		"KeyIDsExpiring": func() error {
			_, err := s2.KeyIDsExpiring(time.Unix(0, 0), time.Now().AddDate(10, 0, 0))
			return err
		},
		"GetKey": func() error { _, err := s2.GetKey(keys[1].ID); return err },
	}
	for name, read := range reads {
		if err := read(); !errors.Is(err, ErrTampered) {
			t.Errorf("%s after the failed check = %v, want ErrTampered", name, err)
		}
	}
}

// TestSchemaRaisedOnUnsignedStoreRefused sets the schema of a store of
// schema 4 (unsigned records, v1 state MAC) to 5, so that the migration
// would be skipped: its records lack signatures and its state MAC is not
// a v5 one, so the open fails with ErrTampered.
func TestSchemaRaisedOnUnsignedStoreRefused(t *testing.T) {
	for _, n := range []int{0, 2} {
		kr, dir, _, _ := v4StoreWithKeys(t, n)
		rawUpdate(t, dir, func(tx *bolt.Tx) error { setSchema(t, tx, 5); return nil })
		if _, err := reseal(t, dir, kr); !errors.Is(err, ErrTampered) {
			t.Fatalf("%d keys: Seal = %v, want ErrTampered", n, err)
		}
	}
}

// TestEditedSignedRecordIsTampered edits a signed record in place, its MAC
// and signature kept: the set of records is unchanged, so the store opens
// and its signature check passes (it skips records whose MAC fails), and
// that one key is tampered: it never verifies, the others do.
func TestEditedSignedRecordIsTampered(t *testing.T) {
	s, kr, dir, keys, secrets := sealedWithKeys(t, NewMemoryKeyring(), 2)
	s.Close()
	_, sigs := rawRecords(t, dir)
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		k := keys[0].Clone()
		k.ExpiresAt = k.ExpiresAt.AddDate(5, 0, 0)
		tx.Bucket(bucketExpiry).Delete(expiryKey(keys[0].ExpiresAt, k.ID))
		tx.Bucket(bucketExpiry).Put(expiryKey(k.ExpiresAt, k.ID), nil)
		put(t, tx, k.ID, encodeRecord(k, sigs[k.ID], true))
		return nil
	})
	s2, err := reseal(t, dir, kr)
	if err != nil {
		t.Fatalf("open after editing a record in place: %v", err)
	}
	if err := s2.SignatureCheck(); err != nil {
		t.Fatalf("SignatureCheck = %v; a record whose MAC fails is tampered on its own", err)
	}
	svc, err := core.NewService(s2, kr.Signer(), core.FixedClock(t0.Add(time.Hour)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := svc.Verify(secrets[0], core.Target{Scope: "messaging:read"}); v.Reason != core.ReasonTampered {
		t.Fatalf("the edited key verifies %q, want tampered", v.Reason)
	}
	if v := svc.Verify(secrets[1], core.Target{Scope: "messaging:read"}); v.Reason != core.ReasonOK {
		t.Fatalf("the untouched key verifies %q, want ok", v.Reason)
	}
}
