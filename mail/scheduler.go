package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
)

// StateStore is what the Deliverer needs from the store: the keys (read
// through the expiry index), the audit log, the store id and the last
// delivered slot. storage.Store implements it.
type StateStore interface {
	core.Store
	// StoreID is the store's fixed random id (it goes into Message-IDs).
	StoreID() string
	// LastDeliveredSlot returns the last slot marked delivered, zero if
	// none.
	LastDeliveredSlot() (time.Time, error)
	// MarkSlotDelivered records slot as delivered together with ev.
	MarkSlotDelivered(slot time.Time, ev core.AuditEvent) error
}

// Result is how the last delivery attempt ended.
type Result string

// Results.
const (
	ResultNone          Result = ""                // nothing attempted yet
	ResultSent          Result = "sent"            // the digest was accepted by the server
	ResultNothing       Result = "nothing to send" // all three lists were empty; the slot is marked
	ResultFailed        Result = "error"           // sending failed; retried later
	ResultNotConfigured Result = "not set up"      // no e-mail settings; not retried until they change
	ResultUpToDate      Result = "up to date"      // the due slot was already delivered
)

// Outcome is what one DeliverDue did.
type Outcome struct {
	// Slot is the due slot considered.
	Slot time.Time
	// Result says what happened.
	Result Result
	// Digest is what was (or would have been) sent; zero for
	// ResultUpToDate.
	Digest core.Digest
	// MessageID and To are set when a message was sent.
	MessageID string
	To        []string
}

// String is one sentence for people, as `keydesk digest send` prints it.
func (o Outcome) String() string {
	slot := o.Slot.UTC().Format(SlotLayout)
	switch o.Result {
	case ResultSent:
		return fmt.Sprintf("Sent the digest for %s (%d expired, %d expiring soon, %d idle) to %s.",
			slot, len(o.Digest.Expired), len(o.Digest.Expiring), len(o.Digest.Idle), strings.Join(o.To, ", "))
	case ResultNothing:
		return fmt.Sprintf("Nothing to send for %s: no key expired or became idle since %s or expires within 7 days.",
			slot, o.Digest.Since.UTC().Format(SlotLayout))
	case ResultUpToDate:
		return fmt.Sprintf("The digest for %s was already delivered; the next slot is %s.",
			slot, core.NextSlot(o.Slot).Format(SlotLayout))
	case ResultNotConfigured:
		return fmt.Sprintf("The digest for %s was not sent: %s.", slot, ErrNotConfigured)
	}
	return fmt.Sprintf("The digest for %s was not sent.", slot)
}

// Deliverer delivers the digest of the latest due slot exactly once.
type Deliverer struct {
	Store StateStore
	// Keys selects the digest; nil means core.SelectDigest on Store.
	Keys      Selector
	Settings  SettingsStore
	Passwords PasswordStore
	// Actor names who acts in the audit log (the OS user).
	Actor string
	// TLSConfig is passed to the Sender (tests set RootCAs).
	TLSConfig *tls.Config
	// CommandTimeout, when set, replaces the Sender's default.
	CommandTimeout time.Duration
	// Claim, when set, is asked for each slot before anything else, so
	// that of several processes sharing one store exactly one delivers it
	// (pgstore.Store.ClaimSlot). A slot not claimed (another process holds
	// it, or delivered it) is reported as ResultUpToDate. The claim is
	// released as delivered unless the attempt failed or e-mail is not set
	// up.
	Claim func(ctx context.Context, slot time.Time) (claimed bool, release func(delivered bool) error, err error)
	// Denied, when set, lists the keys with denied attempts in the 24
	// hours before a slot (core.SelectDenied over the usage counts): the
	// digest's fourth list.
	Denied func(slot time.Time) ([]core.DeniedKey, error)

	mu sync.Mutex
}

// Store is everything the Deliverer needs from one store; storage.Store
// implements it.
type Store interface {
	StateStore
	SettingsStore
}

// Selector selects the keys of a slot's digest. *core.Service implements
// it by reading the store's expiry index and its in-memory records.
type Selector interface {
	SelectDigest(slot, lastDelivered time.Time) (core.Digest, error)
}

