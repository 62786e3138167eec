package gui

import (
	"context"
	"log/slog"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/workspace"
)

// newFieldMessage returns the hidden, danger-styled label shown under a
// field when its value is refused (widgets.NewFieldMessage).
func newFieldMessage() *widget.Label { return widgets.NewFieldMessage() }

// setMessage shows text in l with importance imp, or hides l when text is ""
// (widgets.SetMessage).
func setMessage(l *widget.Label, text string, imp widget.Importance) {
	widgets.SetMessage(l, text, imp)
}

// backgroundSettings is what the background work needs of the Settings
// screen (a *settings.View): to show the digest scheduler's status, to let
// Save wake the scheduler, and to stop the verification API.
type backgroundSettings interface {
	SetStatus(mail.Status)
	AttachScheduler(*mail.Scheduler)
	StopServer()
}

// runBackground runs the window's background work until ctx ends: the
// daily digest scheduler (its status shown in settings), the last-used
// flusher of the key service, and the verification API when started from
// settings. It returns after the last flush and the server's shutdown.
func runBackground(ctx context.Context, bg runner, b *workspace.Workspace, settings backgroundSettings) {
	sched := b.Scheduler(func(err error) {
		slog.Warn("expiration digest not delivered", "error", err)
	})
	if settings != nil {
		sched.OnStatus = func(st mail.Status) { bg.do(func() { settings.SetStatus(st) }) }
		settings.AttachScheduler(sched)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = sched.Run(ctx) })
	wg.Go(func() {
		b.Service().RunLastUsedFlusher(ctx, core.LastUsedFlushInterval, func(err error) {
			slog.Error("could not save last-used times", "error", err)
		})
	})
	<-ctx.Done()
	if settings != nil {
		settings.StopServer()
	}
	wg.Wait()
}

// newBorder is container.NewBorder with its objects in reading order (top,
// left, centre, right, bottom) rather than centre first: Tab moves the
// focus through a container's objects in their order.
func newBorder(top, bottom, left, right fyne.CanvasObject, center ...fyne.CanvasObject) *fyne.Container {
	c := container.NewBorder(top, bottom, left, right, center...)
	var objs []fyne.CanvasObject
	for _, o := range []fyne.CanvasObject{top, left} {
		if o != nil {
			objs = append(objs, o)
		}
	}
	objs = append(objs, center...)
	for _, o := range []fyne.CanvasObject{right, bottom} {
		if o != nil {
			objs = append(objs, o)
		}
	}
	c.Objects = objs
	return c
}
