package gui

import (
	"context"
	"log/slog"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/workspace"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
)

// bgWork runs work off the UI goroutine and applies its result to widgets
// with fyne.Do. Views count their pending work so tests can wait for it
// instead of sleeping.
type bgWork struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	queued []func()
}

// bgDeferred is set by tests: the test driver's fyne.Do runs its function
// at once on the calling goroutine, so UI updates are queued instead and run
// by wait on the test's goroutine, as the app's UI goroutine would.
var bgDeferred bool

// run calls work on a new goroutine; the func it returns (if any) is run on
// the UI goroutine through fyne.Do.
func (b *bgWork) run(work func() func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		apply := work()
		switch {
		case apply == nil:
		case bgDeferred:
			b.mu.Lock()
			b.queued = append(b.queued, apply)
			b.mu.Unlock()
		default:
			fyne.Do(apply)
		}
	}()
}

// wait blocks until every piece of work started so far (and any work its
// UI updates start) has finished and been applied. Tests call it; the UI
// never does.
func (b *bgWork) wait() {
	for {
		b.wg.Wait()
		b.mu.Lock()
		q := b.queued
		b.queued = nil
		b.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, apply := range q {
			apply()
		}
	}
}

// newFieldMessage returns the hidden, danger-styled label shown under a
// field when its value is refused.
func newFieldMessage() *widget.Label {
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// setFieldMessage shows msg under a field, or hides the label when msg is "".
func setFieldMessage(l *widget.Label, msg string) {
	l.SetText(msg)
	if msg == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

// runBackground runs the window's background work until ctx ends: the
// daily digest scheduler (its status shown in settings), the last-used
// flusher of the key service, and the verification API when started from
// settings. It returns after the last flush and the server's shutdown.
func runBackground(ctx context.Context, b *workspace.Workspace, settings *SettingsView) {
	sched := &mail.Scheduler{
		Deliverer: mail.NewDeliverer(b.Store, b.Keyring, b.Service, workspace.Actor()),
		Clock:     mail.RealClock{Clock: b.Clock},
		OnError: func(err error) {
			slog.Warn("expiration digest not delivered", "error", err)
		},
	}
	if settings != nil {
		sched.OnStatus = func(st mail.Status) { fyne.Do(func() { settings.setStatus(st) }) }
		settings.attachScheduler(sched)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = sched.Run(ctx) })
	wg.Go(func() {
		b.Service.RunLastUsedFlusher(ctx, core.LastUsedFlushInterval, func(err error) {
			slog.Error("could not save last-used times", "error", err)
		})
	})
	<-ctx.Done()
	if settings != nil {
		settings.stopServer()
	}
	wg.Wait()
}
