package settings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/internal/guitest"
	"github.com/keydesk/keydesk/internal/msg"
	"github.com/keydesk/keydesk/internal/smtptest"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/server"
	"github.com/keydesk/keydesk/workspace"
)

func newSettings(t *testing.T, b *workspace.Workspace) (*View, *widget.Label, *testUI) {
	t.Helper()
	guitest.App(t, theme.VariantLight)
	v, ui := vwSettings(b)
	ui.win = guitest.Window(t, v, 900, 900)
	v.Load()
	ui.wait()
	return v, v.mail.formMsg, ui
}

// stFill types settings into the form.
func stFill(v *mailForm, host, port, security, user, pass, from, to string) {
	v.security.SetSelected(security)
	for _, f := range []struct {
		e    *widget.Entry
		text string
	}{{v.host, host}, {v.port, port}, {v.username, user}, {v.password, pass}, {v.from, from}, {v.to, to}} {
		f.e.SetText("")
		test.Type(f.e, f.text)
	}
}

func TestSettingsValidationMessages(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	v, _, ui := newSettings(t, b)
	cases := []struct {
		name                                       string
		host, port, security, user, pass, from, to string
		field, msg                                 string
	}{
		{"no host", "", "587", "STARTTLS", "", "", "k@example.com", "ops@example.com", "host", "Enter the SMTP server's host name."},
		{"port not a number", "smtp.example.com", "five", "STARTTLS", "", "", "k@example.com", "ops@example.com", "port", "The port must be a number from 1 to 65535."},
		{"port out of range", "smtp.example.com", "70000", "STARTTLS", "", "", "k@example.com", "ops@example.com", "port", "The port must be a number from 1 to 65535."},
		{"plain to remote host", "smtp.example.com", "25", "None (this computer only)", "", "", "k@example.com", "ops@example.com", "security", msg.Sentence(mail.ErrPlainNotLoopback.Error())},
		{"bad from", "smtp.example.com", "587", "STARTTLS", "", "", "keydesk", "ops@example.com", "from", `The From address "keydesk" is not a valid e-mail address.`},
		{"no recipients", "smtp.example.com", "587", "STARTTLS", "", "", "k@example.com", " , ", "to", "Enter at least one recipient address."},
		{"bad recipient", "smtp.example.com", "587", "STARTTLS", "", "", "k@example.com", "ops@example.com, nobody", "to", `The recipient address "nobody" is not a valid e-mail address.`},
		{"password without username", "smtp.example.com", "587", "STARTTLS", "", "s3cret", "k@example.com", "ops@example.com", "username", "A password needs a username; enter the username too."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stFill(v.mail, c.host, c.port, c.security, c.user, c.pass, c.from, c.to)
			test.Tap(v.mail.save)
			ui.wait()
			for field, l := range v.mail.msgs {
				if field == c.field {
					if !l.Visible() || l.Text != c.msg {
						t.Errorf("%s message = %q (visible %v), want %q", field, l.Text, l.Visible(), c.msg)
					}
				} else if l.Visible() {
					t.Errorf("unexpected message at %s: %q", field, l.Text)
				}
			}
			if _, err := mail.LoadSettings(b.Store()); !errors.Is(err, mail.ErrNotConfigured) {
				t.Errorf("invalid settings were stored (load: %v)", err)
			}
		})
	}
}

