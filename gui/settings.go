package gui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/server"
	"github.com/keydesk/keydesk/workspace"
)

// DefaultListenAddr is where the verification API listens when run from the
// window.
const DefaultListenAddr = "127.0.0.1:8765"

// savedPasswordPlaceholder is shown in the password field when the keyring
// holds a password; the password itself is never shown back.
const savedPasswordPlaceholder = "•••• (saved)"

// securityChoices are the security select's options.
var securityChoices = []struct {
	sec   mail.Security
	label string
}{
	{mail.SecurityStartTLS, "STARTTLS"},
	{mail.SecurityTLS, "TLS"},
	{mail.SecurityNone, "None (this computer only)"},
}

func securityLabel(s mail.Security) string {
	for _, c := range securityChoices {
		if c.sec == s {
			return c.label
		}
	}
	return securityChoices[0].label
}

func securityOf(label string) mail.Security {
	for _, c := range securityChoices {
		if c.label == label {
			return c.sec
		}
	}
	return ""
}

// SettingsView is the e-mail settings (SPEC §6) with Send test e-mail,
// Preview digest and the digest status line, plus the option to run the
// verification API (SPEC §5) while the window is open.
type SettingsView struct {
	widget.BaseWidget

	b   *workspace.Workspace
	win fyne.Window
	loc *time.Location
	bg  runner

	host, port, username, password, from, to *widget.Entry
	security                                 *widget.Select
	msgs                                     map[string]*widget.Label
	formMsg                                  *widget.Label
	save, test, preview                      *widget.Button
	hasPassword                              bool

	nextSlot   *widget.Label
	lastResult *widget.Label
	status     mail.Status

	serverOn     *widget.Check
	listen       *widget.Entry
	listenMsg    *widget.Label
	serverStatus *widget.Label

	sched atomic.Pointer[mail.Scheduler]

	srvMu   sync.Mutex
	srvGen  int
	srvStop context.CancelFunc
	srvDone chan struct{}
}

// NewSettingsView returns the Settings view for b; w parents its dialogs.
// The saved settings are read off the UI goroutine.
func NewSettingsView(b *workspace.Workspace, w fyne.Window, bg runner) *SettingsView {
	v := &SettingsView{b: b, win: w, loc: time.Local, bg: bg, msgs: map[string]*widget.Label{}}
	v.ExtendBaseWidget(v)

	v.host = widget.NewEntry()
	v.host.SetPlaceHolder("smtp.example.com")
	v.port = widget.NewEntry()
	v.port.SetText(strconv.Itoa(mail.DefaultPort(mail.SecurityStartTLS)))
	labels := make([]string, len(securityChoices))
	for i, c := range securityChoices {
		labels[i] = c.label
	}
	v.security = widget.NewSelect(labels, nil)
	v.security.SetSelected(securityLabel(mail.SecurityStartTLS))
	v.security.OnChanged = v.securityChanged
	v.username = widget.NewEntry()
	v.username.SetPlaceHolder("optional: AUTH PLAIN when set")
	v.password = widget.NewPasswordEntry()
	v.password.SetPlaceHolder("not set")
	v.from = widget.NewEntry()
	v.from.SetPlaceHolder("Keydesk <keydesk@example.com>")
	v.to = widget.NewEntry()
	v.to.SetPlaceHolder("admin@example.com, ops@example.com")
	for _, f := range []string{"host", "port", "security", "username", "password", "from", "to"} {
		v.msgs[f] = newFieldMessage()
	}
	for name, e := range map[string]*widget.Entry{"host": v.host, "port": v.port, "username": v.username,
		"password": v.password, "from": v.from, "to": v.to} {
		msg := v.msgs[name]
		e.OnChanged = func(string) { setFieldMessage(msg, "") }
	}
	v.formMsg = widget.NewLabel("")
	v.formMsg.Wrapping = fyne.TextWrapWord
	v.formMsg.Hide()

	v.save = widget.NewButton("Save", v.Save)
	v.save.Importance = widget.HighImportance
	v.test = widget.NewButton("Send test e-mail", v.SendTest)
	v.preview = widget.NewButton("Preview digest", v.Preview)

	v.nextSlot = widget.NewLabel("")
	v.nextSlot.Wrapping = fyne.TextWrapWord
	v.lastResult = widget.NewLabel("")
	v.lastResult.Wrapping = fyne.TextWrapWord

	v.serverOn = widget.NewCheck("Run verification API while Keydesk is open", v.serverToggled)
	v.listen = widget.NewEntry()
	v.listen.SetText(DefaultListenAddr)
	v.listenMsg = newFieldMessage()
	v.listen.OnChanged = func(string) { setFieldMessage(v.listenMsg, "") }
	v.serverStatus = widget.NewLabel("Stopped.")
	v.serverStatus.Wrapping = fyne.TextWrapWord

	v.setBusy(true)
	v.load()
	return v
}

