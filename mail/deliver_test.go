package mail_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/smtptest"
	"github.com/keydesk/keydesk/mail"
)

// slotT is the 11:00 UTC slot most tests deliver.
var slotT = time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)

func TestDeliverDueSendsDigestWithExactKeys(t *testing.T) {
	e := newEnv(t)
	srv := smtptest.Start(t, smtptest.Options{})
	e.configure(t, srv, mail.SecurityNone, "Admin One <admin1@example.com>", "admin2@example.com", "admin3@example.org")
	day := 24 * time.Hour
	// Boundaries of (T-24h, T] and (T, T+7d].
	e.addKey(t, "Out-before-window", slotT.Add(-day), 1)
	e.addKey(t, "Expired-first-second", slotT.Add(-day+time.Second), 2)
	e.addKey(t, "Expired-at-slot", slotT, 1)
	e.addKey(t, "Expiring-next-second", slotT.Add(time.Second), 0)
	e.addKey(t, "Expiring-at-horizon", slotT.Add(7*day), 3)
	e.addKey(t, "Out-after-horizon", slotT.Add(7*day+time.Second), 1)

	now := slotT.Add(3 * time.Minute)
	out, err := e.d.DeliverDue(context.Background(), now)
	if err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	if out.Result != mail.ResultSent || !out.Slot.Equal(slotT) {
		t.Fatalf("outcome = %v %v, want sent for %v", out.Result, out.Slot, slotT)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "keydesk@example.com" {
		t.Errorf("MAIL FROM = %q", m.From)
	}
	wantRcpt := []string{"admin1@example.com", "admin2@example.com", "admin3@example.org"}
	if !slices.Equal(m.To, wantRcpt) {
		t.Errorf("RCPT TO = %v, want %v", m.To, wantRcpt)
	}
	p := parse(t, m.Data)
	if subj, _ := p.Header.Subject(); subj != "Company API Keys: 2 expired, 2 expiring soon, 0 idle" {
		t.Errorf("Subject = %q", subj)
	}
	if id, _ := p.Header.MessageID(); id != mail.DigestMessageID(e.store.StoreID(), slotT) ||
		id != "digest-20261127T1100Z."+e.store.StoreID()+"@keydesk" {
		t.Errorf("Message-ID = %q", id)
	}
	if date, err := p.Header.Date(); err != nil || !date.Equal(now) {
		t.Errorf("Date = %v, %v; want %v", date, err, now)
	}
	if v := p.Header.Get("MIME-Version"); v != "1.0" {
		t.Errorf("MIME-Version = %q", v)
	}
	from, _ := p.Header.AddressList("From")
	if len(from) != 1 || from[0].Address != "keydesk@example.com" || from[0].Name != "Keydesk" {
		t.Errorf("From = %v", from)
	}
	to, _ := p.Header.AddressList("To")
	var toAddrs []string
	for _, a := range to {
		toAddrs = append(toAddrs, a.Address)
	}
	if !slices.Equal(toAddrs, wantRcpt) {
		t.Errorf("To header = %v, want %v", toAddrs, wantRcpt)
	}
	if !slices.Equal(p.ContentTypes(), []string{"text/plain", "text/html"}) {
		t.Fatalf("parts = %v, want text/plain then text/html", p.ContentTypes())
	}
	all := []string{"Out-before-window", "Expired-first-second", "Expired-at-slot", "Expiring-next-second", "Expiring-at-horizon", "Out-after-horizon"}
	want := []string{"Expired-first-second", "Expired-at-slot", "Expiring-next-second", "Expiring-at-horizon"}
	for _, ct := range p.ContentTypes() {
		body := p.Body(ct)
		if got := keyNamesIn(body, all...); !slices.Equal(got, want) {
			t.Errorf("%s lists %v, want %v (expired first, soonest first)", ct, got, want)
		}
		for _, s := range []string{"2026-11-26 11:00:01 UTC", "2026-11-27 11:00:00 UTC", "2026-12-04 11:00:00 UTC",
			"2 scopes", "3 scopes", "0 scopes", "kdk_", "2026-11-26 11:00 UTC", "2026-12-04 11:00 UTC"} {
			if !strings.Contains(body, s) {
				t.Errorf("%s part lacks %q", ct, s)
			}
		}
	}
	if !strings.Contains(p.Body("text/plain"), "EXPIRED (2) - keys that expired between 2026-11-26 11:00 UTC and 2026-11-27 11:00 UTC") {
		t.Errorf("text part does not state the expired window:\n%s", p.Body("text/plain"))
	}
	if strings.Contains(p.Body("text/plain"), "<") {
		t.Errorf("text part contains markup:\n%s", p.Body("text/plain"))
	}
	if got := e.lastDelivered(t); !got.Equal(slotT) {
		t.Errorf("last delivered = %v, want %v", got, slotT)
	}
	evs := e.audits(t)
	if len(evs) != 2 || evs[1].Action != core.ActionDigestSent || !strings.Contains(evs[1].Detail, out.MessageID) {
		t.Errorf("audit = %+v, want settings.changed then digest.sent", evs)
	}

	// Same slot again: nothing more is sent.
	out, err = e.d.DeliverDue(context.Background(), now.Add(time.Hour))
	if err != nil || out.Result != mail.ResultUpToDate {
		t.Fatalf("second DeliverDue = %v, %v; want up to date", out.Result, err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server has %d messages after a second DeliverDue, want 1", n)
	}
}

func TestDeliverDueNothingToSend(t *testing.T) {
	e := newEnv(t)
	srv := smtptest.Start(t, smtptest.Options{})
	e.configure(t, srv, mail.SecurityNone)
	e.addKey(t, "Far-future", slotT.Add(30*24*time.Hour), 1)
	e.addKey(t, "Long-expired", slotT.Add(-48*time.Hour), 1)

	out, err := e.d.DeliverDue(context.Background(), slotT.Add(time.Minute))
	if err != nil || out.Result != mail.ResultNothing {
		t.Fatalf("DeliverDue = %v, %v; want nothing to send", out.Result, err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages, want none", n)
	}
	if got := e.lastDelivered(t); !got.Equal(slotT) {
		t.Errorf("last delivered = %v, want %v (an empty slot is marked)", got, slotT)
	}
	evs := e.audits(t)
	if last := evs[len(evs)-1]; last.Action != core.ActionDigestEmpty {
		t.Errorf("last audit = %+v, want digest.nothing", last)
	}
}

func TestDeliverDueNotConfigured(t *testing.T) {
	e := newEnv(t)
	e.addKey(t, "Soon", slotT.Add(time.Hour), 1)
	out, err := e.d.DeliverDue(context.Background(), slotT.Add(time.Minute))
	if !errors.Is(err, mail.ErrNotConfigured) || out.Result != mail.ResultNotConfigured {
		t.Fatalf("DeliverDue = %v, %v; want ErrNotConfigured", out.Result, err)
	}
	if got := e.lastDelivered(t); !got.IsZero() {
		t.Errorf("last delivered = %v, want none", got)
	}
}

func TestAuthPlainOverStartTLS(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	srv := smtptest.Start(t, smtptest.Options{TLS: serverTLS, User: "keydesk-user", Pass: "s3cret-Pa55word"})

	e := newEnv(t)
	e.d.TLSConfig = clientTLS
	s := e.configure(t, srv, mail.SecurityStartTLS)
	if s.Host != "127.0.0.1" {
		t.Fatalf("test server host = %q", s.Host)
	}
	e.addKey(t, "Soon-expiring", slotT.Add(2*time.Hour), 1)

	if _, err := e.d.DeliverDue(context.Background(), slotT); err != nil {
		t.Fatalf("DeliverDue over STARTTLS with AUTH: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	if !msgs[0].TLS || msgs[0].AuthUser != "keydesk-user" {
		t.Errorf("message received with TLS=%v user=%q; want TLS and keydesk-user", msgs[0].TLS, msgs[0].AuthUser)
	}

	// A wrong password fails, is audited, and the password never shows.
	wrong := "Wr0ng-password-xyz"
	if err := mail.SaveSettings(e.store, e.kr, mail.Change{Settings: s, Password: &wrong, Time: slotT}); err != nil {
		t.Fatal(err)
	}
	_, err := e.d.DeliverDue(context.Background(), slotT.Add(24*time.Hour))
	if err == nil {
		t.Fatal("DeliverDue with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), srv.Password()) {
		t.Errorf("error reveals a password: %v", err)
	}
	for _, ev := range e.audits(t) {
		if strings.Contains(ev.Detail, wrong) || strings.Contains(ev.Detail, srv.Password()) {
			t.Errorf("audit entry reveals a password: %+v", ev)
		}
	}
	if got := e.lastDelivered(t); !got.Equal(slotT) {
		t.Errorf("last delivered = %v, want %v (failed slot not marked)", got, slotT)
	}
}

func TestPasswordRedactedFromServerReplies(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	srv := smtptest.Start(t, smtptest.Options{TLS: serverTLS, User: "u", Pass: "right-password", EchoCredentials: true})
	s := mail.Settings{Host: srv.Host(), Port: srv.Port(), Security: mail.SecurityStartTLS, Username: "u", From: "k@example.com", To: []string{"a@example.com"}}
	msg, err := mail.BuildTest(s, "store", slotT)
	if err != nil {
		t.Fatal(err)
	}
	const wrong = "Echoed-Secret-77"
	err = (&mail.Sender{Settings: s, Password: wrong, TLSConfig: clientTLS}).Send(context.Background(), msg)
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "invalid login u/[redacted]") {
		t.Errorf("error = %q, want the echoed password redacted", err)
	}
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Errorf("the redacted error no longer wraps the *smtp.SMTPError: %#v", err)
	}
}

func TestStartTLSRejectsUntrustedCertificate(t *testing.T) {
	serverTLS, _ := testCert(t)
	srv := smtptest.Start(t, smtptest.Options{TLS: serverTLS})
	e := newEnv(t) // no RootCAs: the self-signed certificate is not trusted
	e.configure(t, srv, mail.SecurityStartTLS)
	e.addKey(t, "Soon", slotT.Add(time.Hour), 1)
	_, err := e.d.DeliverDue(context.Background(), slotT)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("DeliverDue to an untrusted certificate = %v, want a certificate error", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestStartTLSRequiredWhenServerLacksIt(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{}) // no TLS config: no STARTTLS offered
	e := newEnv(t)
	e.configure(t, srv, mail.SecurityStartTLS)
	e.addKey(t, "Soon", slotT.Add(time.Hour), 1)
	_, err := e.d.DeliverDue(context.Background(), slotT)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("DeliverDue = %v, want a STARTTLS error", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages in plain text", n)
	}
}

func TestImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	srv := smtptest.Start(t, smtptest.Options{TLS: serverTLS, ImplicitTLS: true, User: "u", Pass: "implicit-pass"})
	e := newEnv(t)
	e.d.TLSConfig = clientTLS
	e.configure(t, srv, mail.SecurityTLS, "ops@example.com")
	e.addKey(t, "Soon", slotT.Add(time.Hour), 1)
	if _, err := e.d.DeliverDue(context.Background(), slotT); err != nil {
		t.Fatalf("DeliverDue over implicit TLS: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].AuthUser != "u" {
		t.Fatalf("received %+v, want one message over TLS from user u", msgs)
	}
}

func TestPlainToNonLoopbackRefused(t *testing.T) {
	s := mail.Settings{Host: "smtp.example.com", Port: 25, Security: mail.SecurityNone, From: "k@example.com", To: []string{"a@example.com"}}
	snd := &mail.Sender{Settings: s}
	msg, err := mail.BuildTest(s, "store", slotT)
	if err != nil {
		t.Fatal(err)
	}
	err = snd.Send(context.Background(), msg)
	var fe *mail.FieldError
	if !errors.As(err, &fe) || fe.Field != "security" || !strings.Contains(err.Error(), "allowed only to this computer") {
		t.Fatalf("Send = %v, want the plain-SMTP refusal", err)
	}
	e := newEnv(t)
	err = mail.SaveSettings(e.store, e.kr, mail.Change{Settings: s})
	if !errors.As(err, &fe) || fe.Field != "security" {
		t.Fatalf("SaveSettings = %v, want the plain-SMTP refusal", err)
	}
	if _, err := mail.LoadSettings(e.store); !errors.Is(err, mail.ErrNotConfigured) {
		t.Errorf("refused settings were stored: %v", err)
	}
}

// nonLoopbackIP returns an IP address of this computer that is not a
// loopback address, or skips the test.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this computer has no non-loopback IPv4 address")
	return ""
}

// A resolver can answer "localhost" with any address. Plain SMTP (with the
// password in clear text) goes out only when the connection really ended
// on this computer: the name passing Validate is not enough.
func TestPlainLoginOnlyOverALoopbackConnection(t *testing.T) {
	const password = "Plain-Pass-4711"
	remote := smtptest.Start(t, smtptest.Options{Addr: nonLoopbackIP(t) + ":0", User: "u", Pass: password})
	local := smtptest.Start(t, smtptest.Options{User: "u", Pass: password})
	s := mail.Settings{Host: "localhost", Port: 25, Security: mail.SecurityNone, Username: "u", From: "k@example.com", To: []string{"a@example.com"}}
	msg, err := mail.BuildTest(s, "store", slotT)
	if err != nil {
		t.Fatal(err)
	}
	// resolveTo plays a resolver answering "localhost" with srv's address.
	resolveTo := func(srv *smtptest.Server) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != net.JoinHostPort("localhost", "25") {
				t.Errorf("dialled %q, want localhost:25", addr)
			}
			return (&net.Dialer{}).DialContext(ctx, network, srv.Addr())
		}
	}

	err = (&mail.Sender{Settings: s, Password: password, DialContext: resolveTo(remote)}).Send(context.Background(), msg)
	if !errors.Is(err, mail.ErrPlainNotLoopback) || strings.Contains(err.Error(), password) {
		t.Fatalf("Send to a spoofed localhost = %v, want ErrPlainNotLoopback without the password", err)
	}
	if msgs := remote.Messages(); len(msgs) != 0 {
		t.Fatalf("the non-loopback server received %+v", msgs)
	}

	if err := (&mail.Sender{Settings: s, Password: password, DialContext: resolveTo(local)}).Send(context.Background(), msg); err != nil {
		t.Fatalf("Send to localhost on 127.0.0.1: %v", err)
	}
	if msgs := local.Messages(); len(msgs) != 1 || msgs[0].AuthUser != "u" {
		t.Fatalf("the loopback server received %+v, want one message from u", msgs)
	}
}

func TestCommandTimeout(t *testing.T) {
	// A server that accepts connections and never greets.
	ln := listenAt(t, "127.0.0.1:0")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	s := mail.Settings{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Security: mail.SecurityNone, From: "k@example.com", To: []string{"a@example.com"}}
	msg, _ := mail.BuildTest(s, "store", slotT)
	snd := &mail.Sender{Settings: s, CommandTimeout: 200 * time.Millisecond}
	err := snd.Send(context.Background(), msg)
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("Send to a silent server = %v, want a timeout", err)
	}
}

