package core

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Lifetime limits: every key lives at least an hour and at most 12 months;
// a key with Global Development Access at most 7 days.
const (
	MinLifetime       = time.Hour
	GlobalMaxLifetime = 7 * 24 * time.Hour
	MaxLifetimeMonths = 12
)

// Expiration errors.
var (
	ErrLifetimeTooShort = errors.New("a key must live at least 1 hour")
	ErrLifetimeTooLong  = errors.New("a key can live at most 12 months")
	ErrGlobalTooLong    = errors.New("a key with Global Development Access can live at most 7 days")
	ErrBadLifetime      = errors.New("expiration must be a duration such as 1h, 36h, 7d, 30d, 6mo, 12mo or an RFC 3339 time")
)

// MaxExpiry returns the latest expiry allowed for a key of kind created at
// created.
func MaxExpiry(created time.Time, kind PermissionKind) time.Time {
	if kind == KindGlobal {
		return created.Add(GlobalMaxLifetime)
	}
	return created.AddDate(0, MaxLifetimeMonths, 0)
}

// DefaultExpiry is the expiry used when none is chosen: 12 months, or 7 days
// for Global Development Access.
func DefaultExpiry(created time.Time, kind PermissionKind) time.Time {
	return MaxExpiry(created, kind)
}

// CheckExpiry enforces the lifetime rules for a key of kind created at
// created and expiring at expires.
func CheckExpiry(created, expires time.Time, kind PermissionKind) error {
	if expires.Sub(created) < MinLifetime {
		return ErrLifetimeTooShort
	}
	if expires.After(MaxExpiry(created, kind)) {
		if kind == KindGlobal {
			return ErrGlobalTooLong
		}
		return ErrLifetimeTooLong
	}
	return nil
}

// Lifetime is a requested lifetime: a number of months, or a duration, or an
// absolute time. The zero Lifetime means "the default".
type Lifetime struct {
	Months   int
	Duration time.Duration
	At       time.Time
}

// IsDefault reports whether no lifetime was chosen.
func (l Lifetime) IsDefault() bool { return l == Lifetime{} }

// ExpiresAt returns the expiry the lifetime gives a key of kind created at
// created.
func (l Lifetime) ExpiresAt(created time.Time, kind PermissionKind) time.Time {
	switch {
	case !l.At.IsZero():
		return l.At.UTC()
	case l.Months > 0:
		return created.AddDate(0, l.Months, 0)
	case l.Duration > 0:
		return created.Add(l.Duration)
	}
	return DefaultExpiry(created, kind)
}

// String returns the lifetime in the form ParseLifetime reads.
func (l Lifetime) String() string {
	switch {
	case !l.At.IsZero():
		return l.At.UTC().Format(time.RFC3339)
	case l.Months > 0:
		return strconv.Itoa(l.Months) + "mo"
	case l.Duration > 0 && l.Duration%(24*time.Hour) == 0:
		return strconv.Itoa(int(l.Duration/(24*time.Hour))) + "d"
	case l.Duration > 0:
		return strconv.Itoa(int(l.Duration/time.Hour)) + "h"
	}
	return "default"
}

// ParseLifetime reads 1h, 36h, 7d, 30d, 6mo, 12mo (any positive whole number
// with h, d or mo) or an RFC 3339 time.
func ParseLifetime(s string) (Lifetime, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return Lifetime{At: t.UTC()}, nil
	}
	unit := ""
	for _, u := range []string{"mo", "h", "d"} {
		if strings.HasSuffix(s, u) {
			unit = u
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, unit))
	if unit == "" || err != nil || n <= 0 || n > 100000 {
		return Lifetime{}, ErrBadLifetime
	}
	switch unit {
	case "mo":
		return Lifetime{Months: n}, nil
	case "d":
		return Lifetime{Duration: time.Duration(n) * 24 * time.Hour}, nil
	}
	return Lifetime{Duration: time.Duration(n) * time.Hour}, nil
}

// Preset is one of the create dialog's expiration choices.
type Preset struct {
	Label    string
	Lifetime Lifetime
}

// Presets are the create dialog's expiration choices, shortest first. The
// last one (12 months) is the default.
var Presets = []Preset{
	{"1 hour", Lifetime{Duration: time.Hour}},
	{"1 day", Lifetime{Duration: 24 * time.Hour}},
	{"7 days", Lifetime{Duration: 7 * 24 * time.Hour}},
	{"30 days", Lifetime{Duration: 30 * 24 * time.Hour}},
	{"90 days", Lifetime{Duration: 90 * 24 * time.Hour}},
	{"6 months", Lifetime{Months: 6}},
	{"12 months", Lifetime{Months: 12}},
}

// Allowed reports whether the preset is allowed for a key of kind created
// at created; disallowed presets are shown disabled.
func (p Preset) Allowed(created time.Time, kind PermissionKind) bool {
	return CheckExpiry(created, p.Lifetime.ExpiresAt(created, kind), kind) == nil
}
