package core

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DigestHour is the UTC hour of the daily expiration digest.
const DigestHour = 11

// DigestLookahead is how far ahead the digest looks for expiring keys.
const DigestLookahead = 7 * 24 * time.Hour

// SlotAtOrBefore returns the 11:00 UTC slot at or before t.
func SlotAtOrBefore(t time.Time) time.Time {
	t = t.UTC()
	s := time.Date(t.Year(), t.Month(), t.Day(), DigestHour, 0, 0, 0, time.UTC)
	if s.After(t) {
		s = s.AddDate(0, 0, -1)
	}
	return s
}

// NextSlot returns the first 11:00 UTC slot strictly after t.
func NextSlot(t time.Time) time.Time {
	return SlotAtOrBefore(t).AddDate(0, 0, 1)
}

// Digest is the content of one expiration e-mail.
type Digest struct {
	// Slot is the 11:00 UTC time the digest is for.
	Slot time.Time
	// Since is the start (exclusive) of the expired window: Slot-24h, or
	// the last delivered slot when digests were missed.
	Since time.Time
	// Expired lists keys whose expiry is in (Since, Slot], soonest first.
	Expired []*Key
	// Expiring lists keys whose expiry is in (Slot, Slot+7d], soonest first.
	Expiring []*Key
	// Idle lists keys that became idle in (Since, Slot] and are still
	// active at Slot (see Key.BecameIdle), earliest first: consecutive
	// digests report each idle key once.
	Idle []*Key
	// Denied lists keys with denied attempts in the 24 hours before Slot,
	// most first (SelectDenied); filled by the deliverer when it has usage
	// counts.
	Denied []DeniedKey
}

// Empty reports whether there is nothing to send.
func (d Digest) Empty() bool {
	return len(d.Expired) == 0 && len(d.Expiring) == 0 && len(d.Idle) == 0 && len(d.Denied) == 0
}

// Subject is the e-mail subject: "Company API Keys: 2 expired, 5 expiring
// soon, 3 idle", then ", 1 with denied attempts" when there are any.
func (d Digest) Subject() string {
	return fmt.Sprintf("Company API Keys: %d expired, %d expiring soon, %d idle", len(d.Expired), len(d.Expiring), len(d.Idle)) + d.subjectDenied()
}

// selectIdle returns the keys of all that became idle in (after, until],
// earliest first, then by id.
func selectIdle(all []*Key, after, until time.Time) []*Key {
	var out []*Key
	for _, k := range all {
		if k.BecameIdle(after, until) {
			out = append(out, k)
		}
	}
	sortIdle(out)
	return out
}

func sortIdle(keys []*Key) {
	slices.SortFunc(keys, func(a, b *Key) int {
		return cmp.Or(a.IdleSince().Compare(b.IdleSince()), strings.Compare(a.ID, b.ID))
	})
}

// SelectDigest reads the keys of the digest for slot from store's expiry
// index, and the idle keys from all its records. lastDelivered is the last
// slot whose digest was delivered (or, before the first delivery, the time
// mail was set up; zero if unknown): when it is older than slot-24h, the
// expired and idle windows reach back to it so that keys expiring or
// becoming idle during missed slots are not lost.
func SelectDigest(store Store, slot, lastDelivered time.Time) (Digest, error) {
	return selectDigest(store.KeysExpiring, func(after, until time.Time) ([]*Key, error) {
		all, err := store.ListKeys()
		if err != nil {
			return nil, err
		}
		return selectIdle(all, after, until), nil
	}, slot, lastDelivered)
}

// selectDigest builds the digest for slot with keys, which returns the
// records expiring in (after, until], soonest first, and idle, which
// returns those that became idle in (after, until], earliest first.
func selectDigest(keys, idle func(after, until time.Time) ([]*Key, error), slot, lastDelivered time.Time) (Digest, error) {
	slot = slot.UTC()
	d := Digest{Slot: slot, Since: slot.Add(-24 * time.Hour)}
	if !lastDelivered.IsZero() && lastDelivered.Before(d.Since) {
		d.Since = lastDelivered.UTC()
	}
	var err error
	if d.Expired, err = keys(d.Since, slot); err != nil {
		return Digest{}, fmt.Errorf("select expired keys: %w", err)
	}
	if d.Expiring, err = keys(slot, slot.Add(DigestLookahead)); err != nil {
		return Digest{}, fmt.Errorf("select expiring keys: %w", err)
	}
	if d.Idle, err = idle(d.Since, slot); err != nil {
		return Digest{}, fmt.Errorf("select idle keys: %w", err)
	}
	return d, nil
}

