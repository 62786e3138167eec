package core

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultGrace is how long a rolled key keeps working when no grace is
// chosen.
const DefaultGrace = 24 * time.Hour

// GraceChoices are the grace periods the window offers, shortest first; the
// default (24 hours) is one of them.
var GraceChoices = []time.Duration{0, time.Hour, DefaultGrace, 7 * 24 * time.Hour}

// Roll errors callers branch on.
var (
	ErrKeyExpired      = errors.New("the key has expired")
	ErrAlreadyRolled   = errors.New("the key has already been rolled")
	ErrRollUnsupported = errors.New("this store cannot roll keys")
	ErrBadGrace        = errors.New("the grace period must be 0 or a duration such as 1h, 24h or 7d")
	// ErrKeyChanged means the stored record is not the one the service
	// rolled: someone else changed it meanwhile (a shared store).
	ErrKeyChanged = errors.New("the key was changed elsewhere")
)

// KeyRoller is implemented by stores that can roll a key: every Store of
// Keydesk (bbolt, PostgreSQL, the tests' in-memory ones) does. It is a
// separate interface so that a Store written before rolls existed still
// compiles; Service.Roll fails with ErrRollUnsupported on such a store.
type KeyRoller interface {
	// RollKey, in one transaction, replaces the stored record of old
	// (same id and digest, the shortened expiry, RolledTo set, moving its
	// expiry index entry), inserts new, and appends ev. It fails with
	// ErrNotFound when old is not stored, ErrAlreadyRolled when the stored
	// record of old already has a RolledTo, and ErrDuplicate when new's id
	// or digest exists, and may fail with ErrKeyChanged when the stored
	// record differs from old in anything but its expiry and link (another
	// writer changed it); then nothing is written.
	RollKey(old, new *Key, ev AuditEvent) error
}

// ParseGrace reads a grace period: 0, or a whole number of days (7d), or a
// Go duration (1h, 24h, 90m). Negative durations are refused.
func ParseGrace(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 0 || d > 3660 {
			return 0, ErrBadGrace
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, ErrBadGrace
	}
	return d, nil
}

// FormatGrace renders a grace period as ParseGrace reads it: 0, 7d, 24h,
// 90m.
func FormatGrace(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return d.String()
}

// SameBeforeRoll reports whether stored is the record old was rolled from:
// equal in every signed field except the expiry (which a roll only
// shortens) and the link to the replacement. Stores shared by several
// writers check it before writing a roll.
func SameBeforeRoll(stored, old *Key) bool {
	if old.ExpiresAt.After(stored.ExpiresAt) {
		return false
	}
	a, b := *stored, *old
	a.ExpiresAt, a.RolledTo = time.Time{}, ""
	b.ExpiresAt, b.RolledTo = time.Time{}, ""
	return string(a.MACPayload()) == string(b.MACPayload())
}

// RollPlan is what a roll would do at a given time; the roll dialog shows
// it before the admin confirms.
type RollPlan struct {
	// Old is the key to roll (a copy).
	Old *Key
	// OldExpiresAt is the old key's new expiry: the earlier of its own
	// expiry and now + grace.
	OldExpiresAt time.Time
	// New is the record the roll would create (without id, digest, hint
	// or MAC): the old key's name and permissions, created now, with the
	// old key's lifetime length (within the expiry rules).
	New *Key
}

// Rolled is the result of a roll.
type Rolled struct {
	// Old is the old key's record after the roll.
	Old *Key
	// New is the new key's record.
	New *Key
	// Secret is the new key's secret, returned only here (as Create does).
	Secret string
}

// PlanRoll checks that the key id can be rolled at the service's time with
// grace and returns what the roll would do. It fails with ErrNotFound,
// ErrTampered, ErrKeyExpired or ErrAlreadyRolled, or with a permission or
// expiry error when the old key's permissions are no longer valid.
func (s *Service) PlanRoll(id string, grace time.Duration) (RollPlan, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.planRoll(id, grace, s.clock.Now())
}

// planRoll is PlanRoll at now; s.mu must be held.
func (s *Service) planRoll(id string, grace time.Duration, now time.Time) (RollPlan, error) {
	if grace < 0 {
		return RollPlan{}, ErrBadGrace
	}
	old, err := s.loaded(id)
	switch {
	case err != nil:
		return RollPlan{}, err
	case old.Tampered:
		return RollPlan{}, ErrTampered
	case old.RolledTo != "":
		return RollPlan{}, ErrAlreadyRolled
	case old.Expired(now):
		return RollPlan{}, ErrKeyExpired
	}
	created := now.UTC().Truncate(time.Second)
	// The same lifetime length from now, but never beyond what the rules
	// allow a key created now (a Global key's 7 days; 12 months counted
	// in calendar months).
	expires := created.Add(old.ExpiresAt.Sub(old.CreatedAt))
	if limit := MaxExpiry(created, old.Permissions.Kind); expires.After(limit) {
		expires = limit
	}
	k, err := s.Plan(CreateRequest{Name: old.Name, Lifetime: Lifetime{At: expires}, Permissions: old.Permissions}, created)
	if err != nil {
		return RollPlan{}, err
	}
	k.RolledFrom = old.ID
	oldExpires := old.ExpiresAt
	if until := created.Add(grace); until.Before(oldExpires) {
		oldExpires = until
	}
	return RollPlan{Old: old.Clone(), OldExpiresAt: oldExpires, New: k}, nil
}

// Roll replaces the key id by a new key with the same name and permissions
// and the same lifetime length from now, and shortens the old key's expiry
// to the earlier of its own expiry and now + grace (it never extends it):
// services switch to the new secret while the old one keeps working for
// the grace period. The two records are linked (old.RolledTo, new.RolledFrom,
// both covered by the record MAC) and written in one transaction with
// their audit event. The new secret is returned only here.
//
// Rolling a missing, tampered, expired or already rolled key fails with
// ErrNotFound, ErrTampered, ErrKeyExpired or ErrAlreadyRolled; a store that
// is not a KeyRoller with ErrRollUnsupported.
func (s *Service) Roll(id string, grace time.Duration) (Rolled, error) {
	roller, ok := s.store.(KeyRoller)
	if !ok {
		return Rolled{}, ErrRollUnsupported
	}
	if s.admin == nil {
		return Rolled{}, ErrVerifyOnly
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	plan, err := s.planRoll(id, grace, s.clock.Now())
	var old *Key
	if err == nil {
		e, _ := s.byID.get(id)
		old = e.key.Clone() // keeps its stored LastUsedAt
	}
	s.mu.RUnlock()
	if err != nil {
		return Rolled{}, err
	}
	nk := plan.New
	secret, err := s.issue(nk)
	if err != nil {
		return Rolled{}, err
	}

	old.ExpiresAt = plan.OldExpiresAt
	old.RolledTo = nk.ID
	old.MAC = s.admin.SignRecord(old.MACPayload())

	detail := fmt.Sprintf("rolled to %s; the old key now expires %s (grace %s)",
		nk.ID, old.ExpiresAt.UTC().Format(time.RFC3339), FormatGrace(grace))
	if err := roller.RollKey(old, nk, s.event(ActionRoll, old, detail)); err != nil {
		return Rolled{}, fmt.Errorf("roll key: %w", err)
	}
	s.mu.Lock()
	s.ownIndex(old.Clone())
	s.ownIndex(nk.Clone())
	s.mu.Unlock()
	return Rolled{Old: old, New: nk, Secret: secret}, nil
}
