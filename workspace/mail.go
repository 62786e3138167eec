package workspace

import (
	"github.com/keydesk/keydesk/mail"
)

// MailStore returns the store of mail settings and digest state: the
// shared store's, else the data folder's.
func (b *Workspace) MailStore() mail.Store {
	if b.shared != nil {
		return b.shared
	}
	return b.store
}

// MailPassword returns the SMTP password kept in the keyring; "" when none
// is set.
func (b *Workspace) MailPassword() (string, error) { return b.keyring.MailPassword() }

// SaveMail saves the digest's mail settings (and, when given, the SMTP
// password in the keyring) and records the change in the audit log
// (mail.SaveSettings).
func (b *Workspace) SaveMail(c mail.Change) error {
	return mail.SaveSettings(b.MailStore(), b.keyring, c)
}

// Deliverer is the digest deliverer over the workspace's store, keyring and
// service, acting as the service's actor.
func (b *Workspace) Deliverer() *mail.Deliverer {
	return mail.NewDeliverer(b.MailStore(), b.keyring, b.service, b.service.Actor)
}

// Scheduler is the daily digest scheduler over the workspace, on its clock;
// onError hears of each failed delivery. On a shared store a slot is sent
// by whichever window or server claims it first (pgstore.Store.ClaimSlot),
// so the digest goes out exactly once.
func (b *Workspace) Scheduler(onError func(error)) *mail.Scheduler {
	s := mail.NewScheduler(b.MailStore(), b.keyring, b.service, b.service.Actor, b.clock, onError)
	if b.shared != nil {
		s.Deliverer.Claim = b.shared.ClaimSlot
	}
	return s
}
