package pgstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// ClaimSlot claims the digest of slot for this process, so that exactly one
// of the windows and servers sharing the store sends it. It takes a session
// advisory lock for the slot (held until release, and freed by the server if
// this process dies) and marks the slot's row claimed, unless it is already
// delivered. It reports claimed=false when another process holds the slot
// or its digest was delivered.
//
// After a claim the caller sends the digest and calls release exactly once:
// release(true) marks the slot delivered (no one claims it again),
// release(false) gives it up so that another attempt may claim it.
func (s *Store) ClaimSlot(ctx context.Context, slot time.Time) (claimed bool, release func(delivered bool) error, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, nil, fmt.Errorf("claim digest slot: %w", err)
	}
	lockID := int32(slot.Unix() / 60) // slots fall on whole minutes
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, lockSlotClass, lockID).Scan(&got); err != nil {
		conn.Release()
		return false, nil, fmt.Errorf("claim digest slot: %w", err)
	}
	if !got {
		conn.Release()
		return false, nil, nil
	}
	unlock := func() error {
		uctx, cancel := s.ctx()
		defer cancel()
		var ok bool
		err := conn.QueryRow(uctx, `SELECT pg_advisory_unlock($1, $2)`, lockSlotClass, lockID).Scan(&ok)
		if err != nil || !ok {
			// The lock is tied to the session: closing it frees the lock.
			conn.Conn().Close(context.Background())
		}
		conn.Release()
		if err == nil && !ok {
			err = errors.New("the slot lock was not held")
		}
		return err
	}
	by := s.osUser + "@" + s.host + " pid " + strconv.Itoa(os.Getpid())
	tag, err := conn.Exec(ctx, `INSERT INTO digest_slots (slot_ns, claimed_by) VALUES ($1, $2)
		ON CONFLICT (slot_ns) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_at = now()
		WHERE NOT digest_slots.delivered`, nanos(slot), by)
	if err != nil || tag.RowsAffected() == 0 {
		uerr := unlock()
		if err != nil {
			return false, nil, fmt.Errorf("claim digest slot: %w", err)
		}
		if uerr != nil {
			return false, nil, fmt.Errorf("claim digest slot: %w", uerr)
		}
		return false, nil, nil // already delivered
	}
	var once sync.Once
	release = func(delivered bool) error {
		rerr := errors.New("the slot claim was already released")
		once.Do(func() {
			rerr = nil
			if delivered {
				rctx, cancel := s.ctx()
				_, rerr = conn.Exec(rctx, `UPDATE digest_slots SET delivered = true, delivered_at = now() WHERE slot_ns = $1`, nanos(slot))
				cancel()
			}
			if uerr := unlock(); rerr == nil {
				rerr = uerr
			}
		})
		if rerr != nil {
			return fmt.Errorf("release digest slot: %w", rerr)
		}
		return nil
	}
	return true, release, nil
}

// SlotDelivered reports whether slot's digest was marked delivered by a
// claim's release.
func (s *Store) SlotDelivered(ctx context.Context, slot time.Time) (bool, error) {
	var d bool
	err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT delivered FROM digest_slots WHERE slot_ns = $1), false)`, nanos(slot)).Scan(&d)
	if err != nil {
		return false, fmt.Errorf("read digest slot: %w", err)
	}
	return d, nil
}
