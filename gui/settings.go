package gui

import (
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/server"
)

// settingsSource is what the Settings screen needs besides the verifier:
// the e-mail settings and the digest. workspaceSettings implements it over
// an opened data folder.
type settingsSource interface {
	mailConfig
	digestSource
}

// settingsView is the Settings screen: the expiration digest's e-mail
// settings (mailForm) with the digest's status and preview (digestPanel),
// and the option to run the verification API while the window is open
// (apiSwitch).
type settingsView struct {
	widget.BaseWidget

	mail   *mailForm
	digest *digestPanel
	api    *apiSwitch
	bg     runner

	// lastBackup says when the data folder was last backed up.
	lastBackup *widget.Label

	sched atomic.Pointer[mail.Scheduler]
}

// newSettingsView returns the Settings view over src, running the
// verification API with v; w parents its dialogs and bg runs its work. It
// reads nothing: call load to fill the form.
func newSettingsView(src settingsSource, v server.Verifier, w fyne.Window, bg runner) *settingsView {
	s := &settingsView{bg: bg, lastBackup: widget.NewLabel("Last backup: never")}
	s.lastBackup.Wrapping = fyne.TextWrapWord
	s.ExtendBaseWidget(s)
	s.mail = newMailForm(src, bg)
	s.digest = newDigestPanel(src, w, bg)
	s.api = newAPISwitch(&apiServer{v: v}, bg)
	s.mail.busyAlso = []*widget.Button{s.digest.preview}
	s.mail.onSaved = func() {
		if sched := s.sched.Load(); sched != nil {
			sched.Trigger()
		}
	}
	s.mail.relayout, s.digest.relayout, s.api.relayout = s.Refresh, s.Refresh, s.Refresh
	s.digest.render()
	return s
}

// setLocation sets the time zone dates are shown in.
func (s *settingsView) setLocation(loc *time.Location) {
	s.digest.loc = loc
	s.digest.render()
}

// load reads the saved e-mail settings off the UI goroutine and fills the
// form.
func (s *settingsView) load() { s.mail.load() }

// CreateRenderer lays the view out: the e-mail form, its buttons and
// status, then the verification API option.
func (s *settingsView) CreateRenderer() fyne.WidgetRenderer {
	// The e-mail fields and the listen address share one label column, so
	// their fields start at the same x.
	forms := &formGroup{}
	content := container.NewVBox(
		boldLabel("Expiration digest e-mail"),
		widget.NewLabel("Sent every day at 11:00 UTC to the recipients, listing keys that expired in the last 24 hours and keys expiring within 7 days."),
		s.mail.form(forms),
		secondaryText(s.mail.formMsg),
		s.mail.details,
		s.mail.progress,
		container.NewHBox(s.mail.save, s.mail.test, s.digest.preview),
		s.digest.nextSlot,
		container.NewBorder(nil, nil, nil, container.NewVBox(s.digest.failDetails), secondaryText(s.digest.lastResult)),
		s.digest.failText,
		widget.NewSeparator(),
		boldLabel("Verification API"),
		s.api.serverOn,
		forms.form(formRow{"Listen address", container.NewVBox(s.api.listen, s.api.listenMsg)}),
		s.api.serverStatus,
		widget.NewSeparator(),
		boldLabel("Backups"),
		s.lastBackup,
	)
	for _, o := range content.Objects[:2] {
		if l, ok := o.(*widget.Label); ok {
			l.Wrapping = fyne.TextWrapWord
		}
	}
	// The fields keep clear of the scroll bar, which floats over the
	// right edge of the content.
	gutter := container.New(layout.NewCustomPaddedLayout(0, 0, 0, scrollBarGutter()), content)
	return widget.NewSimpleRenderer(container.NewVScroll(gutter))
}

// formRow is one labelled field of a formGroup's form.
type formRow struct {
	label string
	field fyne.CanvasObject
}

