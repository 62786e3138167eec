// Package settings is the window's Settings screen: the expiration
// digest's e-mail settings, the digest's status and preview, the option to
// run the verification API while the window is open, and when the data
// folder was last backed up. It reaches the window only through UI.
package settings

import (
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/server"
)

// UI is what the settings screens need from the window they are shown in
// (evebuddy's baseUI): its runner, its dialogs and its words for errors.
// The window implements it over its one bridge to fyne.Do.
type UI interface {
	// Run calls work off the UI goroutine, then the func it returns, if
	// not nil, on the UI goroutine.
	Run(work func() (apply func()))
	// Do runs f on the UI goroutine; background goroutines (a server that
	// stops) call it.
	Do(f func())
	// Window parents the screens' dialogs.
	Window() fyne.Window
	// OnEscape makes close the Esc key's action while its dialog is the
	// top one; the returned function is called when the dialog closes.
	OnEscape(close func()) (done func())
	// ShowError shows, in a dialog titled title, that what failed, with
	// the technical error err behind Details.
	ShowError(title, what string, err error)
	// Sentence turns err into one sentence for the screen.
	Sentence(err error) string
}

// Source is what the Settings screen reads and changes besides the
// verifier: the e-mail settings, the digest and the usage counts of the
// verification API. WorkspaceSource implements it over an opened data
// folder.
type Source interface {
	mailConfig
	digestSource
	// UsageCounter returns what counts the verification API's answers;
	// nil counts nothing. The switch calls it off the UI goroutine each
	// time the API starts.
	UsageCounter() (server.UsageCounter, error)
}

// View is the Settings screen: the expiration digest's e-mail settings
// (mailForm) with the digest's status and preview (digestPanel), and the
// option to run the verification API while the window is open
// (apiSwitch).
type View struct {
	widget.BaseWidget

	mail   *mailForm
	digest *digestPanel
	api    *apiSwitch
	ui     UI

	// lastBackup says when the data folder was last backed up.
	lastBackup *widget.Label

	sched atomic.Pointer[mail.Scheduler]
}

// New returns the Settings view over src, running the verification API
// with v, in the window ui. It reads nothing: call Load to fill the form.
func New(src Source, v server.KeyChecker, ui UI) *View {
	s := &View{ui: ui, lastBackup: widget.NewLabel("Last backup: never")}
	s.lastBackup.Wrapping = fyne.TextWrapWord
	s.ExtendBaseWidget(s)
	s.mail = newMailForm(src, ui)
	s.digest = newDigestPanel(src, ui)
	s.api = newAPISwitch(&apiServer{v: v, usage: src.UsageCounter}, ui)
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

// SetLocation sets the time zone dates are shown in.
func (s *View) SetLocation(loc *time.Location) {
	s.digest.loc = loc
	s.digest.render()
}

// Load reads the saved e-mail settings off the UI goroutine and fills the
// form.
func (s *View) Load() { s.mail.load() }

// CreateRenderer lays the view out: the e-mail form, its buttons and
// status, then the verification API option.
func (s *View) CreateRenderer() fyne.WidgetRenderer {
	// The e-mail fields and the listen address share one label column, so
	// their fields start at the same x.
	forms := &formGroup{}
	content := container.NewVBox(
		boldLabel("Expiration digest e-mail"),
		widget.NewLabel("Sent every day at 11:00 UTC to the recipients, listing keys that expired in the last 24 hours and keys expiring within 7 days."),
		s.mail.form(forms),
		widgets.SecondaryText(s.mail.formMsg),
		s.mail.details,
		s.mail.progress,
		container.NewHBox(s.mail.save, s.mail.test, s.digest.preview),
		s.digest.nextSlot,
		container.NewBorder(nil, nil, nil, container.NewVBox(s.digest.failDetails), widgets.SecondaryText(s.digest.lastResult)),
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
	gutter := container.New(layout.NewCustomPaddedLayout(0, 0, 0, widgets.ScrollBarGutter()), content)
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

// SetLastBackup shows when the last backup was taken (the zero time:
// never), or that it could not be read.
func (s *View) SetLastBackup(t time.Time, err error, loc *time.Location) {
	text := "Last backup: never. Back up with File > Back Up…: without a backup, a lost keyring makes every key unverifiable."
	switch {
	case err != nil:
		text = "Last backup: unknown (" + lowerFirst(s.ui.Sentence(err)) + ")"
	case !t.IsZero():
		text = "Last backup: " + t.In(loc).Format(longLayout)
	}
	s.lastBackup.SetText(text)
}

// LastBackup is what the Backups section says.
func (s *View) LastBackup() string { return s.lastBackup.Text }

// SetStatus shows the digest scheduler's status; call it on the UI
// goroutine (the window does, through UI.Do).
func (s *View) SetStatus(st mail.Status) { s.digest.setStatus(st) }

// AttachScheduler lets Save wake the digest scheduler, so that new settings
// apply at once.
func (s *View) AttachScheduler(sched *mail.Scheduler) { s.sched.Store(sched) }

// StopServer stops the verification API, if it runs, and waits for it to
// finish. It blocks: never call it on the UI goroutine.
func (s *View) StopServer() { s.api.srv.shutdown() }

// longLayout is how the last backup's time is shown: with its weekday and
// zone, as the window shows other times in full.
const longLayout = "Mon 2 Jan 2006 15:04 MST"

// boldLabel is a heading of the screen.
func boldLabel(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// lowerFirst starts s with a small letter, to follow a colon.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
