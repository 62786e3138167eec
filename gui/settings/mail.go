package settings

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/internal/msg"
	"github.com/keydesk/keydesk/mail"
)

// mailConfig is what the e-mail form needs: the saved settings, saving
// them, and sending the test message. Its methods block (the store, the OS
// keyring, the SMTP server): the form calls them off the UI goroutine.
type mailConfig interface {
	// LoadMail returns the saved settings (mail.ErrNotConfigured when
	// there are none).
	LoadMail() (mail.Settings, error)
	// HasMailPassword reports whether the OS keyring holds a password.
	HasMailPassword() (bool, error)
	// SaveMail stores the settings with an audit entry, and a newly typed
	// password in the OS keyring; it reports whether a password is saved.
	SaveMail(c mail.Change) (hasPassword bool, err error)
	// SendTestMail sends the test message with the settings s and the
	// password typed in the form (the saved one when it is empty), and
	// records it in the audit log.
	SendTestMail(ctx context.Context, s mail.Settings, password string) error
	// Now is the time changes are recorded at.
	Now() time.Time
	// Actor names who changes the settings in the audit log.
	Actor() string
}

// testMailTimeout bounds Send test e-mail.
const testMailTimeout = 2 * time.Minute

// savedPasswordPlaceholder is shown in the password field when the keyring
// holds a password; the password itself is never shown back.
const savedPasswordPlaceholder = "•••• (saved)"

// securityChoices are the security select's options.
var securityChoices = widgets.Choices[mail.Security]{
	{Value: mail.SecurityStartTLS, Label: "STARTTLS"},
	{Value: mail.SecurityTLS, Label: "TLS"},
	{Value: mail.SecurityNone, Label: "None (this computer only)"},
}

// securityLabel is the label of s, STARTTLS's for an unknown one.
func securityLabel(s mail.Security) string {
	return securityChoices.Label(s, securityChoices[0].Label)
}

// securityOf is the security labelled label ("" for none).
func securityOf(label string) mail.Security {
	sec, _ := securityChoices.Value(label)
	return sec
}

// mailForm is the e-mail settings form with Save and Send test e-mail. The
// settings view lays its widgets out.
type mailForm struct {
	cfg mailConfig
	ui  UI
	// onSaved is called on the UI goroutine after the settings were saved.
	onSaved func()
	// relayout lays the view out again after a message was shown or hidden.
	relayout func()

	host, port, username, password, from, to *widget.Entry
	security                                 *widget.Select
	msgs                                     map[string]*widget.Label
	formMsg                                  *widget.Label
	save, test                               *widget.Button
	// progress shows while the test e-mail is sent, with cancelTest;
	// details holds the technical error behind a disclosure.
	progress    *fyne.Container
	cancelTest  *widget.Button
	stopTest    context.CancelFunc
	details     *widget.Accordion
	detailsText *widget.Label
	// busyAlso are buttons of the view disabled with the form's own
	// while it loads, saves or sends.
	busyAlso    []*widget.Button
	hasPassword bool
}

// newMailForm returns the form over cfg, its buttons disabled until load
// has read the saved settings.
func newMailForm(cfg mailConfig, ui UI) *mailForm {
	v := &mailForm{cfg: cfg, ui: ui, msgs: map[string]*widget.Label{}, relayout: func() {}}

	v.host = widget.NewEntry()
	v.host.SetPlaceHolder("smtp.example.com")
	v.port = widget.NewEntry()
	v.port.SetText(strconv.Itoa(mail.DefaultPort(mail.SecurityStartTLS)))
	v.security = widget.NewSelect(securityChoices.Labels(), nil)
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
		v.msgs[f] = widgets.NewFieldMessage()
	}
	for name, e := range map[string]*widget.Entry{"host": v.host, "port": v.port, "username": v.username,
		"password": v.password, "from": v.from, "to": v.to} {
		msg := v.msgs[name]
		e.OnChanged = func(string) { widgets.SetMessage(msg, "", widget.DangerImportance) }
	}
	v.formMsg = widget.NewLabel("")
	v.formMsg.Wrapping = fyne.TextWrapWord
	v.formMsg.Hide()

	v.save = widget.NewButton("Save", v.Save)
	v.save.Importance = widget.HighImportance
	v.test = widget.NewButton("Send test e-mail", v.SendTest)
	v.cancelTest = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		if v.stopTest != nil {
			v.stopTest()
		}
	})
	bar := widget.NewProgressBarInfinite()
	v.progress = container.NewBorder(nil, nil, nil, v.cancelTest, bar)
	v.progress.Hide()
	v.detailsText = widget.NewLabel("")
	v.detailsText.Wrapping = fyne.TextWrapWord
	v.detailsText.TextStyle.Monospace = true
	v.details = widget.NewAccordion(widget.NewAccordionItem("Details", v.detailsText))
	v.details.Hide()
	v.setBusy(true)
	return v
}

// form returns the form, each message under its field.
// form lays the fields out in g, whose forms share one label column.
func (v *mailForm) form(g *formGroup) *fyne.Container {
	field := func(label, name string, o fyne.CanvasObject) formRow {
		return formRow{label, container.NewVBox(o, v.msgs[name])}
	}
	return g.form(
		field("Host", "host", v.host),
		field("Port", "port", v.port),
		field("Security", "security", v.security),
		field("Username", "username", v.username),
		field("Password", "password", v.password),
		field("From", "from", v.from),
		field("Recipients", "to", v.to),
	)
}

func (v *mailForm) setBusy(busy bool) {
	for _, b := range append([]*widget.Button{v.save, v.test}, v.busyAlso...) {
		if busy {
			b.Disable()
		} else {
			b.Enable()
		}
	}
}

