package gui

import (
	"context"
	"fmt"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/workspace"
)

// workspaceSettings is the Settings screen's source over an opened data
// folder: the store, the OS keyring and the key service.
type workspaceSettings struct{ ws *workspace.Workspace }

var _ settingsSource = workspaceSettings{}

func (w workspaceSettings) LoadMail() (mail.Settings, error) {
	return mail.LoadSettings(w.ws.MailStore())
}

func (w workspaceSettings) HasMailPassword() (bool, error) {
	pw, err := w.ws.MailPassword()
	return pw != "", err
}

func (w workspaceSettings) SaveMail(c mail.Change) (bool, error) {
	if err := w.ws.SaveMail(c); err != nil {
		return false, err
	}
	if c.Password != nil {
		// The keyring holds the password just saved: no second read.
		return *c.Password != "", nil
	}
	pw, err := w.ws.MailPassword()
	return err == nil && pw != "", nil
}

// SendTestMail sends the test message (mail.TestMail),
// which records it in the audit log, with the form's settings rather than
// the saved ones, and password, else the one in the keyring.
func (w workspaceSettings) SendTestMail(ctx context.Context, s mail.Settings, password string) error {
	if password == "" && s.Username != "" {
		saved, err := w.ws.MailPassword()
		if err != nil {
			return fmt.Errorf("read the SMTP password: %w", err)
		}
		password = saved
	}
	t := mail.TestMail{Settings: s, Password: password}
	_, err := t.Send(ctx, w.ws.MailStore(), w.ws.MailStore().StoreID(), workspace.Actor(), w.ws.Clock().Now())
	return err
}

func (w workspaceSettings) Now() time.Time { return w.ws.Clock().Now() }

func (w workspaceSettings) Actor() string { return workspace.Actor() }

func (w workspaceSettings) NextDigest() (core.Digest, error) {
	slot := core.NextSlot(w.ws.Clock().Now())
	last, err := w.ws.MailStore().LastDeliveredSlot()
	if err != nil {
		return core.Digest{}, err
	}
	return w.ws.Service().SelectDigest(slot, last)
}
