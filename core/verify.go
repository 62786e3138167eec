package core

import (
	"crypto/sha256"
	"time"
)

// Reason says why a verification succeeded or failed.
type Reason string

// Verification reasons, as the HTTP API and the command line report them.
const (
	ReasonOK          Reason = "ok"
	ReasonMalformed   Reason = "malformed"
	ReasonBadChecksum Reason = "bad_checksum"
	ReasonUnknown     Reason = "unknown"
	ReasonExpired     Reason = "expired"
	ReasonForbidden   Reason = "forbidden"
	ReasonTampered    Reason = "tampered"
)

// Explain returns one sentence for people.
func (r Reason) Explain() string {
	switch r {
	case ReasonOK:
		return "The key is valid and allowed."
	case ReasonMalformed:
		return "This is not a Keydesk key (it must be kdk_ followed by 49 letters and digits)."
	case ReasonBadChecksum:
		return "The key's checksum does not match: it was mistyped or truncated."
	case ReasonUnknown:
		return "No such key: it was never issued here or has been deleted."
	case ReasonExpired:
		return "The key has expired."
	case ReasonForbidden:
		return "The key is valid but its scopes do not allow this operation."
	case ReasonTampered:
		return "The key's stored record was altered; it can no longer be used."
	}
	return string(r)
}

// Verification is the answer to "is this key allowed to do that?".
type Verification struct {
	Valid   bool
	Allowed bool
	Reason  Reason
	// Key is the matched record, nil for malformed and unknown keys. It is
	// the service's own record, shared and never changed (records are
	// replaced, not modified): read it, do not modify it (Clone it first).
	// Handing it out instead of a copy keeps a verification free of
	// allocation.
	Key *Key
	// LastUsedAt is the key's last use as Key records it, or, for a
	// VerifyUse that succeeded, the time of this use.
	LastUsedAt time.Time
}

// Target names what a key wants to do: an operation, a scope, or nothing
// (only the key's validity is checked).
type Target struct {
	Operation *Operation
	Scope     string
	// Unmatched means the request matched no catalog operation: the key is
	// checked (so an invalid key is told apart) but nothing is allowed and
	// no use is recorded.
	Unmatched bool
}

// Verify checks a presented secret against target without recording a use:
// it is the admin's test (`keys verify`, the window's Try a key), which must
// not make an unused key look used. It never returns the secret in any form.
func (s *Service) Verify(secret string, target Target) Verification {
	return s.verify(secret, target, false)
}

// VerifyUse is Verify for real use (the HTTP verification API and the
// gateway endpoint): it also records the key's last use when it succeeds.
func (s *Service) VerifyUse(secret string, target Target) Verification {
	return s.verify(secret, target, true)
}

func (s *Service) verify(secret string, target Target, record bool) Verification {
	// Only the key's shape is checked before its HMAC; its range and
	// checksum (CheckKey's rest) only when no record matches, to tell a
	// mistyped key from an unknown one. A secret whose digest matches a
	// record is the key issued for it (HMAC-SHA256 does not collide), and
	// issued keys are well-formed (GenerateKey), so checking them again
	// would cost every valid verification time and decide nothing. (A
	// record forged with the digest of an ill-formed string answers as
	// tampered: its signature fails like any forged record's.)
	if checkShape(secret) != nil {
		return Verification{Reason: ReasonMalformed}
	}
	if g := s.gate.Load(); g != nil {
		s.pass(g)
	}
	digest := s.digestSecret(secret)
	now := s.clock.Now()
	s.mu.RLock()
	// The digest map's group and the entry: the record is not read.
	e := s.lookup(&digest)
	if e == nil {
		s.mu.RUnlock()
		return Verification{Reason: unmatchedReason(secret)}
	}
	var v Verification
	switch sig := e.sig.Load(); {
	case sig == sigBad || s.distrusted.Load() || sig == sigPending && !s.signatureOK(e, e.key):
		v.Reason = ReasonTampered
	case unixNano(now) >= e.expires:
		v.Reason = ReasonExpired
	default:
		v.Valid = true
		v.Allowed = s.allowed(e.scopes.list, target)
		v.Reason = ReasonOK
		if !v.Allowed {
			v.Reason = ReasonForbidden
		}
	}
	// Records in the index are replaced, never changed, so the record
	// itself is handed out.
	v.Key = e.key
	v.LastUsedAt = e.lastUsedAt()
	s.mu.RUnlock()
	if v.Allowed && record {
		now = now.UTC()
		s.markUsed(e, now.UnixNano())
		v.LastUsedAt = now
	}
	return v
}

// unmatchedReason is the reason for a well-shaped secret that matches no
// record: a bad checksum, out of range, or an unknown key.
func unmatchedReason(secret string) Reason {
	switch CheckKey(secret) {
	case nil:
		return ReasonUnknown
	case ErrBadChecksum:
		return ReasonBadChecksum
	}
	return ReasonMalformed
}

// digestSecret returns the digest of a presented secret, without
// allocating when the signer is a SecretDigester.
func (s *Service) digestSecret(secret string) (d [sha256.Size]byte) {
	if s.digester != nil {
		return s.digester.SecretDigest(secret)
	}
	copy(d[:], s.signer.DigestSecret(secret))
	return d
}

func (s *Service) allowed(scopes []string, t Target) bool {
	switch {
	case t.Unmatched:
		return false
	case t.Operation != nil:
		sec, _ := s.Catalog().Section(t.Operation.SectionID)
		return sec != nil && Allows(scopes, t.Operation, sec)
	case t.Scope != "":
		return s.Catalog().AllowsScope(scopes, t.Scope)
	}
	return true
}