func TestSettingsSaveAndReload(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	v, formMsg, ui := newSettings(t, b)
	if v.mail.password.PlaceHolder != "not set" || !strings.Contains(formMsg.Text, "not set up yet") {
		t.Fatalf("fresh store: password placeholder %q, message %q", v.mail.password.PlaceHolder, formMsg.Text)
	}
	const secret = "correct horse battery"
	stFill(v.mail, "smtp.example.com", "587", "STARTTLS", "keydesk", secret, "Keydesk <keydesk@example.com>", "ops@example.com, Ana <ana@example.com>")
	v.mail.security.SetSelected("TLS")
	if v.mail.port.Text != "465" {
		t.Errorf("choosing TLS left the port at %q, want 465", v.mail.port.Text)
	}
	test.Tap(v.mail.save)
	ui.wait()
	if formMsg.Text != savedMessage {
		t.Fatalf("after Save: %q", formMsg.Text)
	}
	got, err := mail.LoadSettings(b.Store())
	if err != nil {
		t.Fatal(err)
	}
	want := mail.Settings{Host: "smtp.example.com", Port: 465, Security: mail.SecurityTLS, Username: "keydesk",
		From: "Keydesk <keydesk@example.com>", To: []string{"<ops@example.com>", `"Ana" <ana@example.com>`}}
	if gj, wj := stJSON(got), stJSON(want); gj != wj {
		t.Errorf("stored settings %s, want %s", gj, wj)
	}
	if pw, err := b.Keyring().MailPassword(); err != nil || pw != secret {
		t.Errorf("keyring password = %q, %v", pw, err)
	}
	if v.mail.password.Text != "" || v.mail.password.PlaceHolder != savedPasswordPlaceholder {
		t.Errorf("password field after Save: text %d chars, placeholder %q", len(v.mail.password.Text), v.mail.password.PlaceHolder)
	}
	// The audit log says what changed, never the password.
	events, err := b.Store().Audit()
	if err != nil || len(events) == 0 || events[0].Action != core.ActionSettingsChanged {
		t.Fatalf("audit after Save: %+v, %v", events, err)
	}
	if raw, _ := json.Marshal(events); bytes.Contains(raw, []byte(secret)) {
		t.Error("the SMTP password reached the audit log")
	}

	// A new view reads the settings back, and shows only that a password
	// is saved.
	v2, _, ui2 := newSettings(t, b)
	if v2.mail.host.Text != "smtp.example.com" || v2.mail.port.Text != "465" || v2.mail.security.Selected != "TLS" ||
		v2.mail.username.Text != "keydesk" || v2.mail.from.Text != "Keydesk <keydesk@example.com>" {
		t.Errorf("reloaded form: %q %q %q %q %q", v2.mail.host.Text, v2.mail.port.Text, v2.mail.security.Selected, v2.mail.username.Text, v2.mail.from.Text)
	}
	if v2.mail.password.Text != "" || v2.mail.password.PlaceHolder != savedPasswordPlaceholder {
		t.Errorf("reloaded password field: %d chars, placeholder %q", len(v2.mail.password.Text), v2.mail.password.PlaceHolder)
	}
	if strings.Contains(test.RenderToMarkup(ui2.win.Canvas()), secret) {
		t.Error("the saved password is shown")
	}

	// Saving again without typing a password keeps it.
	test.Tap(v2.mail.save)
	ui2.wait()
	if pw, _ := b.Keyring().MailPassword(); pw != secret {
		t.Errorf("password after saving without typing it: %q", pw)
	}
}

func stJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