func TestServerErrorsNotMarked(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail error
	}{
		{"4xx", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}},
		{"5xx", &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			srv := smtptest.Start(t, smtptest.Options{})
			srv.SetFail(tc.fail)
			e.configure(t, srv, mail.SecurityNone)
			e.addKey(t, "Soon", slotT.Add(time.Hour), 1)
			out, err := e.d.DeliverDue(context.Background(), slotT)
			if err == nil || out.Result != mail.ResultFailed || !strings.Contains(err.Error(), tc.fail.(*smtp.SMTPError).Message) {
				t.Fatalf("DeliverDue = %v, %v; want the server's error", out.Result, err)
			}
			if !e.lastDelivered(t).IsZero() {
				t.Error("a failed slot was marked delivered")
			}
			evs := e.audits(t)
			if last := evs[len(evs)-1]; last.Action != core.ActionDigestFailed || !strings.Contains(last.Detail, tc.fail.(*smtp.SMTPError).Message) {
				t.Errorf("last audit = %+v, want digest.failed with the error", last)
			}
			srv.SetFail(nil)
			if out, err := e.d.DeliverDue(context.Background(), slotT.Add(time.Minute)); err != nil || out.Result != mail.ResultSent {
				t.Fatalf("retry = %v, %v; want sent", out.Result, err)
			}
			if n := len(srv.Messages()); n != 1 {
				t.Errorf("server has %d messages, want exactly 1", n)
			}
		})
	}
}