// NewDeliverer returns a Deliverer for a store, its keyring and the key
// service over them (sel may be nil: the digest is then read from the
// store's records); actor names who acts in the audit log.
func NewDeliverer(st Store, pw PasswordStore, sel Selector, actor string) *Deliverer {
	return &Deliverer{Store: st, Settings: st, Passwords: pw, Keys: sel, Actor: actor}
}

// DeliverDue delivers the digest of the latest slot at or before now,
// unless that slot was already delivered. The digest covers every key that
// expired since the last delivered slot (core.SelectDigest), so one
// catch-up message replaces every missed one.
//
//   - nothing to report: nothing is sent, the slot is marked delivered
//     (audit digest.nothing);
//   - sent: the slot is marked delivered (audit digest.sent);
//   - failure: the slot is not marked; the error is audited
//     (digest.failed) and returned, so that the caller retries.
//   - no settings: ErrNotConfigured, nothing marked or audited.
func (d *Deliverer) DeliverDue(ctx context.Context, now time.Time) (Outcome, error) {
	if d.Claim == nil {
		return d.deliverDue(ctx, now)
	}
	slot := core.SlotAtOrBefore(now)
	claimed, release, err := d.Claim(ctx, slot)
	if err != nil {
		return Outcome{Slot: slot}, fmt.Errorf("claim digest slot: %w", err)
	}
	if !claimed {
		return Outcome{Slot: slot, Result: ResultUpToDate}, nil
	}
	out, err := d.deliverDue(ctx, now)
	delivered := err == nil && out.Result != ResultFailed && out.Result != ResultNotConfigured
	if rerr := release(delivered); rerr != nil && err == nil {
		err = fmt.Errorf("release digest slot: %w", rerr)
	}
	return out, err
}

// deliverDue is DeliverDue without the claim.
func (d *Deliverer) deliverDue(ctx context.Context, now time.Time) (Outcome, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	slot := core.SlotAtOrBefore(now)
	out := Outcome{Slot: slot}
	last, err := d.Store.LastDeliveredSlot()
	if err != nil {
		return out, fmt.Errorf("read last delivered slot: %w", err)
	}
	if !last.IsZero() && !slot.After(last) {
		out.Result = ResultUpToDate
		return out, nil
	}
	since, err := CatchUpSince(last, d.Settings)
	if err != nil {
		return out, err
	}
	var dg core.Digest
	if d.Keys != nil {
		dg, err = d.Keys.SelectDigest(slot, since)
	} else {
		dg, err = core.SelectDigest(d.Store, slot, since)
	}
	if err != nil {
		return out, err
	}
	if d.Denied != nil {
		if dg.Denied, err = d.Denied(slot); err != nil {
			return out, err
		}
	}
	out.Digest = dg
	ev := core.AuditEvent{Time: now.UTC(), Actor: d.Actor}
	if dg.Empty() {
		out.Result = ResultNothing
		ev.Action = core.ActionDigestEmpty
		ev.Detail = fmt.Sprintf("slot %s: no key expired or became idle since %s or expires within 7 days",
			slot.Format(SlotLayout), dg.Since.Format(SlotLayout))
		if err := d.Store.MarkSlotDelivered(slot, ev); err != nil {
			return out, fmt.Errorf("mark slot delivered: %w", err)
		}
		return out, nil
	}
	msg, err := d.send(ctx, func(s Settings) (*Message, error) {
		return BuildDigest(s, d.Store.StoreID(), dg, now)
	})
	if errors.Is(err, ErrNotConfigured) {
		out.Result = ResultNotConfigured
		return out, err
	}
	if err != nil {
		out.Result = ResultFailed
		ev.Action = core.ActionDigestFailed
		ev.Detail = fmt.Sprintf("slot %s: %v", slot.Format(SlotLayout), err)
		if aerr := d.Store.AppendAudit(ev); aerr != nil {
			return out, errors.Join(err, fmt.Errorf("audit: %w", aerr))
		}
		return out, err
	}
	out.Result = ResultSent
	out.MessageID = msg.ID
	out.To = msg.To
	ev.Action = core.ActionDigestSent
	ev.Detail = fmt.Sprintf("slot %s: %d expired, %d expiring soon, %d idle, to %s, Message-ID <%s>",
		slot.Format(SlotLayout), len(dg.Expired), len(dg.Expiring), len(dg.Idle), strings.Join(msg.To, ", "), msg.ID)
	if err := d.Store.MarkSlotDelivered(slot, ev); err != nil {
		// The message went out but the slot is not marked: a retry
		// resends it with the same Message-ID.
		return out, fmt.Errorf("the digest was sent but could not be recorded (it may be sent again with the same Message-ID): %w", err)
	}
	return out, nil
}

