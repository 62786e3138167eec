package gui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
)

// runner is the one bridge between background work and widgets: every
// screen, the scheduler's status callback, the verification API switch and
// the ticker go through it, and it is the only place that calls fyne.Do.
// The window uses fyneRunner; tests inject one that queues the UI updates
// and runs them when the test waits, on the test's goroutine.
type runner interface {
	// run calls work off the UI goroutine, then the func it returns, if
	// not nil, on the UI goroutine.
	run(work func() (apply func()))
	// do runs f on the UI goroutine; background goroutines (a server that
	// stops, the scheduler reporting its status) call it.
	do(f func())
	// after runs f on the UI goroutine after d, unless stop is called
	// first.
	after(d time.Duration, f func()) (stop func() bool)
	// every runs f on the UI goroutine every d until ctx ends.
	every(ctx context.Context, d time.Duration, f func())
}

// fyneRunner is the window's runner: work on its own goroutine, widget
// changes through fyne.Do.
type fyneRunner struct{}

var _ runner = fyneRunner{}

func (fyneRunner) run(work func() func()) {
	go func() {
		if apply := work(); apply != nil {
			fyne.Do(apply)
		}
	}()
}

func (fyneRunner) do(f func()) { fyne.Do(f) }

func (fyneRunner) after(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, func() { fyne.Do(f) }).Stop
}

func (fyneRunner) every(ctx context.Context, d time.Duration, f func()) {
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fyne.Do(f)
			}
		}
	}()
}