// CreateRenderer lays the view out: the e-mail form, its buttons and
// status, then the verification API option.
func (v *SettingsView) CreateRenderer() fyne.WidgetRenderer {
	v.renderStatus()
	field := func(label, name string, o fyne.CanvasObject) *widget.FormItem {
		return widget.NewFormItem(label, container.NewVBox(o, v.msgs[name]))
	}
	form := widget.NewForm(
		field("Host", "host", v.host),
		field("Port", "port", v.port),
		field("Security", "security", v.security),
		field("Username", "username", v.username),
		field("Password", "password", v.password),
		field("From", "from", v.from),
		field("Recipients", "to", v.to),
	)
	bold := fyne.TextStyle{Bold: true}
	content := container.NewVBox(
		widget.NewLabelWithStyle("Expiration digest e-mail", fyne.TextAlignLeading, bold),
		widget.NewLabel("Sent every day at 11:00 UTC to the recipients, listing keys that expired in the last 24 hours and keys expiring within 7 days."),
		form,
		v.formMsg,
		container.NewHBox(v.save, v.test, v.preview),
		v.nextSlot,
		v.lastResult,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Verification API", fyne.TextAlignLeading, bold),
		v.serverOn,
		widget.NewForm(widget.NewFormItem("Listen address", container.NewVBox(v.listen, v.listenMsg))),
		v.serverStatus,
	)
	for _, o := range content.Objects[:2] {
		if l, ok := o.(*widget.Label); ok {
			l.Wrapping = fyne.TextWrapWord
		}
	}
	return widget.NewSimpleRenderer(container.NewVScroll(content))
}

// msgSentence turns a message such as "enter the host" into "Enter the host.".
func msgSentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return msg
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

func (v *SettingsView) setBusy(busy bool) {
	for _, b := range []*widget.Button{v.save, v.test, v.preview} {
		if busy {
			b.Disable()
		} else {
			b.Enable()
		}
	}
}

func (v *SettingsView) showFormMessage(msg string, imp widget.Importance) {
	v.formMsg.Importance = imp
	setFieldMessage(v.formMsg, msg)
	v.Refresh()
}

func (v *SettingsView) securityChanged(label string) {
	setFieldMessage(v.msgs["security"], "")
	sec := securityOf(label)
	// Follow the security's usual port unless the user typed another one.
	switch strings.TrimSpace(v.port.Text) {
	case "", "25", "465", "587":
		v.port.SetText(strconv.Itoa(mail.DefaultPort(sec)))
	}
}

// load reads the saved settings and whether a password is stored.
func (v *SettingsView) load() {
	b := v.b
	v.bg.run(func() func() {
		s, err := mail.LoadSettings(b.Store)
		var hasPw bool
		var pwErr error
		if err == nil || errors.Is(err, mail.ErrNotConfigured) {
			var pw string
			pw, pwErr = b.Keyring.MailPassword()
			hasPw = pw != ""
		}
		return func() {
			v.setBusy(false)
			switch {
			case errors.Is(err, mail.ErrNotConfigured):
				v.showFormMessage("E-mail is not set up yet: fill in the server and recipients, then Save.", widget.LowImportance)
			case err != nil:
				v.showFormMessage(msgSentence(err.Error()), widget.DangerImportance)
				return
			default:
				v.fill(s)
			}
			if pwErr != nil {
				v.showFormMessage(msgSentence(pwErr.Error()), widget.DangerImportance)
			}
			v.setHasPassword(hasPw)
		}
	})
}

func (v *SettingsView) fill(s mail.Settings) {
	v.security.OnChanged = nil
	v.security.SetSelected(securityLabel(s.Security))
	v.security.OnChanged = v.securityChanged
	v.host.SetText(s.Host)
	v.port.SetText(strconv.Itoa(s.Port))
	v.username.SetText(s.Username)
	v.from.SetText(s.From)
	v.to.SetText(displayAddresses(s.To))
	for _, m := range v.msgs {
		setFieldMessage(m, "")
	}
}