func TestSendTest(t *testing.T) {
	e := newEnv(t)
	srv := smtptest.Start(t, smtptest.Options{})
	e.configure(t, srv, mail.SecurityNone, "a@example.com", "b@example.com")
	msg, err := e.d.SendTest(context.Background(), slotT)
	if err != nil {
		t.Fatalf("SendTest: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"a@example.com", "b@example.com"}) {
		t.Fatalf("received %+v", msgs)
	}
	p := parse(t, msgs[0].Data)
	if subj, _ := p.Header.Subject(); subj != mail.TestSubject {
		t.Errorf("Subject = %q", subj)
	}
	if id, _ := p.Header.MessageID(); id != msg.ID || !strings.HasPrefix(id, "test-") {
		t.Errorf("Message-ID = %q, want %q", id, msg.ID)
	}
	if !strings.Contains(p.Body("text/plain"), "test message from Keydesk") || !strings.Contains(p.Body("text/html"), "test message from Keydesk") {
		t.Errorf("parts = %v", p.Parts)
	}
	evs := e.audits(t)
	if last := evs[len(evs)-1]; last.Action != core.ActionTestMail {
		t.Errorf("last audit = %+v, want mail.test", last)
	}
	if !e.lastDelivered(t).IsZero() {
		t.Error("a test message marked a slot delivered")
	}
}

// A test e-mail built from values (the window's form, not yet saved) goes
// out with exactly those settings and password, and is audited.
func TestTestMailSendsTheGivenValues(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	var audit []core.AuditEvent
	log := auditFunc(func(ev core.AuditEvent) error { audit = append(audit, ev); return nil })
	s := mail.Settings{Host: srv.Host(), Port: srv.Port(), Security: mail.SecurityNone, From: "keydesk@example.com", To: []string{"form@example.com"}}
	if _, err := (mail.TestMail{Settings: s}).Send(context.Background(), log, "store-x", "alice", slotT); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"form@example.com"}) {
		t.Fatalf("received %+v, want one message to the form's address", msgs)
	}
	if len(audit) != 1 || audit[0].Action != core.ActionTestMail || audit[0].Actor != "alice" {
		t.Fatalf("audit %+v", audit)
	}
	// A username without a password: refused before connecting, audited.
	s.Username = "someone"
	audit = nil
	if _, err := (mail.TestMail{Settings: s}).Send(context.Background(), log, "store-x", "alice", slotT); !errors.Is(err, mail.ErrNoPassword) {
		t.Fatalf("no password: %v, want ErrNoPassword", err)
	}
	if len(audit) != 1 || !strings.Contains(audit[0].Detail, "failed") || len(srv.Messages()) != 1 {
		t.Fatalf("the failed attempt: audit %+v, %d messages", audit, len(srv.Messages()))
	}
}

type auditFunc func(core.AuditEvent) error

func (f auditFunc) AppendAudit(ev core.AuditEvent) error { return f(ev) }
