// Package legacystate writes what builds before the LtHash set digest
// wrote for a shared store's signed state (state format 2), made as they
// made it, for the tests of its migration and of its refusal afterwards:
// the XOR of the records' set elements, masked with a pad, and the
// Ed25519 signature of the format 2 message, with the keys those builds
// derived from the master key by HKDF-SHA256. RowV3 writes what builds
// before the catalog's binding wrote (state format 3).
package legacystate

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/seal"
)

// Row returns the value of store_meta's "signed_state" row for the
// records keys at generation gen of the store storeID whose master key is
// master, as a build before the LtHash digest wrote it.
func Row(master []byte, storeID string, gen uint64, keys []*core.Key) (string, error) {
	ed, err := seal.NewEdSigner(master)
	if err != nil {
		return "", err
	}
	var acc [sha256.Size]byte
	for _, k := range keys {
		e := ed.SetElement(k.ID, k.MAC)
		for i := range acc {
			acc[i] ^= e[i]
		}
	}
	header := func(b []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(storeID)))
		b = append(b, storeID...)
		return binary.BigEndian.AppendUint64(b, gen)
	}
	h := sha256.Sum256(acc[:])
	msg := binary.BigEndian.AppendUint64(header([]byte("keydesk shared state v2\x00")), uint64(len(keys)))
	msg = append(msg, h[:]...)
	seed, err := hkdf.Key(sha256.New, master, nil, "keydesk v2 record ed25519 seed", ed25519.SeedSize)
	if err != nil {
		return "", fmt.Errorf("derive the signing key: %w", err)
	}
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(seed), msg)
	maskKey, err := hkdf.Key(sha256.New, master, nil, "keydesk v2 shared state mask", 32)
	if err != nil {
		return "", fmt.Errorf("derive the mask key: %w", err)
	}
	m := hmac.New(sha256.New, maskKey)
	m.Write(header(nil))
	pad := m.Sum(nil)
	for i := range acc {
		acc[i] ^= pad[i]
	}
	row := binary.BigEndian.AppendUint64(nil, gen)
	row = binary.BigEndian.AppendUint64(row, uint64(len(keys)))
	row = append(append(row, acc[:]...), sig...)
	return base64.StdEncoding.EncodeToString(row), nil
}

// RowV3 returns the value of store_meta's "signed_state" row for the
// records keys at generation gen of the store storeID whose master key is
// master, as builds before the catalog's binding (state format 3) wrote
// it: the format byte, the generation, the LtHash set digest of the
// records and the Ed25519 signature of seal.StateMessage, naming no
// catalog.
func RowV3(master []byte, storeID string, gen uint64, keys []*core.Key) (string, error) {
	ed, err := seal.NewEdSigner(master)
	if err != nil {
		return "", err
	}
	elems := make([]seal.Element, len(keys))
	for i, k := range keys {
		elems[i] = ed.SetElement(k.ID, k.MAC)
	}
	set := seal.SetOf(elems)
	row := binary.BigEndian.AppendUint64([]byte{3}, gen)
	row, err = set.AppendBinary(row)
	if err != nil {
		return "", err
	}
	row = append(row, ed.SignState(storeID, gen, &set)...)
	return base64.StdEncoding.EncodeToString(row), nil
}