func (v *SettingsView) setHasPassword(has bool) {
	v.hasPassword = has
	v.password.SetText("")
	if has {
		v.password.SetPlaceHolder(savedPasswordPlaceholder)
	} else {
		v.password.SetPlaceHolder("not set")
	}
}

// displayAddresses renders addresses as people type them: a bare address
// without angle brackets, "Name <address>" with a name.
func displayAddresses(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s
		if a, err := mail.ParseAddress(s); err == nil {
			out[i] = a.Address
			if a.Name != "" {
				out[i] = a.Name + " <" + a.Address + ">"
			}
		}
	}
	return strings.Join(out, ", ")
}

// formSettings reads the form. It reports a problem at the field at fault
// and returns false when the form cannot be read.
func (v *SettingsView) formSettings() (mail.Settings, bool) {
	for _, m := range v.msgs {
		setFieldMessage(m, "")
	}
	s := mail.Settings{
		Host:     strings.TrimSpace(v.host.Text),
		Security: securityOf(v.security.Selected),
		Username: strings.TrimSpace(v.username.Text),
		From:     strings.TrimSpace(v.from.Text),
		To:       mail.SplitAddresses(v.to.Text),
	}
	port, err := strconv.Atoi(strings.TrimSpace(v.port.Text))
	if err != nil {
		setFieldMessage(v.msgs["port"], "The port must be a number from 1 to 65535.")
		v.Refresh()
		return s, false
	}
	s.Port = port
	if err := s.Validate(); err != nil {
		v.showError(err)
		return s, false
	}
	v.Refresh()
	return s, true
}

// showError shows err at its field when it names one, else under the form.
func (v *SettingsView) showError(err error) {
	var fe *mail.FieldError
	if errors.As(err, &fe) {
		if m, ok := v.msgs[fe.Field]; ok {
			setFieldMessage(m, msgSentence(fe.Msg))
			v.Refresh()
			return
		}
	}
	v.showFormMessage(msgSentence(err.Error()), widget.DangerImportance)
}

// Save validates the form and stores it: the settings in the store (with an
// audit entry), a newly typed password in the OS keyring.
func (v *SettingsView) Save() {
	v.showFormMessage("", widget.MediumImportance)
	s, ok := v.formSettings()
	if !ok {
		return
	}
	var pw *string
	if p := v.password.Text; p != "" {
		pw = &p
	}
	v.setBusy(true)
	b := v.b
	change := mail.Change{Settings: s, Password: pw, Actor: workspace.Actor(), Time: b.Clock.Now()}
	v.bg.run(func() func() {
		err := mail.SaveSettings(b.Store, b.Keyring, change)
		var has bool
		if err == nil {
			p, perr := b.Keyring.MailPassword()
			has = perr == nil && p != ""
		}
		return func() {
			v.setBusy(false)
			if err != nil {
				v.showError(err)
				return
			}
			v.setHasPassword(has)
			v.fill(s)
			v.showFormMessage("Saved.", widget.SuccessImportance)
			if sched := v.sched.Load(); sched != nil {
				sched.Trigger()
			}
		}
	})
}

// SendTest sends a test message with the settings in the form (the typed
// password, else the saved one) and records it in the audit log.
func (v *SettingsView) SendTest() {
	v.showFormMessage("", widget.MediumImportance)
	s, ok := v.formSettings()
	if !ok {
		return
	}
	typed := v.password.Text
	v.setBusy(true)
	v.showFormMessage("Sending a test e-mail to "+displayAddresses(s.To)+"…", widget.LowImportance)
	b := v.b
	v.bg.run(func() func() {
		err := sendTestMail(b, s, typed)
		return func() {
			v.setBusy(false)
			if err != nil {
				v.showFormMessage(msgSentence(err.Error()), widget.DangerImportance)
				return
			}
			v.showFormMessage("Test e-mail sent to "+displayAddresses(s.To)+".", widget.SuccessImportance)
		}
	})
}

