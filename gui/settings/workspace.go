package settings

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/server"
	"github.com/keydesk/keydesk/workspace"
)

// workspaceSource is the Settings screen's source over an opened data
// folder: the store, the OS keyring and the key service.
type workspaceSource struct {
	ws *workspace.Workspace

	// usage is the usage recorder of the verification API, made the
	// first time the API starts (it reads the store, so never on the UI
	// goroutine) and kept while the window runs, so that switching the API
	// off and on goes on counting the same day.
	mu    sync.Mutex
	usage *core.UsageRecorder
}

// WorkspaceSource returns the Settings screen's source over ws.
func WorkspaceSource(ws *workspace.Workspace) Source { return &workspaceSource{ws: ws} }

func (w *workspaceSource) LoadMail() (mail.Settings, error) {
	return mail.LoadSettings(w.ws.MailStore())
}

func (w *workspaceSource) HasMailPassword() (bool, error) {
	pw, err := w.ws.MailPassword()
	return pw != "", err
}

func (w *workspaceSource) SaveMail(c mail.Change) (bool, error) {
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
func (w *workspaceSource) SendTestMail(ctx context.Context, s mail.Settings, password string) error {
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

func (w *workspaceSource) Now() time.Time { return w.ws.Clock().Now() }

func (w *workspaceSource) Actor() string { return workspace.Actor() }

func (w *workspaceSource) NextDigest() (core.Digest, error) {
	slot := core.NextSlot(w.ws.Clock().Now())
	last, err := w.ws.MailStore().LastDeliveredSlot()
	if err != nil {
		return core.Digest{}, err
	}
	return w.ws.Service().SelectDigest(slot, last)
}

func (w *workspaceSource) UsageCounter() (server.UsageCounter, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.usage == nil {
		r, err := w.ws.UsageRecorder()
		if err != nil {
			return nil, err
		}
		w.usage = r
	}
	return w.usage, nil
}