func TestSettingsSendTestEmail(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	srv := smtptest.Start(t, smtptest.Options{User: "keydesk", Pass: "pw-in-keyring"}) // plain, which Keydesk allows to a loopback host
	v, formMsg, ui := newSettings(t, b)
	host, port, _ := net.SplitHostPort(srv.Addr())
	stFill(v.mail, host, port, "None (this computer only)", "keydesk", "pw-in-keyring", "keydesk@example.com", "ops@example.com, ana@example.com")
	test.Tap(v.mail.save)
	ui.wait()
	if formMsg.Text != savedMessage {
		t.Fatalf("save: %q", formMsg.Text)
	}

	// The saved password (from the keyring) is used.
	test.Tap(v.mail.test)
	ui.wait()
	if formMsg.Text != "Test e-mail sent to ops@example.com, ana@example.com." || formMsg.Importance != widget.SuccessImportance {
		t.Fatalf("after Send test e-mail: %q", formMsg.Text)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.AuthUser != "keydesk" || m.From != "keydesk@example.com" || strings.Join(m.To, ",") != "ops@example.com,ana@example.com" {
		t.Errorf("envelope: user %q from %q to %v", m.AuthUser, m.From, m.To)
	}
	parsed := smtptest.Parse(t, m.Data)
	if subj, _ := parsed.Header.Subject(); subj != mail.TestSubject {
		t.Errorf("subject %q", subj)
	}
	events, _ := b.Store().Audit()
	if events[0].Action != core.ActionTestMail || !strings.Contains(events[0].Detail, "sent to ops@example.com") {
		t.Errorf("audit: %+v", events[0])
	}

	// A wrong typed password fails with the server's answer, nothing sent,
	// and the failure is in the audit log.
	test.Type(v.mail.password, "wrong")
	test.Tap(v.mail.test)
	ui.wait()
	if formMsg.Importance != widget.DangerImportance || formMsg.Text != "The server refused the login as keydesk. Check the username and password." ||
		!v.mail.details.Visible() || !strings.Contains(v.mail.detailsText.Text, "log in as keydesk") || strings.Contains(v.mail.detailsText.Text, "wrong") {
		t.Errorf("after a failed test: %q, details %q", formMsg.Text, v.mail.detailsText.Text)
	}
	if len(srv.Messages()) != 1 {
		t.Errorf("server received %d messages, want still 1", len(srv.Messages()))
	}
	events, _ = b.Store().Audit()
	if events[0].Action != core.ActionTestMail || !strings.Contains(events[0].Detail, "failed") {
		t.Errorf("audit after failure: %+v", events[0])
	}
}

func TestSettingsPreviewDigest(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	earlier := guitest.Service(t, b, guitest.Now.Add(-10*24*time.Hour), 3)
	guitest.Create(t, earlier, "Old reporting cron", core.Lifetime{Duration: 10*24*time.Hour - 3*time.Hour},
		core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"analytics": core.AccessRead}}) // expired 3h ago
	guitest.Create(t, earlier, "Zapier integration", core.Lifetime{Duration: 12 * 24 * time.Hour},
		core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessFull}}) // expires in 2 days
	guitest.Create(t, earlier, "Data warehouse loader", core.Lifetime{Months: 6},
		core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"history": core.AccessRead}}) // not in the digest
	v, _, ui := newSettings(t, b)
	// The next slot is 2026-03-12 11:00 UTC.
	slot := core.NextSlot(guitest.Now)
	d, err := b.Service().SelectDigest(slot, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	test.Tap(v.digest.preview)
	ui.wait()
	top := ui.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("Preview digest opened no dialog")
	}
	var texts []string
	for _, o := range test.LaidOutObjects(top) {
		if l, ok := o.(*widget.Label); ok {
			texts = append(texts, l.Text)
		}
	}
	markup := strings.Join(texts, "\n")
	for _, want := range []string{d.Subject(), "Expired since 2026-03-11 11:00 UTC (1)", "Old reporting cron", "Expiring by 2026-03-19 11:00 UTC (1)", "Zapier integration"} {
		if !strings.Contains(markup, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if strings.Contains(markup, "Data warehouse loader") {
		t.Error("preview lists a key outside the digest windows")
	}
}

func TestSettingsStatusLine(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	v, _, _ := newSettings(t, b)
	if v.digest.nextSlot.Text != "Next digest: 2026-03-12 11:00 UTC (12:00 CET), in 1 hour." {
		t.Errorf("next slot = %q", v.digest.nextSlot.Text)
	}
	slot := time.Date(2026, 3, 11, 11, 0, 0, 0, time.UTC)
	cases := []struct {
		st   mail.Status
		want string
		imp  widget.Importance
	}{
		{mail.Status{}, "Last result: no digest attempted since Keydesk started.", widget.LowImportance},
		{mail.Status{Last: mail.ResultSent, LastSlot: slot, LastTime: slot.Add(time.Minute)}, "Last result: sent the digest for 2026-03-11 11:00 UTC at 2026-03-11 12:01 CET.", widget.SuccessImportance},
		{mail.Status{Last: mail.ResultNothing, LastSlot: slot, LastTime: slot}, "Last result: nothing to send for 2026-03-11 11:00 UTC (checked 2026-03-11 12:00 CET).", widget.MediumImportance},
		{mail.Status{Last: mail.ResultNotConfigured}, "Last result: not sent, because e-mail is not set up yet.", widget.WarningImportance},
		{mail.Status{Last: mail.ResultFailed, LastSlot: slot, LastTime: slot, LastError: "send e-mail through smtp.example.com:587: connect: connection refused", RetryAt: slot.Add(time.Minute)},
			"Last result: the digest for 2026-03-11 11:00 UTC could not be sent at 2026-03-11 12:00 CET; Keydesk tries again at 12:01 CET. Details says why.", widget.DangerImportance},
	}
	for _, c := range cases {
		v.SetStatus(c.st)
		if v.digest.lastResult.Text != c.want || v.digest.lastResult.Importance != c.imp {
			t.Errorf("status %+v:\n got %q (%v)\nwant %q (%v)", c.st, v.digest.lastResult.Text, v.digest.lastResult.Importance, c.want, c.imp)
		}
		// The raw error chain is never in the sentence (issue 22); a
		// failure has it behind Details.
		failed := c.st.Last == mail.ResultFailed
		if strings.Contains(v.digest.lastResult.Text, "connect:") || v.digest.failDetails.Visible() != failed {
			t.Errorf("status %+v: sentence %q, Details shown %v", c.st, v.digest.lastResult.Text, v.digest.failDetails.Visible())
		}
		if failed {
			test.Tap(v.digest.failDetails)
			if !v.digest.failText.Visible() || v.digest.failText.Text != c.st.LastError {
				t.Errorf("Details shows %q (visible %v), want the technical error", v.digest.failText.Text, v.digest.failText.Visible())
			}
		}
	}
}

func TestSettingsVerificationServer(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	_, secret := guitest.Create(t, b.Service(), "Gateway", core.Lifetime{}, core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}})
	v, _, ui := newSettings(t, b)

	v.api.listen.SetText("not an address")
	test.Tap(v.api.serverOn)
	ui.wait()
	if v.api.serverOn.Checked || v.api.listenMsg.Text != "Enter a host and port such as 127.0.0.1:8765." {
		t.Fatalf("bad address: checked %v, message %q", v.api.serverOn.Checked, v.api.listenMsg.Text)
	}

	v.api.listen.SetText("127.0.0.1:0")
	test.Tap(v.api.serverOn)
	ui.wait()
	if !v.api.serverOn.Checked || !strings.HasPrefix(v.api.serverStatus.Text, "Listening on http://127.0.0.1:") || v.api.serverStatus.Importance != widget.SuccessImportance {
		t.Fatalf("after enabling: checked %v, status %q", v.api.serverOn.Checked, v.api.serverStatus.Text)
	}
	base := strings.Fields(strings.TrimPrefix(v.api.serverStatus.Text, "Listening on "))[0]
	body, _ := json.Marshal(map[string]string{"key": secret, "operation": "messaging.channels.list"})
	resp, err := http.Post(base+"/v1/keys/verify", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
	}
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !got.Allowed || got.Reason != "ok" {
		t.Errorf("verify through the window's server: %d %+v %v", resp.StatusCode, got, err)
	}

	// A second listener on the same port fails with the error shown.
	v2, _, ui2 := newSettings(t, b)
	addr := strings.TrimPrefix(base, "http://")
	v2.api.listen.SetText(addr)
	test.Tap(v2.api.serverOn)
	ui2.wait()
	if v2.api.serverOn.Checked || v2.api.serverStatus.Importance != widget.DangerImportance || !strings.HasPrefix(v2.api.serverStatus.Text, "Could not listen on "+addr) {
		t.Errorf("port in use: checked %v, status %q", v2.api.serverOn.Checked, v2.api.serverStatus.Text)
	}

	test.Tap(v.api.serverOn)
	ui.wait()
	if v.api.serverOn.Checked || v.api.serverStatus.Text != "Stopped." {
		t.Errorf("after disabling: checked %v, status %q", v.api.serverOn.Checked, v.api.serverStatus.Text)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the server still answers after it was stopped")
	}
}

