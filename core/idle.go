package core

import "time"

// IdleAfter is how long a key goes unused before it counts as idle: since
// its last use, or since its creation when it was never used.
const IdleAfter = 90 * 24 * time.Hour

// IdleSince returns the time the key becomes (or became) idle: 90 days
// after its last use, or after its creation when it was never used. A use
// moves it forward.
func (k *Key) IdleSince() time.Time {
	from := k.LastUsedAt
	if from.IsZero() {
		from = k.CreatedAt
	}
	return from.Add(IdleAfter)
}

// IsIdle reports whether the key is idle at now: it is active (an expired
// key is reported as expired instead) and unused for at least 90 days (or
// never used and created at least 90 days ago).
func (k *Key) IsIdle(now time.Time) bool {
	return !k.Expired(now) && !now.Before(k.IdleSince())
}

// BecameIdle reports whether the key became idle in (after, until] and is
// still active at until: the digest's idle list for the slot until.
func (k *Key) BecameIdle(after, until time.Time) bool {
	t := k.IdleSince()
	return t.After(after) && !t.After(until) && !k.Expired(until)
}