// sendTestMail sends the test message through mail.Deliverer.SendTest (which
// records it in the audit log) with the settings of the form rather than the
// saved ones, and the typed password, else the one in the keyring.
func sendTestMail(b *workspace.Workspace, s mail.Settings, typed string) error {
	d := &mail.Deliverer{
		Store:     b.Store,
		Settings:  formSettings{s},
		Passwords: formPassword{typed: typed, saved: b.Keyring},
		Actor:     workspace.Actor(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := d.SendTest(ctx, b.Clock.Now())
	return err
}

// formSettings serves the form's settings to mail.Deliverer; it never
// stores anything.
type formSettings struct{ s mail.Settings }

func (f formSettings) Setting(name string) ([]byte, error) {
	if name != mail.SettingName {
		return nil, nil
	}
	return json.Marshal(f.s)
}

func (f formSettings) PutSetting(string, []byte, core.AuditEvent) error {
	return errors.New("the settings form is read-only")
}

// formPassword serves the typed password, else the saved one.
type formPassword struct {
	typed string
	saved mail.PasswordStore
}

func (p formPassword) MailPassword() (string, error) {
	if p.typed != "" {
		return p.typed, nil
	}
	return p.saved.MailPassword()
}

func (p formPassword) SetMailPassword(string) error {
	return errors.New("the settings form is read-only")
}

// Preview shows the digest of the next slot in a dialog.
func (v *SettingsView) Preview() {
	b := v.b
	v.preview.Disable()
	v.bg.run(func() func() {
		now := b.Clock.Now()
		slot := core.NextSlot(now)
		last, err := b.Store.LastDeliveredSlot()
		var d core.Digest
		if err == nil {
			d, err = b.Service.SelectDigest(slot, last)
		}
		return func() {
			v.preview.Enable()
			if err != nil {
				dialog.ShowError(fmt.Errorf("preview the digest: %w", err), v.win)
				return
			}
			v.showPreview(d)
		}
	})
}

func (v *SettingsView) showPreview(d core.Digest) {
	content := digestPreview(d, v.loc)
	dlg := dialog.NewCustom("Digest for "+d.Slot.UTC().Format(mail.SlotLayout), "Close", content, v.win)
	dlg.Resize(fyne.NewSize(640, 480))
	dlg.Show()
}

// digestPreview renders a digest: subject, then the two key lists.
func digestPreview(d core.Digest, loc *time.Location) fyne.CanvasObject {
	subject := widget.NewLabelWithStyle(d.Subject(), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	subject.Wrapping = fyne.TextWrapWord
	objs := []fyne.CanvasObject{subject}
	if d.Empty() {
		objs = append(objs, widget.NewLabel("Nothing to send: no key expired in the window and none expires within 7 days of the slot."))
	}
	list := func(title string, keys []*core.Key) {
		objs = append(objs, widget.NewLabelWithStyle(fmt.Sprintf("%s (%d)", title, len(keys)), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		if len(keys) == 0 {
			objs = append(objs, widget.NewLabel("None."))
			return
		}
		for _, l := range mail.Lines(keys) {
			lbl := widget.NewLabel(fmt.Sprintf("%s  ·  %s…  ·  %s  ·  %s", l.Name, l.Hint, l.Expiry(), l.ScopeCount()))
			lbl.Wrapping = fyne.TextWrapWord
			objs = append(objs, lbl)
		}
	}
	list("Expired since "+d.Since.UTC().Format(mail.SlotLayout), d.Expired)
	list("Expiring by "+d.Slot.Add(core.DigestLookahead).UTC().Format(mail.SlotLayout), d.Expiring)
	return container.NewVScroll(container.NewVBox(objs...))
}

// updateNextSlot shows the next 11:00 UTC slot in UTC and local time.
func (v *SettingsView) updateNextSlot() {
	now := v.b.Clock.Now()
	slot := core.NextSlot(now)
	text := "Next digest: " + slot.UTC().Format(mail.SlotLayout)
	if _, off := slot.In(v.loc).Zone(); off != 0 {
		text += " (" + slot.In(v.loc).Format("15:04 MST") + ")"
	}
	v.nextSlot.SetText(text + ", " + core.FormatRelative(slot, now) + ".")
}

// setStatus shows the digest scheduler's status; call it on the UI
// goroutine (runBackground does, through fyne.Do).
func (v *SettingsView) setStatus(st mail.Status) {
	v.status = st
	v.renderStatus()
	v.Refresh()
}

func (v *SettingsView) renderStatus() {
	text, imp := statusText(v.status, v.loc)
	v.lastResult.Importance = imp
	v.lastResult.SetText(text)
	v.updateNextSlot()
}

// statusText is the "last result" line for a scheduler status.
func statusText(st mail.Status, loc *time.Location) (string, widget.Importance) {
	slot := st.LastSlot.UTC().Format(mail.SlotLayout)
	at := st.LastTime.In(loc).Format("2006-01-02 15:04 MST")
	switch st.Last {
	case mail.ResultSent:
		return fmt.Sprintf("Last result: sent the digest for %s at %s.", slot, at), widget.SuccessImportance
	case mail.ResultNothing:
		return fmt.Sprintf("Last result: nothing to send for %s (checked %s).", slot, at), widget.MediumImportance
	case mail.ResultUpToDate:
		return fmt.Sprintf("Last result: the digest for %s was already delivered.", slot), widget.MediumImportance
	case mail.ResultNotConfigured:
		return "Last result: not sent, because e-mail is not set up yet.", widget.WarningImportance
	case mail.ResultFailed:
		text := fmt.Sprintf("Last result: the digest for %s failed at %s: %s", slot, at, strings.TrimSuffix(st.LastError, "."))
		if !st.RetryAt.IsZero() {
			text += fmt.Sprintf("; retrying at %s", st.RetryAt.In(loc).Format("15:04 MST"))
		}
		return text + ".", widget.DangerImportance
	}
	return "Last result: no digest attempted since Keydesk started.", widget.LowImportance
}

// attachScheduler lets Save wake the digest scheduler, so that new settings
// apply at once.
func (v *SettingsView) attachScheduler(s *mail.Scheduler) { v.sched.Store(s) }

// serverToggled starts or stops the verification API.
func (v *SettingsView) serverToggled(on bool) {
	v.srvMu.Lock()
	v.srvGen++
	v.srvMu.Unlock()
	if on {
		v.startServer()
	} else {
		v.listen.Enable()
		v.setServerStatus("Stopping…", widget.MediumImportance)
		v.bg.run(func() func() {
			v.stopServer()
			return func() {
				if !v.serverOn.Checked {
					v.setServerStatus("Stopped.", widget.MediumImportance)
				}
			}
		})
	}
}

func (v *SettingsView) startServer() {
	addr := strings.TrimSpace(v.listen.Text)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		setFieldMessage(v.listenMsg, "Enter a host and port such as 127.0.0.1:8765.")
		v.uncheckServer()
		v.Refresh()
		return
	}
	v.listen.Disable()
	v.setServerStatus("Starting…", widget.MediumImportance)
	svc := v.b.Service
	v.srvMu.Lock()
	gen := v.srvGen
	v.srvMu.Unlock()
	v.bg.run(func() func() {
		v.stopServer()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return func() {
				v.uncheckServer()
				v.setServerStatus(msgSentence(fmt.Sprintf("could not listen on %s: %v", addr, err)), widget.DangerImportance)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		v.srvMu.Lock()
		if v.srvGen != gen {
			// Switched off (or on again) while starting.
			v.srvMu.Unlock()
			cancel()
			ln.Close()
			return nil
		}
		v.srvStop, v.srvDone = cancel, done
		v.srvMu.Unlock()
		// The window's background task flushes last-used times; the
		// server gets the verifier without its flusher.
		srv := server.New(verifierOnly{svc}, server.Options{})
		bound := ln.Addr().String()
		go func() {
			defer close(done)
			err := srv.Serve(ctx, ln)
			if err != nil {
				v.bg.do(func() {
					v.uncheckServer()
					v.setServerStatus(msgSentence(err.Error()), widget.DangerImportance)
				})
			}
		}()
		return func() {
			text := "Listening on http://" + bound + " (POST " + server.PathVerify + ", GET " + server.PathAuth + ")."
			imp := widget.SuccessImportance
			if !isLoopbackHost(host) {
				text += " Warning: this address is reachable from other computers."
				imp = widget.WarningImportance
			}
			v.setServerStatus(text, imp)
		}
	})
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setServerStatus shows the verification API's state.
func (v *SettingsView) setServerStatus(text string, imp widget.Importance) {
	v.serverStatus.Importance = imp
	v.serverStatus.SetText(text)
	v.Refresh()
}

// uncheckServer clears the option without stopping anything.
func (v *SettingsView) uncheckServer() {
	v.serverOn.OnChanged = nil
	v.serverOn.SetChecked(false)
	v.serverOn.OnChanged = v.serverToggled
	v.listen.Enable()
}

// stopServer stops the running verification API, if any, and waits for it
// to finish. It blocks: never call it on the UI goroutine.
func (v *SettingsView) stopServer() {
	v.srvMu.Lock()
	stop, done := v.srvStop, v.srvDone
	v.srvStop, v.srvDone = nil, nil
	v.srvMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// verifierOnly hides the service's last-used flusher from the server.
type verifierOnly struct{ svc *core.Service }

func (o verifierOnly) Verify(secret string, t core.Target) core.Verification {
	return o.svc.Verify(secret, t)
}

func (o verifierOnly) Catalog() *core.Catalog { return o.svc.Catalog() }