// TestSettingsFieldsLineUpClearOfTheScrollBar: the listen address starts
// where the e-mail fields start, and at the smallest window, where the
// screen scrolls, no field reaches under the scroll bar.
func TestSettingsFieldsLineUpClearOfTheScrollBar(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	guitest.App(t, theme.VariantLight)
	v, _ := vwSettings(b)
	w := guitest.Window(t, v, minWindowWidth, minWindowHeight)
	d := fyne.CurrentApp().Driver()
	host, listen := d.AbsolutePositionForObject(v.mail.host), d.AbsolutePositionForObject(v.api.listen)
	if host.X != listen.X || v.mail.host.Size().Width != v.api.listen.Size().Width {
		t.Errorf("listen address at x %v, %v wide; the e-mail fields at x %v, %v wide",
			listen.X, v.api.listen.Size().Width, host.X, v.mail.host.Size().Width)
	}
	th := fyne.CurrentApp().Settings().Theme()
	bar := w.Canvas().Size().Width - th.Size(theme.SizeNameScrollBar)
	for _, e := range []fyne.CanvasObject{v.mail.host, v.mail.to, v.api.listen} {
		if right := d.AbsolutePositionForObject(e).X + e.Size().Width; right > bar {
			t.Errorf("a field ends at %v, under the scroll bar from %v", right, bar)
		}
	}
}