// formGroup lays out several forms of one screen with one label column:
// the widest label of all of them sets where every field starts, so forms
// split by headings still line up. It lays each form out as widget.Form
// does (bold labels aligned to the right, the field beside its label).
type formGroup struct {
	labels []*widget.Label
}

// form returns a form of rows laid out in g.
func (g *formGroup) form(rows ...formRow) *fyne.Container {
	c := container.New(formGroupLayout{g})
	for _, r := range rows {
		l := widget.NewLabelWithStyle(r.label, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
		g.labels = append(g.labels, l)
		c.Add(l)
		c.Add(r.field)
	}
	return c
}

// labelWidth is the width of the widest label of the group.
func (g *formGroup) labelWidth() float32 {
	var w float32
	for _, l := range g.labels {
		w = max(w, l.MinSize().Width)
	}
	return w
}

// formGroupLayout lays out one form of a formGroup: label and field pairs,
// one pair a row.
type formGroupLayout struct{ g *formGroup }

// Layout places the rows, skipping those whose label and field are hidden.
func (f formGroupLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	lw := f.g.labelWidth()
	pad := theme.Padding()
	var y float32
	for i := 0; i+1 < len(objs); i += 2 {
		label, field := objs[i], objs[i+1]
		if !label.Visible() && !field.Visible() {
			continue
		}
		h := max(label.MinSize().Height, field.MinSize().Height)
		label.Move(fyne.NewPos(0, y))
		label.Resize(fyne.NewSize(lw, label.MinSize().Height))
		field.Move(fyne.NewPos(lw+pad, y))
		field.Resize(fyne.NewSize(max(0, size.Width-lw-pad), h))
		y += h + pad
	}
}

// MinSize is the rows' height and the label column with the widest field.
func (f formGroupLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	lw := f.g.labelWidth()
	var w, h float32
	rows := 0
	for i := 0; i+1 < len(objs); i += 2 {
		label, field := objs[i], objs[i+1]
		if !label.Visible() && !field.Visible() {
			continue
		}
		w = max(w, field.MinSize().Width)
		h += max(label.MinSize().Height, field.MinSize().Height)
		rows++
	}
	if rows > 1 {
		h += float32(rows-1) * theme.Padding()
	}
	return fyne.NewSize(lw+theme.Padding()+w, h)
}

// setLastBackup shows when the last backup was taken (the zero time:
// never), or that it could not be read.
func (s *settingsView) setLastBackup(t time.Time, err error, loc *time.Location) {
	text := "Last backup: never. Back up with File > Back Up…: without a backup, a lost keyring makes every key unverifiable."
	switch {
	case err != nil:
		text = "Last backup: unknown (" + lowerFirst(sentence(err)) + ")"
	case !t.IsZero():
		text = "Last backup: " + formatLong(t, loc)
	}
	s.lastBackup.SetText(text)
}

// setStatus shows the digest scheduler's status; call it on the UI
// goroutine (runBackground does, through the runner).
func (s *settingsView) setStatus(st mail.Status) { s.digest.setStatus(st) }

// attachScheduler lets Save wake the digest scheduler, so that new settings
// apply at once.
func (s *settingsView) attachScheduler(sched *mail.Scheduler) { s.sched.Store(sched) }

// stopServer stops the verification API, if it runs, and waits for it to
// finish. It blocks: never call it on the UI goroutine.
func (s *settingsView) stopServer() { s.api.srv.shutdown() }

// verifierOnly hides the service's last-used flusher from the server: the
// window's background work flushes last-used times.
type verifierOnly struct {
	svc *core.Service
	// usage counts the API's answers; nil counts nothing.
	usage *windowUsage
}

func (o verifierOnly) Verify(secret string, t core.Target) core.Verification {
	return o.svc.Verify(secret, t)
}

// VerifyUse is what the server calls for a client's request: a real use,
// recorded as the key's last use.
func (o verifierOnly) VerifyUse(secret string, t core.Target) core.Verification {
	return o.svc.VerifyUse(secret, t)
}

func (o verifierOnly) Catalog() *core.Catalog { return o.svc.Catalog() }
