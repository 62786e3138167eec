package gui

import (
	"context"
	"sync"
	"time"
)

// testRunner is the tests' runner. The test driver's fyne.Do runs its
// function at once on the goroutine that calls it, so the UI updates of
// background work are queued instead and run by wait on the test's
// goroutine, as the window's UI goroutine would run them. Work runs on its
// own goroutine, as in the window; with inline set it runs at once on the
// caller's goroutine, UI update included (the keys screen's tests read the
// result right after the action). Timers and tickers never fire by
// themselves: elapse runs the timers due; tickers are only recorded.
type testRunner struct {
	inline bool

	wg      sync.WaitGroup
	mu      sync.Mutex
	queued  []func()
	timers  []testTimer
	tickers []func()
}

type testTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

var _ runner = (*testRunner)(nil)

func (r *testRunner) run(work func() func()) {
	if r.inline {
		if apply := work(); apply != nil {
			apply()
		}
		return
	}
	r.wg.Go(func() {
		if apply := work(); apply != nil {
			r.do(apply)
		}
	})
}

func (r *testRunner) do(f func()) {
	r.mu.Lock()
	r.queued = append(r.queued, f)
	r.mu.Unlock()
}

func (r *testRunner) after(d time.Duration, f func()) func() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timers = append(r.timers, testTimer{d: d, f: f})
	i := len(r.timers) - 1
	return func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		was := !r.timers[i].stopped
		r.timers[i].stopped = true
		return was
	}
}

func (r *testRunner) every(_ context.Context, _ time.Duration, f func()) {
	r.mu.Lock()
	r.tickers = append(r.tickers, f)
	r.mu.Unlock()
}

// wait blocks until every piece of work started so far (and any work its
// UI updates start) has finished and its UI update has run.
func (r *testRunner) wait() {
	for {
		r.wg.Wait()
		r.mu.Lock()
		q := r.queued
		r.queued = nil
		r.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, apply := range q {
			apply()
		}
	}
}

// elapse runs every pending timer due within d.
func (r *testRunner) elapse(d time.Duration) {
	r.mu.Lock()
	var due []func()
	for i := range r.timers {
		if t := &r.timers[i]; !t.stopped && t.d <= d {
			t.stopped = true
			due = append(due, t.f)
		}
	}
	r.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// bgWait waits for the background work of a view's runner (a *testRunner).
func bgWait(r runner) { r.(*testRunner).wait() }