func TestSettingsGolden(t *testing.T) {
	for _, th := range guitest.Variants {
		t.Run(th.Name, func(t *testing.T) {
			b := guitest.Workspace(t, guitest.Now)
			guitest.App(t, th.Variant)
			v, ui := vwSettings(b)
			w := guitest.Window(t, v, 820, 900)
			v.Load()
			ui.wait()
			stFill(v.mail, "smtp.example.com", "587", "STARTTLS", "keydesk", "", "Keydesk <keydesk@example.com>", "ops@example.com")
			test.Tap(v.mail.save)
			ui.wait()
			v.SetStatus(mail.Status{Last: mail.ResultSent, LastSlot: time.Date(2026, 3, 11, 11, 0, 0, 0, time.UTC), LastTime: time.Date(2026, 3, 11, 11, 0, 4, 0, time.UTC)})
			w.Canvas().Unfocus()
			test.AssertImageMatches(t, "settings_"+th.Name+".png", w.Canvas().Capture())
		})
	}
}

// stSource is a Source held in memory that records what the view
// asks of it.
type stSource struct {
	saved    mail.Settings
	hasPw    bool
	sentWith []mail.Settings
	sentPw   []string
}

func (s *stSource) LoadMail() (mail.Settings, error) {
	if s.saved.Host == "" {
		return mail.Settings{}, mail.ErrNotConfigured
	}
	return s.saved, nil
}
func (s *stSource) HasMailPassword() (bool, error) { return s.hasPw, nil }
func (s *stSource) SaveMail(c mail.Change) (bool, error) {
	s.saved = c.Settings
	s.hasPw = s.hasPw || c.Password != nil
	return s.hasPw, nil
}
func (s *stSource) SendTestMail(_ context.Context, m mail.Settings, password string) error {
	s.sentWith = append(s.sentWith, m)
	s.sentPw = append(s.sentPw, password)
	return nil
}
func (s *stSource) Now() time.Time                             { return guitest.Now }
func (s *stSource) Actor() string                              { return "ana" }
func (s *stSource) UsageCounter() (server.UsageCounter, error) { return nil, nil }
func (s *stSource) NextDigest() (core.Digest, error) {
	return core.Digest{Slot: core.NextSlot(guitest.Now)}, nil
}

