package gui

import (
	"context"
	"encoding/json"
	"errors"
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
	pw, err := w.ws.Keyring.MailPassword()
	return pw != "", err
}

func (w workspaceSettings) SaveMail(c mail.Change) (bool, error) {
	if err := mail.SaveSettings(w.ws.MailStore(), w.ws.Keyring, c); err != nil {
		return false, err
	}
	pw, err := w.ws.Keyring.MailPassword()
	return err == nil && pw != "", nil
}

// SendTestMail sends the test message through mail.Deliverer.SendTest,
// which records it in the audit log, with the form's settings rather than
// the saved ones, and password, else the one in the keyring.
func (w workspaceSettings) SendTestMail(ctx context.Context, s mail.Settings, password string) error {
	d := &mail.Deliverer{
		Store:     w.ws.MailStore(),
		Settings:  settingsValue{s},
		Passwords: passwordValue{typed: password, saved: w.ws.Keyring},
		Actor:     workspace.Actor(),
	}
	_, err := d.SendTest(ctx, w.ws.Clock.Now())
	return err
}

func (w workspaceSettings) Now() time.Time { return w.ws.Clock.Now() }

func (w workspaceSettings) Actor() string { return workspace.Actor() }

func (w workspaceSettings) NextDigest() (core.Digest, error) {
	slot := core.NextSlot(w.ws.Clock.Now())
	last, err := w.ws.MailStore().LastDeliveredSlot()
	if err != nil {
		return core.Digest{}, err
	}
	return w.ws.Service.SelectDigest(slot, last)
}

// errValueOnly refuses a write to settingsValue or passwordValue.
var errValueOnly = errors.New("the settings of the form are not stored from here")

// settingsValue serves settings held as a value to mail.Deliverer (which
// reads them through mail.SettingsStore); it stores nothing.
type settingsValue struct{ s mail.Settings }

func (v settingsValue) Setting(name string) ([]byte, error) {
	if name != mail.SettingName {
		return nil, nil
	}
	return json.Marshal(v.s)
}

func (settingsValue) PutSetting(string, []byte, core.AuditEvent) error { return errValueOnly }

// passwordValue serves the typed password, else the saved one.
type passwordValue struct {
	typed string
	saved mail.PasswordStore
}

func (p passwordValue) MailPassword() (string, error) {
	if p.typed != "" {
		return p.typed, nil
	}
	return p.saved.MailPassword()
}

func (passwordValue) SetMailPassword(string) error { return errValueOnly }