// CatchUpSince returns where a digest's catch-up starts: the last delivered
// slot, or, before the first delivery, the time e-mail was set up (so that
// the first digest loses nothing that happened while the app was closed or
// SMTP was failing). Zero when neither is known: the digest then covers the
// last 24 hours.
func CatchUpSince(lastDelivered time.Time, st SettingsStore) (time.Time, error) {
	if !lastDelivered.IsZero() {
		return lastDelivered, nil
	}
	return SetupTime(st)
}

// SendTest sends the test message now, with the saved settings and
// password, and records it in the audit log (mail.test), whether it
// succeeded or not.
func (d *Deliverer) SendTest(ctx context.Context, now time.Time) (*Message, error) {
	s, err := LoadSettings(d.Settings)
	if err != nil {
		return nil, err
	}
	t := TestMail{Settings: s, TLSConfig: d.TLSConfig, CommandTimeout: d.CommandTimeout}
	if s.Username != "" {
		if t.Password, err = d.Passwords.MailPassword(); err != nil {
			return record(d.Store, d.Actor, now, nil, fmt.Errorf("read the SMTP password: %w", err))
		}
	}
	return t.Send(ctx, d.Store, d.Store.StoreID(), d.Actor, now)
}

// AuditLog is where a test e-mail's attempt is recorded.
type AuditLog interface {
	AppendAudit(ev core.AuditEvent) error
}

// TestMail is a test e-mail built from values: the settings and password
// as given (the window sends the form's, before they are saved).
type TestMail struct {
	Settings Settings
	// Password is the SMTP password; needed when Settings has a Username.
	Password string
	// TLSConfig is passed to the Sender (tests set RootCAs).
	TLSConfig *tls.Config
	// CommandTimeout, when set, replaces the Sender's default.
	CommandTimeout time.Duration
}

// Send sends the test message now and records it in log (mail.test, by
// actor), whether it succeeded or not. storeID goes into the Message-ID.
func (t TestMail) Send(ctx context.Context, log AuditLog, storeID, actor string, now time.Time) (*Message, error) {
	msg, err := t.send(ctx, storeID, now)
	return record(log, actor, now, msg, err)
}

// record writes a test e-mail's audit entry (mail.test): sent to whom, or
// why it failed.
func record(log AuditLog, actor string, now time.Time, msg *Message, err error) (*Message, error) {
	ev := core.AuditEvent{Time: now.UTC(), Actor: actor, Action: core.ActionTestMail}
	if err != nil {
		ev.Detail = fmt.Sprintf("test e-mail failed: %v", err)
	} else {
		ev.Detail = "test e-mail sent to " + strings.Join(msg.To, ", ")
	}
	if aerr := log.AppendAudit(ev); aerr != nil {
		return msg, errors.Join(err, fmt.Errorf("audit: %w", aerr))
	}
	return msg, err
}

func (t TestMail) send(ctx context.Context, storeID string, now time.Time) (*Message, error) {
	return sendBuilt(ctx, t.Settings, t.Password, t.TLSConfig, t.CommandTimeout, func(s Settings) (*Message, error) {
		return BuildTest(s, storeID, now)
	})
}

// send loads the settings and the password, builds a message and sends it.
func (d *Deliverer) send(ctx context.Context, build func(Settings) (*Message, error)) (*Message, error) {
	s, err := LoadSettings(d.Settings)
	if err != nil {
		return nil, err
	}
	var password string
	if s.Username != "" {
		if password, err = d.Passwords.MailPassword(); err != nil {
			return nil, fmt.Errorf("read the SMTP password: %w", err)
		}
	}
	return sendBuilt(ctx, s, password, d.TLSConfig, d.CommandTimeout, build)
}