func (v *mailForm) showFormMessage(msg string, imp widget.Importance) {
	widgets.SetMessage(v.formMsg, msg, imp)
	if v.details != nil && v.details.Visible() {
		v.details.Hide()
	}
	v.relayout()
}

// showFailure shows what failed in plain words, with the technical error
// behind the Details disclosure (closed).
func (v *mailForm) showFailure(plain string, err error) {
	widgets.SetMessage(v.formMsg, plain, widget.DangerImportance)
	v.detailsText.SetText(msg.Sentence(err.Error()))
	v.details.CloseAll()
	v.details.Show()
	v.relayout()
}

func (v *mailForm) securityChanged(label string) {
	widgets.SetMessage(v.msgs["security"], "", widget.DangerImportance)
	sec := securityOf(label)
	// Follow the security's usual port unless the user typed another one.
	switch strings.TrimSpace(v.port.Text) {
	case "", "25", "465", "587":
		v.port.SetText(strconv.Itoa(mail.DefaultPort(sec)))
	}
}

// load reads the saved settings and whether a password is stored, off the
// UI goroutine, and fills the form.
func (v *mailForm) load() {
	cfg := v.cfg
	v.ui.Run(func() func() {
		s, err := cfg.LoadMail()
		var hasPw bool
		var pwErr error
		if err == nil || errors.Is(err, mail.ErrNotConfigured) {
			hasPw, pwErr = cfg.HasMailPassword()
		}
		return func() {
			v.setBusy(false)
			switch {
			case errors.Is(err, mail.ErrNotConfigured):
				v.showFormMessage("E-mail is not set up yet: fill in the server and recipients, then Save.", widget.LowImportance)
			case err != nil:
				v.showFormMessage(msg.Sentence(err.Error()), widget.DangerImportance)
				return
			default:
				v.fill(s)
			}
			if pwErr != nil {
				v.showFormMessage(msg.Sentence(pwErr.Error()), widget.DangerImportance)
			}
			v.setHasPassword(hasPw)
		}
	})
}

func (v *mailForm) fill(s mail.Settings) {
	v.security.OnChanged = nil
	v.security.SetSelected(securityLabel(s.Security))
	v.security.OnChanged = v.securityChanged
	v.host.SetText(s.Host)
	v.port.SetText(strconv.Itoa(s.Port))
	v.username.SetText(s.Username)
	v.from.SetText(s.From)
	v.to.SetText(displayAddresses(s.To))
	for _, m := range v.msgs {
		widgets.SetMessage(m, "", widget.DangerImportance)
	}
}

func (v *mailForm) setHasPassword(has bool) {
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
func (v *mailForm) formSettings() (mail.Settings, bool) {
	for _, m := range v.msgs {
		widgets.SetMessage(m, "", widget.DangerImportance)
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
		widgets.SetMessage(v.msgs["port"], "The port must be a number from 1 to 65535.", widget.DangerImportance)
		v.relayout()
		return s, false
	}
	s.Port = port
	if err := s.Validate(); err != nil {
		v.showError(err)
		return s, false
	}
	v.relayout()
	return s, true
}

// showError shows err at its field when it names one, else under the form.
func (v *mailForm) showError(err error) {
	var fe *mail.FieldError
	if errors.As(err, &fe) {
		if m, ok := v.msgs[fe.Field]; ok {
			widgets.SetMessage(m, msg.Sentence(fe.Msg), widget.DangerImportance)
			v.relayout()
			return
		}
	}
	v.showFormMessage(msg.Sentence(err.Error()), widget.DangerImportance)
}

// savedMessage says what Save did: it also makes the digest scheduler
// check at once whether a digest is due (View's onSaved).
const savedMessage = "Saved. Keydesk now sends the digest if one is due and not yet delivered, then every day at 11:00 UTC."

// Save validates the form and stores it: the settings in the store (with an
// audit entry), a newly typed password in the OS keyring.
func (v *mailForm) Save() {
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
	cfg := v.cfg
	change := mail.Change{Settings: s, Password: pw, Actor: cfg.Actor(), Time: cfg.Now()}
	v.ui.Run(func() func() {
		has, err := cfg.SaveMail(change)
		return func() {
			v.setBusy(false)
			if err != nil {
				v.showError(err)
				return
			}
			v.setHasPassword(has)
			v.fill(s)
			v.showFormMessage(savedMessage, widget.SuccessImportance)
			if v.onSaved != nil {
				v.onSaved()
			}
		}
	})
}

// SendTest sends a test message with the settings in the form (the typed
// password, else the saved one) and records it in the audit log.
func (v *mailForm) SendTest() {
	v.showFormMessage("", widget.MediumImportance)
	s, ok := v.formSettings()
	if !ok {
		return
	}
	typed := v.password.Text
	v.setBusy(true)
	v.showFormMessage("Sending a test e-mail to "+displayAddresses(s.To)+"…", widget.LowImportance)
	cfg := v.cfg
	ctx, cancel := context.WithTimeout(context.Background(), testMailTimeout)
	v.stopTest = cancel
	v.progress.Show()
	v.relayout()
	v.ui.Run(func() func() {
		defer cancel()
		err := cfg.SendTestMail(ctx, s, typed)
		return func() {
			v.setBusy(false)
			v.stopTest = nil
			v.progress.Hide()
			if err != nil {
				v.showFailure(mailFailure(err, s), err)
				return
			}
			v.showFormMessage("Test e-mail sent to "+displayAddresses(s.To)+".", widget.SuccessImportance)
		}
	})
}
