package mail_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/smtptest"
	"github.com/keydesk/keydesk/mail"
)

// fakeClock is a core.Clock and mail.Timer that only moves when the test advances it. Each
// After call is reported on waits, so the test knows the scheduler finished
// an attempt and is waiting.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	waits  chan time.Duration
}

type fakeTimer struct {
	at   time.Time
	ch   chan time.Time
	done bool
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, waits: make(chan time.Duration, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	t := &fakeTimer{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.waits <- d
	return t.ch, func() {
		c.mu.Lock()
		t.done = true
		c.mu.Unlock()
	}
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if !t.done && !t.at.After(c.now) {
			t.done = true
			t.ch <- c.now
		}
	}
}

// nextWait returns the duration the scheduler waits for next, failing the
// test if it does not start waiting (a deadline, not a synchronisation
// sleep).
func (c *fakeClock) nextWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.waits:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("the scheduler did not start waiting")
		return 0
	}
}

// runScheduler starts s.Run and stops it when the test ends.
func runScheduler(t *testing.T, s *mail.Scheduler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
}

func TestSchedulerRetriesWithBackoffUntilServerRecovers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    error // answer at the end of DATA
		down    bool  // connection refused
		wantErr string
	}{
		{name: "4xx", fail: &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 5}, Message: "too busy"}, wantErr: "too busy"},
		{name: "5xx", fail: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}, wantErr: "mailbox unavailable"},
		{name: "down", down: true, wantErr: "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			srv := smtptest.Start(t, smtptest.Options{})
			e.configure(t, srv, mail.SecurityNone)
			if tc.down {
				srv.Close()
			} else {
				srv.SetFail(tc.fail)
			}
			e.addKey(t, "Expiring-soon", slotT.Add(5*time.Hour), 2)

			start := slotT.Add(10 * time.Minute)
			clk := newFakeClock(start)
			var statuses []mail.Status
			var smu sync.Mutex
			s := &mail.Scheduler{Deliverer: e.d, Clock: clk, Timer: clk, OnStatus: func(st mail.Status) {
				smu.Lock()
				statuses = append(statuses, st)
				smu.Unlock()
			}}
			runScheduler(t, s)

			// First attempt on start fails: retry in 1 min, then 2 min.
			for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
				if d := clk.nextWait(t); d != want {
					t.Fatalf("wait after failure %d = %v, want %v", i+1, d, want)
				}
				st := s.Status()
				if st.Last != mail.ResultFailed || !strings.Contains(st.LastError, tc.wantErr) ||
					!st.RetryAt.Equal(clk.Now().Add(want)) || !st.NextSlot.Equal(slotT.Add(24*time.Hour)) {
					t.Fatalf("status = %+v", st)
				}
				if !strings.Contains(st.String(), "failed at") || !strings.Contains(st.String(), "retrying at") {
					t.Errorf("status line = %q", st.String())
				}
				if !e.lastDelivered(t).IsZero() {
					t.Fatal("a failed slot was marked delivered")
				}
				if i < 2 {
					clk.Advance(want)
				}
			}
			if n := len(srv.Messages()); n != 0 {
				t.Fatalf("server accepted %d messages while failing", n)
			}
			// The server recovers; the next retry delivers.
			if tc.down {
				srv.Restart()
			} else {
				srv.SetFail(nil)
			}
			clk.Advance(4 * time.Minute)
			d := clk.nextWait(t)
			if want := slotT.Add(24 * time.Hour).Sub(clk.Now()); d != want {
				t.Errorf("wait after success = %v, want %v (until the next slot)", d, want)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server has %d messages after recovery, want exactly 1", len(msgs))
			}
			if got := keyNamesIn(parse(t, msgs[0].Data).Body("text/plain"), "Expiring-soon"); len(got) != 1 {
				t.Errorf("the digest does not list the key")
			}
			if got := e.lastDelivered(t); !got.Equal(slotT) {
				t.Errorf("last delivered = %v, want %v", got, slotT)
			}
			st := s.Status()
			if st.Last != mail.ResultSent || st.LastError != "" || !st.RetryAt.IsZero() {
				t.Errorf("status after recovery = %+v", st)
			}
			var failed, sent int
			for _, ev := range e.audits(t) {
				switch ev.Action {
				case core.ActionDigestFailed:
					failed++
				case core.ActionDigestSent:
					sent++
				}
			}
			if failed != 3 || sent != 1 {
				t.Errorf("audit has %d digest.failed and %d digest.sent, want 3 and 1", failed, sent)
			}
			smu.Lock()
			n := len(statuses)
			smu.Unlock()
			if n != 4 {
				t.Errorf("OnStatus called %d times, want 4", n)
			}
		})
	}
}

func TestSchedulerCatchUpAfterThreeMissedSlots(t *testing.T) {
	e := newEnv(t)
	srv := smtptest.Start(t, smtptest.Options{})
	e.configure(t, srv, mail.SecurityNone)
	h := time.Hour
	e.addKey(t, "Reported-already", slotT.Add(-2*h), 1)
	// Delivered at slotT; then Keydesk is closed for three slots.
	if out, err := e.d.DeliverDue(context.Background(), slotT); err != nil || out.Result != mail.ResultSent {
		t.Fatalf("first delivery = %v, %v", out.Result, err)
	}
	e.addKey(t, "Missed-day-1", slotT.Add(2*h), 1)
	e.addKey(t, "Missed-day-2", slotT.Add(26*h), 1)
	e.addKey(t, "Missed-day-3", slotT.Add(50*h), 1)
	e.addKey(t, "Missed-last-second", slotT.Add(72*h-time.Second), 1)
	e.addKey(t, "Still-ahead", slotT.Add(80*h), 1)

	clk := newFakeClock(slotT.Add(72*h + 4*h))
	s := &mail.Scheduler{Deliverer: e.d, Clock: clk, Timer: clk}
	runScheduler(t, s)
	if d := clk.nextWait(t); d != 20*h {
		t.Errorf("wait after catch-up = %v, want 20h", d)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("server has %d messages, want 2 (one before, one catch-up)", len(msgs))
	}
	p := parse(t, msgs[1].Data)
	if subj, _ := p.Header.Subject(); subj != "Company API Keys: 4 expired, 1 expiring soon, 0 idle" {
		t.Errorf("Subject = %q", subj)
	}
	if id, _ := p.Header.MessageID(); id != mail.DigestMessageID(e.store.StoreID(), slotT.Add(72*h)) {
		t.Errorf("Message-ID = %q", id)
	}
	all := []string{"Reported-already", "Missed-day-1", "Missed-day-2", "Missed-day-3", "Missed-last-second", "Still-ahead"}
	want := []string{"Missed-day-1", "Missed-day-2", "Missed-day-3", "Missed-last-second", "Still-ahead"}
	for _, part := range p.Parts {
		if got := keyNamesIn(part.Body, all...); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s lists %v, want %v", part.ContentType, got, want)
		}
	}
	if !strings.Contains(p.Body("text/plain"), "expired between 2026-11-27 11:00 UTC and 2026-11-30 11:00 UTC") {
		t.Errorf("text part does not state the catch-up window:\n%s", p.Body("text/plain"))
	}
	if got := e.lastDelivered(t); !got.Equal(slotT.Add(72 * h)) {
		t.Errorf("last delivered = %v", got)
	}
}

func TestSchedulerWaitsForEachSlot(t *testing.T) {
	e := newEnv(t)
	srv := smtptest.Start(t, smtptest.Options{})
	e.configure(t, srv, mail.SecurityNone)
	h := time.Hour
	// Nothing to report at slotT: marked without a message.
	if out, err := e.d.DeliverDue(context.Background(), slotT); err != nil || out.Result != mail.ResultNothing {
		t.Fatalf("DeliverDue = %v, %v", out.Result, err)
	}
	e.addKey(t, "Expires-in-two-days", slotT.Add(50*h), 1)

	clk := newFakeClock(slotT.Add(h))
	var rmu sync.Mutex
	var results []mail.Result
	s := &mail.Scheduler{Deliverer: e.d, Clock: clk, Timer: clk, OnResult: func(r mail.Result) {
		rmu.Lock()
		results = append(results, r)
		rmu.Unlock()
	}}
	runScheduler(t, s)
	if d := clk.nextWait(t); d != 23*h {
		t.Fatalf("first wait = %v, want 23h", d)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("sent %d messages before the slot", n)
	}
	// A trigger (settings saved) re-checks without sending twice.
	s.Trigger()
	if d := clk.nextWait(t); d != 23*h {
		t.Fatalf("wait after trigger = %v, want 23h", d)
	}
	clk.Advance(23*h - time.Second)
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("sent %d messages a second before the slot", n)
	}
	clk.Advance(time.Second)
	if d := clk.nextWait(t); d != 24*h {
		t.Fatalf("wait after the slot = %v, want 24h", d)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("sent %d messages at the slot, want 1", n)
	}
	st := s.Status()
	if st.Last != mail.ResultSent || !st.LastSlot.Equal(slotT.Add(24*h)) || !st.NextSlot.Equal(slotT.Add(48*h)) {
		t.Errorf("status = %+v", st)
	}
	if want := "Last result: sent the digest for 2026-11-28 11:00 UTC at 2026-11-28 11:00 UTC."; st.String() != want {
		t.Errorf("status line = %q, want %q", st.String(), want)
	}
	// OnResult hears every attempt as it ended (the status line keeps
	// the last real result instead).
	rmu.Lock()
	defer rmu.Unlock()
	if got, want := fmt.Sprint(results), fmt.Sprint([]mail.Result{mail.ResultUpToDate, mail.ResultUpToDate, mail.ResultSent}); got != want {
		t.Errorf("OnResult heard %s, want %s", got, want)
	}
}