// ExpiryIndex is implemented by stores that can list the ids in their
// expiry index without reading the records (storage.Store does).
type ExpiryIndex interface {
	// KeyIDsExpiring returns the ids of the records whose ExpiresAt is in
	// (after, until], soonest first.
	KeyIDsExpiring(after, until time.Time) ([]string, error)
}

// SelectDigest is SelectDigest on the service's store. When the store is an
// ExpiryIndex, the ids come from the index and the records from the
// service's memory, so that no record is read from disk or decoded: the
// cost is the index range and one map lookup per key in the window. The
// returned keys are read-only: they share their slices and maps with the
// service's records.
func (s *Service) SelectDigest(slot, lastDelivered time.Time) (Digest, error) {
	idx, ok := s.store.(ExpiryIndex)
	if !ok {
		return selectDigest(s.store.KeysExpiring, s.selectIdle, slot, lastDelivered)
	}
	return selectDigest(func(after, until time.Time) ([]*Key, error) {
		ids, err := idx.KeyIDsExpiring(after, until)
		if err != nil {
			return nil, err
		}
		out := make([]*Key, 0, len(ids))
		var missing []string
		s.mu.RLock()
		for _, id := range ids {
			if e, ok := s.byID.get(id); ok {
				// A shallow copy: the service replaces records
				// instead of changing them, so the slices and
				// maps they share are never written.
				c := *s.checked(e)
				out = append(out, &c)
			} else {
				missing = append(missing, id)
			}
		}
		s.mu.RUnlock()
		if len(missing) > 0 {
			// The store holds keys this service has not loaded (it
			// is the only writer, so this should not happen): read
			// the window from the store instead.
			return s.store.KeysExpiring(after, until)
		}
		return out, nil
	}, s.selectIdle, slot, lastDelivered)
}

// selectIdle returns the service's keys that became idle in (after, until],
// with pending last uses applied, earliest first. No index orders keys by
// last use, so it reads every record in memory, but only their times: a
// pending use (kept per digest) is looked up only for the few keys in the
// window and for the keys used since the last flush. The keys are
// read-only.
func (s *Service) selectIdle(after, until time.Time) ([]*Key, error) {
	var out []*Key
	withPending := func(k *Key) *Key {
		c := *k // a shallow copy: records are replaced, never changed
		if t, ok := s.pendingUse(k); ok && t.After(c.LastUsedAt) {
			c.LastUsedAt = t
		}
		return &c
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	lo, hi := after.UnixNano(), until.UnixNano()
	for _, r := range s.idleRows {
		// Became idle in (after, until] and still active at until.
		if r.since > lo && r.since <= hi && hi < r.expires {
			k := r.e.key
			if !s.live(r.e) {
				// A row whose entry left the index without
				// removeRow: not a live key.
				continue
			}
			// A pending use only moves IdleSince later, possibly out
			// of the window.
			if c := withPending(k); c.BecameIdle(after, until) {
				out = append(out, c)
			}
		}
	}
	// A key outside the window by its stored last use may be in it by a
	// pending one (a preview of a slot far ahead).
	s.usedMu.Lock()
	dirty := append([]*entry(nil), s.dirty...)
	s.usedMu.Unlock()
	for _, e := range dirty {
		if k := e.key; s.live(e) && !k.BecameIdle(after, until) {
			if c := withPending(k); c.BecameIdle(after, until) {
				out = append(out, c)
			}
		}
	}
	sortIdle(out)
	return out, nil
}

// live reports whether e is the entry of its record's id; s.mu must be
// held.
func (s *Service) live(e *entry) bool {
	held, _ := s.byID.get(e.key.ID)
	return held == e
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }
