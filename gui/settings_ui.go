package gui

import (
	"fyne.io/fyne/v2"

	"github.com/keydesk/keydesk/gui/settings"
)

// settingsUI is the window as the Settings screen sees it (settings.UI):
// its runner, its dialogs (parented by win) and its sentences for errors.
type settingsUI struct {
	env *uiEnv
	win fyne.Window
}

var _ settings.UI = settingsUI{}

func (u settingsUI) Run(work func() (apply func())) { u.env.bg.run(work) }

func (u settingsUI) Do(f func()) { u.env.bg.do(f) }

func (u settingsUI) Window() fyne.Window { return u.win }

func (u settingsUI) OnEscape(close func()) (done func()) { return u.env.onEscape(close) }

func (u settingsUI) ShowError(title, what string, err error) {
	newErrorDialog(u.win, title, what, err).dlg.Show()
}

func (u settingsUI) Sentence(err error) string { return sentence(err) }