// LastResult is one sentence per result, times in the given zone, the
// error without a doubled full stop.
func TestStatusLastResult(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	slot := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	at := slot.Add(5 * time.Minute)
	for _, tc := range []struct {
		st   mail.Status
		want string
	}{
		{mail.Status{}, "Last result: no digest attempted since Keydesk started."},
		{mail.Status{Last: mail.ResultSent, LastSlot: slot, LastTime: at}, "Last result: sent the digest for 2026-11-27 11:00 UTC at 2026-11-27 12:05 CET."},
		{mail.Status{Last: mail.ResultNothing, LastSlot: slot, LastTime: at}, "Last result: nothing to send for 2026-11-27 11:00 UTC (checked 2026-11-27 12:05 CET)."},
		{mail.Status{Last: mail.ResultUpToDate, LastSlot: slot}, "Last result: the digest for 2026-11-27 11:00 UTC was already delivered."},
		{mail.Status{Last: mail.ResultNotConfigured}, "Last result: not sent, because e-mail is not set up yet."},
		{mail.Status{Last: mail.ResultFailed, LastSlot: slot, LastTime: at, LastError: "connection refused.", RetryAt: at.Add(time.Minute)},
			"Last result: the digest for 2026-11-27 11:00 UTC failed at 2026-11-27 12:05 CET: connection refused; retrying at 12:06 CET."},
	} {
		if got := tc.st.LastResult(cet); got != tc.want {
			t.Errorf("LastResult = %q, want %q", got, tc.want)
		}
	}
}

// NewScheduler wires one data folder's deliverer, the workspace's clock
// and the error hook, as the window and `keydesk serve` both use it.
func TestNewScheduler(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	e := newEnv(t)
	e.configure(t, srv, mail.SecurityNone)
	e.addKey(t, "Soon", slotT.Add(time.Hour), 1)
	var errs []error
	s := mail.NewScheduler(e.store, e.kr, loadingSelector{e}, "alice", core.FixedClock(slotT.Add(time.Minute)), func(err error) { errs = append(errs, err) })
	if got := s.Clock.Now(); !got.Equal(slotT.Add(time.Minute)) {
		t.Errorf("scheduler clock = %v, want the given clock's time", got)
	}
	out, err := s.Deliverer.DeliverDue(context.Background(), s.Clock.Now())
	if err != nil || out.Result != mail.ResultSent || len(srv.Messages()) != 1 {
		t.Fatalf("DeliverDue = %+v, %v; %d messages", out, err, len(srv.Messages()))
	}
	evs := e.audits(t)
	if len(evs) == 0 || evs[len(evs)-1].Action != core.ActionDigestSent || evs[len(evs)-1].Actor != "alice" {
		t.Errorf("audit %+v, want the digest by alice", evs)
	}
	s.OnError(errors.New("x"))
	if len(errs) != 1 {
		t.Error("OnError is not the given hook")
	}
}

// Daily (the shared store's pruning) runs once per slot: on start, not
// again on a trigger within the same day, and again at the next slot,
// with the clock's time; its error goes to OnError.
func TestSchedulerRunsDailyOncePerSlot(t *testing.T) {
	e := newEnv(t)
	h := time.Hour
	var mu sync.Mutex
	var runs []time.Time
	var errs []error
	clk := newFakeClock(slotT.Add(h))
	s := &mail.Scheduler{Deliverer: e.d, Clock: clk, Timer: clk,
		Daily: func(_ context.Context, now time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			runs = append(runs, now)
			return errors.New("prune failed")
		},
		OnError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
		}}
	runScheduler(t, s)
	check := func(want ...time.Time) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(runs) != len(want) {
			t.Fatalf("Daily ran at %v, want %v", runs, want)
		}
		for i := range want {
			if !runs[i].Equal(want[i]) {
				t.Fatalf("Daily ran at %v, want %v", runs, want)
			}
		}
		n := 0
		for _, err := range errs {
			if err.Error() == "prune failed" {
				n++
			}
		}
		if n != len(want) {
			t.Fatalf("OnError heard %d Daily failures, want %d", n, len(want))
		}
	}
	clk.nextWait(t)
	check(slotT.Add(h))
	s.Trigger()
	clk.nextWait(t)
	check(slotT.Add(h))
	clk.Advance(23 * h)
	clk.nextWait(t)
	check(slotT.Add(h), slotT.Add(24*h))
}
