// Package seal is the one place that knows how a key record is signed and
// stored, for both stores (package storage's bbolt file and package
// pgstore's PostgreSQL database), which it treats as untrusted: whatever
// they hand back is checked here before anything believes it.
//
// It holds:
//
//   - the record codec (record.go): the canonical binary form of a
//     core.Key, whose decoder accepts only what the encoder writes;
//   - the signing material derived from a store's master key: Signer (the
//     local store's HMAC keys), EdSigner (the shared store's admin
//     material: the Ed25519 key that signs records and the store's state)
//     and EdVerifier (a verification server's verify-only part of it);
//   - Set, the digest of the set of a store's live records that its signed
//     state covers (LtHash16), so that a record written back, removed or
//     replaced by someone without the signing material fails the check of
//     the whole set; and XorSet, the linear digest of earlier builds, kept
//     only to check such a state once before moving it to Set.
//
// What it guarantees: a record decodes only in its canonical form and
// under its own id; a record's MAC or signature covers every field that
// grants access (core.Key.MACPayload); only the holder of the master key
// (the admin) can produce a record signature or a state that a reader
// accepts; the verify-only material checks signatures but cannot make one,
// nor find another set of records with a signed set's digest; every
// signed state names its format, so a state of one format never passes
// for another.
package seal