// sendBuilt builds a message with the settings s and sends it with
// password (ErrNoPassword when s has a username but password is empty).
func sendBuilt(ctx context.Context, s Settings, password string, tlsConfig *tls.Config, timeout time.Duration, build func(Settings) (*Message, error)) (*Message, error) {
	if s.Username != "" && password == "" {
		return nil, ErrNoPassword
	}
	msg, err := build(s)
	if err != nil {
		return nil, err
	}
	snd := &Sender{Settings: s, Password: password, TLSConfig: tlsConfig, CommandTimeout: timeout}
	if err := snd.Send(ctx, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// Timer waits: the scheduler tells the time with a core.Clock and waits
// with a Timer. RealTimer is the real one; tests inject a fake that moves
// with their clock.
type Timer interface {
	// After returns a channel that receives once d has passed, and a
	// function that releases the timer.
	After(d time.Duration) (<-chan time.Time, func())
}

// RealTimer waits with real timers.
type RealTimer struct{}

// After starts a real timer.
func (RealTimer) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// Backoff bounds of the retries after a failed delivery.
const (
	FirstRetry = time.Minute
	MaxRetry   = time.Hour
)

// Status is what the Settings view's status line shows.
type Status struct {
	// NextSlot is the next 11:00 UTC slot.
	NextSlot time.Time
	// Last is how the last attempt ended, at LastTime, for LastSlot.
	Last     Result
	LastTime time.Time
	LastSlot time.Time
	// LastError is the error of a failed attempt (never a secret).
	LastError string
	// RetryAt is when a failed delivery is tried again (zero if none).
	RetryAt time.Time
}

// String is the status in UTC: LastResult(time.UTC).
func (s Status) String() string { return s.LastResult(time.UTC) }

// LastResult is the one sentence that says how the last delivery attempt
// ended, with times in loc, e.g. "Last result: sent the digest for
// 2026-11-27 11:00 UTC at 2026-11-27 12:00 CET.". The window's Settings
// view shows it; the text never holds a secret.
func (s Status) LastResult(loc *time.Location) string {
	slot := s.LastSlot.UTC().Format(SlotLayout)
	at := s.LastTime.In(loc).Format("2006-01-02 15:04 MST")
	switch s.Last {
	case ResultSent:
		return fmt.Sprintf("Last result: sent the digest for %s at %s.", slot, at)
	case ResultNothing:
		return fmt.Sprintf("Last result: nothing to send for %s (checked %s).", slot, at)
	case ResultUpToDate:
		return fmt.Sprintf("Last result: the digest for %s was already delivered.", slot)
	case ResultNotConfigured:
		return "Last result: not sent, because e-mail is not set up yet."
	case ResultFailed:
		text := fmt.Sprintf("Last result: the digest for %s failed at %s: %s", slot, at, strings.TrimSuffix(s.LastError, "."))
		if !s.RetryAt.IsZero() {
			text += fmt.Sprintf("; retrying at %s", s.RetryAt.In(loc).Format("15:04 MST"))
		}
		return text + "."
	}
	return "Last result: no digest attempted since Keydesk started."
}

// Scheduler runs the Deliverer in the app and in `keydesk serve`: it
// delivers due slots on start, then at every 11:00 UTC slot, retrying a
// failure with exponential backoff (1 min, 2 min, 4 min … at most 1 h)
// until it succeeds or the next slot comes.
type Scheduler struct {
	Deliverer *Deliverer
	// Clock tells the time slots are counted from; Timer waits for them.
	Clock core.Clock
	Timer Timer
	// OnStatus, if set, is called (from Run's goroutine) after every
	// attempt.
	OnStatus func(Status)
	// OnError, if set, receives every failed attempt's error.
	OnError func(error)
	// OnResult, if set, is called (from Run's goroutine) after every
	// attempt with how that attempt ended (ResultFailed for an error),
	// unlike Status, which keeps the last real result over "up to date".
	OnResult func(Result)
	// Daily, if set, runs once a day, after the first delivery attempt of
	// each slot (the admin's housekeeping of the shared store); its error
	// goes to OnError and it is not retried before the next slot.
	Daily func(ctx context.Context, now time.Time) error

	mu      sync.Mutex
	status  Status
	trigger chan struct{}
}

// NewScheduler is the digest scheduler of one data folder, as the window
// and `keydesk serve` run it: it delivers through NewDeliverer(st, pw, sel,
// actor) on real timers with clock's time, and hands every failed attempt
// (retried later) to onError.
func NewScheduler(st Store, pw PasswordStore, sel Selector, actor string, clock core.Clock, onError func(error)) *Scheduler {
	if clock == nil {
		clock = core.SystemClock{}
	}
	return &Scheduler{Deliverer: NewDeliverer(st, pw, sel, actor), Clock: clock, Timer: RealTimer{}, OnError: onError}
}

// Status returns the current status.
func (s *Scheduler) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Trigger makes Run try again now (after the settings changed, or from a
// "send now" button); it never blocks.
func (s *Scheduler) Trigger() {
	s.mu.Lock()
	if s.trigger == nil {
		s.trigger = make(chan struct{}, 1)
	}
	ch := s.trigger
	s.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run delivers due slots until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.trigger == nil {
		s.trigger = make(chan struct{}, 1)
	}
	trigger := s.trigger
	s.mu.Unlock()
	var backoff time.Duration
	var backoffSlot, dailyDone time.Time
	for {
		now := s.Clock.Now()
		out, err := s.Deliverer.DeliverDue(ctx, now)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if next := core.NextSlot(now); s.Daily != nil && !next.Equal(dailyDone) {
			dailyDone = next
			if derr := s.Daily(ctx, now); derr != nil && ctx.Err() == nil && s.OnError != nil {
				s.OnError(derr)
			}
		}
		if !out.Slot.Equal(backoffSlot) {
			// A new slot starts its retries from FirstRetry again.
			backoff, backoffSlot = 0, out.Slot
		}
		next := core.NextSlot(now)
		wait := next.Sub(now)
		st := Status{NextSlot: next}
		switch {
		case errors.Is(err, ErrNotConfigured):
			backoff = 0
			st.Last, st.LastTime, st.LastSlot = ResultNotConfigured, now, out.Slot
		case err != nil:
			backoff = nextBackoff(backoff)
			wait = min(wait, backoff)
			st.Last, st.LastTime, st.LastSlot, st.LastError = ResultFailed, now, out.Slot, err.Error()
			st.RetryAt = now.Add(wait)
			if s.OnError != nil {
				s.OnError(err)
			}
		default:
			backoff = 0
			st.Last, st.LastTime, st.LastSlot = out.Result, now, out.Slot
			if out.Result == ResultUpToDate {
				// Keep the last real result on the status line.
				prev := s.Status()
				if prev.Last != ResultNone {
					st.Last, st.LastTime, st.LastSlot = prev.Last, prev.LastTime, prev.LastSlot
				}
			}
		}
		s.mu.Lock()
		s.status = st
		s.mu.Unlock()
		if s.OnResult != nil {
			s.OnResult(attemptResult(out, err))
		}
		if s.OnStatus != nil {
			s.OnStatus(st)
		}
		c, stop := s.Timer.After(wait)
		select {
		case <-ctx.Done():
			stop()
			return ctx.Err()
		case <-c:
		case <-trigger:
			backoff = 0
		}
		stop()
	}
}

// attemptResult is how one DeliverDue ended.
func attemptResult(out Outcome, err error) Result {
	switch {
	case errors.Is(err, ErrNotConfigured):
		return ResultNotConfigured
	case err != nil:
		return ResultFailed
	}
	return out.Result
}

// nextBackoff doubles the previous wait, from FirstRetry up to MaxRetry.
func nextBackoff(prev time.Duration) time.Duration {
	if prev <= 0 {
		return FirstRetry
	}
	return min(prev*2, MaxRetry)
}
