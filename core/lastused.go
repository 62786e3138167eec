package core

import (
	"context"
	"fmt"
	"time"
)

// MaxClockSkew is how far in the future a stored last-used time may lie
// (clocks of servers and admins differ a little). A later one is not a
// use anyone saw: anyone who can write the database's last-used column (a
// verification server's role) could otherwise make every key look used
// until 2262, so that none is ever reported idle. The service reads such a
// time as never used, and a store overwrites it with the next real use.
const MaxClockSkew = 5 * time.Minute

// plausibleUse clears k's last-used time when it lies more than
// MaxClockSkew after now (see MaxClockSkew).
func plausibleUse(k *Key, now time.Time) {
	if !k.LastUsedAt.IsZero() && k.LastUsedAt.After(now.Add(MaxClockSkew)) {
		k.LastUsedAt = time.Time{}
	}
}

// pendingUse returns k's last use not yet written to the store, if any;
// s.mu must be held.
func (s *Service) pendingUse(k *Key) (time.Time, bool) {
	e, ok := s.byID.get(k.ID)
	if !ok || e.key != k {
		return time.Time{}, false
	}
	u := e.used.Load()
	if u == noUse {
		return time.Time{}, false
	}
	return time.Unix(0, u).UTC(), true
}

// markUsed records a pending last use at ns (Unix ns) unless a later one
// is already pending.
func (s *Service) markUsed(e *entry, ns int64) {
	for {
		old := e.used.Load()
		if old != noUse && old >= ns {
			return
		}
		if e.used.CompareAndSwap(old, ns) {
			if old == noUse {
				s.usedMu.Lock()
				s.dirty = append(s.dirty, e)
				s.usedMu.Unlock()
			}
			return
		}
	}
}

// FlushLastUsed writes the pending last-used times in one store write.
func (s *Service) FlushLastUsed() error {
	s.usedMu.Lock()
	dirty := s.dirty
	s.dirty = nil
	s.usedMu.Unlock()
	if len(dirty) == 0 {
		return nil
	}
	pending := make(map[string]time.Time, len(dirty))
	taken := make([]int64, len(dirty))
	s.mu.RLock()
	for i, e := range dirty {
		// A use after this Swap marks the entry dirty again, for the
		// next flush.
		taken[i] = e.used.Swap(noUse)
		if taken[i] == noUse {
			continue
		}
		t := time.Unix(0, taken[i]).UTC()
		if id := e.key.ID; t.After(pending[id]) {
			pending[id] = t
		}
	}
	s.mu.RUnlock()
	if len(pending) == 0 {
		return nil
	}
	if err := s.store.SetLastUsed(pending); err != nil {
		for i, e := range dirty {
			if taken[i] != noUse {
				s.markUsed(e, taken[i])
			}
		}
		return fmt.Errorf("save last used: %w", err)
	}
	s.mu.Lock()
	for id, t := range pending {
		if e, ok := s.byID.get(id); ok && t.After(e.key.LastUsedAt) {
			// Replace the record instead of changing it: Verify and
			// SelectDigest hand out shallow copies sharing its parts.
			c := *e.key
			c.LastUsedAt = t
			s.setKey(e, &c, e.scopes)
		}
	}
	s.mu.Unlock()
	return nil
}

// LastUsedFlushInterval is how often pending last-used times are written.
const LastUsedFlushInterval = 10 * time.Second

// RunLastUsedFlusher flushes last-used times every interval until ctx ends,
// then once more. Errors go to report (may be nil).
func (s *Service) RunLastUsedFlusher(ctx context.Context, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.FlushLastUsed(); err != nil && report != nil {
				report(err)
			}
			return
		case <-t.C:
			if err := s.FlushLastUsed(); err != nil && report != nil {
				report(err)
			}
		}
	}
}
