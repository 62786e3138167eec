package pgstore

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestClaimSlotOnceAcrossProcesses: two processes claim the same digest slot
// at once; exactly one gets it, and once it is delivered nobody can claim it
// again.
func TestClaimSlotOnceAcrossProcesses(t *testing.T) {
	s, u := newStore(t)
	slot := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	env := "KEYDESK_TEST_SLOT=" + slot.Format(time.RFC3339)
	a, b := startChild(t, "claim", u, env), startChild(t, "claim", u, env)
	a.send(t, "go")
	b.send(t, "go")
	answers := []string{a.line(t), b.line(t)}
	winner := a
	if answers[1] == "claimed" {
		winner = b
	}
	slices.Sort(answers)
	if !slices.Equal(answers, []string{"claimed", "not claimed"}) {
		t.Fatalf("two processes claiming one slot answered %q, want one claim", answers)
	}
	ctx := context.Background()
	// While the winner sends, this process cannot claim it either.
	if claimed, _, err := s.ClaimSlot(ctx, slot); err != nil || claimed {
		t.Fatalf("ClaimSlot of a held slot = %v, %v", claimed, err)
	}
	winner.send(t, "delivered")
	winner.wait(t)
	if claimed, _, err := s.ClaimSlot(ctx, slot); err != nil || claimed {
		t.Fatalf("ClaimSlot of a delivered slot = %v, %v", claimed, err)
	}
	if d, err := s.SlotDelivered(ctx, slot); err != nil || !d {
		t.Fatalf("SlotDelivered = %v, %v", d, err)
	}
	// Another slot is free.
	claimed, release, err := s.ClaimSlot(ctx, slot.Add(time.Hour))
	if err != nil || !claimed {
		t.Fatalf("ClaimSlot of the next slot = %v, %v", claimed, err)
	}
	if err := release(false); err != nil {
		t.Fatal(err)
	}
	if err := release(true); err == nil {
		t.Fatal("a second release succeeded")
	}
	if d, _ := s.SlotDelivered(ctx, slot.Add(time.Hour)); d {
		t.Fatal("a second release marked the slot delivered")
	}
}

// TestClaimSlotFreedByCrashOrGiveUp: a process that dies while holding a
// claim does not block the slot for ever (the server frees its lock), and a
// claim given up without delivering can be taken again.
func TestClaimSlotFreedByCrashOrGiveUp(t *testing.T) {
	s, u := newStore(t)
	ctx := context.Background()
	slot := time.Date(2025, 6, 3, 8, 0, 0, 0, time.UTC)
	c := startChild(t, "claim", u, "KEYDESK_TEST_SLOT="+slot.Format(time.RFC3339))
	c.send(t, "go")
	if got := c.line(t); got != "claimed" {
		t.Fatalf("child: %q", got)
	}
	if claimed, _, err := s.ClaimSlot(ctx, slot); err != nil || claimed {
		t.Fatalf("ClaimSlot of a held slot = %v, %v", claimed, err)
	}
	c.cmd.Process.Kill()
	c.cmd.Wait()
	// Wait until the server has ended the dead process's session: the
	// blocking form of the lock returns once the session's lock is freed.
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	conn, err := s.pool.Acquire(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(wctx, `SELECT pg_advisory_lock($1, $2)`, lockSlotClass, int32(slot.Unix()/60)); err != nil {
		t.Fatalf("waiting for the dead claimant's lock: %v", err)
	}
	if _, err := conn.Exec(wctx, `SELECT pg_advisory_unlock($1, $2)`, lockSlotClass, int32(slot.Unix()/60)); err != nil {
		t.Fatal(err)
	}
	conn.Release()

	claimed, release, err := s.ClaimSlot(ctx, slot)
	if err != nil || !claimed {
		t.Fatalf("ClaimSlot after the claimant died = %v, %v", claimed, err)
	}
	if err := release(false); err != nil {
		t.Fatal(err)
	}
	claimed, release, err = s.ClaimSlot(ctx, slot)
	if err != nil || !claimed {
		t.Fatalf("ClaimSlot after a give-up = %v, %v", claimed, err)
	}
	if err := release(true); err != nil {
		t.Fatal(err)
	}
	if claimed, _, _ := s.ClaimSlot(ctx, slot); claimed {
		t.Fatal("a delivered slot was claimed again")
	}
}
