package workspace

import (
	"context"
	"fmt"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
)

// MailStore returns the store of mail settings and digest state: the
// shared store's, else the data folder's.
func (w *Workspace) MailStore() mail.Store { return w.store }

// MailPassword returns the SMTP password kept in the keyring; "" when none
// is set.
func (w *Workspace) MailPassword() (string, error) { return w.keyring.MailPassword() }

// SaveMail saves the digest's mail settings (and, when given, the SMTP
// password in the keyring) and records the change in the audit log
// (mail.SaveSettings).
func (w *Workspace) SaveMail(c mail.Change) error {
	return mail.SaveSettings(w.MailStore(), w.keyring, c)
}

// Deliverer is the digest deliverer over the workspace's store, keyring and
// service, acting as the service's actor. On a shared store it claims each
// slot first (claimSlots), as the scheduler does, so a `digest send` run
// by cron beside running windows and replicas never sends a slot twice.
func (w *Workspace) Deliverer() *mail.Deliverer {
	d := mail.NewDeliverer(w.store, w.keyring, w.service, w.service.Actor)
	claimSlots(d, w.store)
	d.Denied = DeniedSelector(w.store, w.service)
	return d
}

// digestStore is what the digest needs of a store: the mail settings, the
// digest state and the usage counts (for the keys with denied attempts).
type digestStore interface {
	mail.Store
	core.UsageStore
}

// claimSlots makes d claim each slot in st before delivering it when st is
// shared by several processes (pgstore.Store.ClaimSlot), so that of every
// window, replica and `digest send` sharing the store exactly one delivers
// it; a data folder has one process, and d is left as it is.
func claimSlots(d *mail.Deliverer, st digestStore) {
	if c, ok := st.(slotClaimer); ok {
		d.Claim = c.ClaimSlot
	}
}

// newScheduler is the daily digest scheduler of svc's keys over st, on
// clock, claiming each slot on a shared store (claimSlots).
func newScheduler(st digestStore, pw mail.PasswordStore, svc *core.Service, clock core.Clock, onError func(error)) *mail.Scheduler {
	s := mail.NewScheduler(st, pw, svc, svc.Actor, clock, onError)
	claimSlots(s.Deliverer, st)
	s.Deliverer.Denied = DeniedSelector(st, svc)
	return s
}

// Scheduler is the daily digest scheduler over the workspace, on its clock;
// onError hears of each failed delivery. On a shared store a slot is sent
// by whichever window or server claims it first (pgstore.Store.ClaimSlot),
// so the digest goes out exactly once. On a shared store the scheduler
// also prunes the change log daily (PruneChanges); only admins run it
// (replicas hold the server role, which cannot delete changes).
func (w *Workspace) Scheduler(onError func(error)) *mail.Scheduler {
	s := newScheduler(w.store, w.keyring, w.service, w.clock, onError)
	if _, ok := w.store.(changePruner); ok {
		s.Daily = w.PruneChanges
	}
	return s
}

// ChangesKept is how long the shared store keeps its change log: a
// replica that could not reach the database for up to 30 days catches up
// from the changes it missed. One away longer finds them pruned and reads
// the whole signed state again (a full reload), so it still catches up,
// only with one larger read.
const ChangesKept = 30 * 24 * time.Hour

// PruneChanges deletes the shared store's changes older than ChangesKept
// before now (the latest change is always kept); on a data folder it does
// nothing.
func (w *Workspace) PruneChanges(ctx context.Context, now time.Time) error {
	p, ok := w.store.(changePruner)
	if !ok {
		return nil
	}
	if _, err := p.PruneChanges(ctx, now.Add(-ChangesKept)); err != nil {
		return fmt.Errorf("prune the shared store's change log: %w", err)
	}
	return nil
}