// Send test e-mail hands the form's settings and the typed password to the
// source as values; nothing is saved by it.
func TestSettingsSendTestPassesTheFormAsValues(t *testing.T) {
	guitest.App(t, theme.VariantLight)
	src := &stSource{saved: mail.Settings{Host: "smtp.example.com", Port: 587, Security: mail.SecurityStartTLS,
		Username: "keydesk", From: "keydesk@example.com", To: []string{"ops@example.com"}}, hasPw: true}
	ui := &testUI{}
	v := New(src, nil, ui)
	ui.win = guitest.Window(t, v, 900, 900)
	v.Load()
	ui.wait()
	if v.mail.host.Text != "smtp.example.com" || v.mail.password.PlaceHolder != savedPasswordPlaceholder {
		t.Fatalf("loaded form: host %q, password placeholder %q", v.mail.host.Text, v.mail.password.PlaceHolder)
	}
	v.mail.host.SetText("mail.example.org")
	test.Tap(v.mail.test)
	ui.wait()
	test.Type(v.mail.password, "typed")
	test.Tap(v.mail.test)
	ui.wait()
	if len(src.sentWith) != 2 || src.sentWith[0].Host != "mail.example.org" || src.sentWith[1].Host != "mail.example.org" {
		t.Fatalf("SendTestMail got %+v, want the form's host twice", src.sentWith)
	}
	if src.sentPw[0] != "" || src.sentPw[1] != "typed" {
		t.Errorf("SendTestMail passwords = %q, want the saved one (empty) then the typed one", src.sentPw)
	}
	if src.saved.Host != "smtp.example.com" {
		t.Errorf("Send test e-mail saved the form: stored host %q", src.saved.Host)
	}
	if v.mail.formMsg.Text != "Test e-mail sent to ops@example.com." {
		t.Errorf("form message %q", v.mail.formMsg.Text)
	}
}

// TestSettingsTestEmailFailureInPlainWords: a closed port reads as what
// failed and what to check, the technical error behind Details; a server
// that never answers shows progress and can be cancelled.
func TestSettingsTestEmailFailureInPlainWords(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	v, formMsg, ui := newSettings(t, b)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close() // nothing listens there now
	stFill(v.mail, "127.0.0.1", port, "None (this computer only)", "", "", "keydesk@example.com", "ops@example.com")
	test.Tap(v.mail.test)
	ui.wait()
	want := "Could not reach 127.0.0.1 on port " + port + ": nothing is listening there. Check the host and port."
	if formMsg.Text != want || formMsg.Importance != widget.DangerImportance {
		t.Errorf("closed port: %q, want %q", formMsg.Text, want)
	}
	if !v.mail.details.Visible() || v.mail.details.Items[0].Open || !strings.Contains(v.mail.detailsText.Text, "refused") {
		t.Errorf("details: shown %v, open %v, %q", v.mail.details.Visible(), v.mail.details.Items[0].Open, v.mail.detailsText.Text)
	}
	if v.mail.progress.Visible() {
		t.Error("the progress bar stays after the attempt")
	}

	// A server that accepts and never answers: progress, then Cancel.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := silent.Accept(); err == nil {
			accepted <- c
		}
	}()
	_, port, _ = net.SplitHostPort(silent.Addr().String())
	v.mail.port.SetText(port)
	test.Tap(v.mail.test)
	if !v.mail.progress.Visible() || !v.mail.test.Disabled() {
		t.Fatal("no progress while the test e-mail is sent")
	}
	c := <-accepted
	defer c.Close()
	test.Tap(v.mail.cancelTest)
	ui.wait()
	if formMsg.Text != "The test e-mail was cancelled; nothing was sent." || v.mail.progress.Visible() || v.mail.test.Disabled() {
		t.Errorf("after Cancel: %q, progress %v", formMsg.Text, v.mail.progress.Visible())
	}
}

// TestSettingsPreviewClosesOnEscape: the digest preview asks the window
// for Esc, Esc closes it, and closing gives Esc back.
func TestSettingsPreviewClosesOnEscape(t *testing.T) {
	b := guitest.Workspace(t, guitest.Now)
	v, _, ui := newSettings(t, b)
	test.Tap(v.digest.preview)
	ui.wait()
	if ui.win.Canvas().Overlays().Top() == nil || len(ui.escapes) != 1 {
		t.Fatalf("the preview is open %v, asked for Esc %d times", ui.win.Canvas().Overlays().Top() != nil, len(ui.escapes))
	}
	ui.escapes[0]() // the window's Esc
	if ui.win.Canvas().Overlays().Top() != nil || ui.released != 1 {
		t.Errorf("after Esc: the preview is open %v, Esc given back %d times", ui.win.Canvas().Overlays().Top() != nil, ui.released)
	}
}
