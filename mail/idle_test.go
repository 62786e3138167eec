package mail_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/smtptest"
	"github.com/keydesk/keydesk/mail"
)

// configureAt saves settings pointing at srv at the time at (the time mail
// is set up).
func (e *env) configureAt(t *testing.T, srv *smtptest.Server, at time.Time) {
	t.Helper()
	s := mail.Settings{Host: srv.Host(), Port: srv.Port(), Security: mail.SecurityNone, From: "Keydesk <keydesk@example.com>", To: []string{"admin@example.com"}}
	if err := mail.SaveSettings(e.store, e.kr, mail.Change{Settings: s, Actor: "tester", Time: at}); err != nil {
		t.Fatalf("save settings: %v", err)
	}
}

// addUnused stores a never-used key created at created that expires at exp.
func (e *env) addUnused(t *testing.T, name string, created, exp time.Time) *core.Key {
	t.Helper()
	k := e.addKey(t, name, exp, 1)
	if err := e.store.DeleteKey(k.ID, core.AuditEvent{Action: core.ActionDelete}); err != nil {
		t.Fatal(err)
	}
	k.CreatedAt = created
	k.MAC = e.kr.Signer().SignRecord(k.MACPayload())
	if err := e.store.InsertKey(k, core.AuditEvent{Time: created, Action: core.ActionCreate, KeyID: k.ID}); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestDigestIdleListOnce delivers four consecutive daily digests: a key that
// becomes idle between two slots is listed, and counted in the subject, in
// exactly one of them; a digest with only an idle key is still sent.
func TestDigestIdleListOnce(t *testing.T) {
	e := newEnv(t)
	srv := smtptest.Start(t, smtptest.Options{})
	e.configureAt(t, srv, slotT.Add(-30*24*time.Hour))
	idleAt := slotT.Add(24*time.Hour + 3*time.Hour) // between the 2nd and 3rd slot
	e.addUnused(t, "Forgotten-key", idleAt.Add(-core.IdleAfter), slotT.Add(200*24*time.Hour))
	for day := range 4 {
		slot := slotT.Add(time.Duration(day) * 24 * time.Hour)
		out, err := e.d.DeliverDue(context.Background(), slot.Add(time.Hour))
		if err != nil {
			t.Fatalf("day %d: %v", day, err)
		}
		if day == 2 && out.Result != mail.ResultSent {
			t.Fatalf("day 2: %s, want the idle key sent", out.Result)
		}
		if day != 2 && out.Result != mail.ResultNothing {
			t.Fatalf("day %d: %s, want nothing to send", day, out.Result)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	p := parse(t, msgs[0].Data)
	subj, _ := p.Header.Subject()
	if subj != "Company API Keys: 0 expired, 0 expiring soon, 1 idle" {
		t.Errorf("Subject = %q", subj)
	}
	for _, part := range p.Parts {
		if !strings.Contains(part.Body, "Forgotten-key") || !strings.Contains(part.Body, "never used (created ") {
			t.Errorf("%s does not list the idle key with its last use:\n%s", part.ContentType, part.Body)
		}
	}
	if !strings.Contains(p.Body("text/plain"), "IDLE (1)") {
		t.Errorf("text part has no idle section:\n%s", p.Body("text/plain"))
	}
	var sent string
	for _, ev := range e.audits(t) {
		if ev.Action == core.ActionDigestSent {
			sent = ev.Detail
		}
	}
	if !strings.Contains(sent, "1 idle") {
		t.Errorf("digest.sent audit detail %q has no idle count", sent)
	}
}

// TestFirstDigestCoversSinceSetup: mail was set up five days before the
// first slot delivered (the app was closed, or SMTP failing); that first
// digest reports every key that expired since the set-up, and none from
// before it.
func TestFirstDigestCoversSinceSetup(t *testing.T) {
	e := newEnv(t)
	srv := smtptest.Start(t, smtptest.Options{})
	setup := slotT.Add(-5 * 24 * time.Hour)
	e.addKey(t, "Before-setup", setup.Add(-time.Hour), 1)
	e.addKey(t, "After-setup", setup.Add(time.Hour), 1)
	e.addKey(t, "Day-before", slotT.Add(-2*time.Hour), 1)
	e.configureAt(t, srv, setup)
	// A later save keeps the set-up time.
	e.configureAt(t, srv, slotT.Add(-time.Hour))
	if got, err := mail.SetupTime(e.store); err != nil || !got.Equal(setup) {
		t.Fatalf("SetupTime = %v, %v; want %v", got, err, setup)
	}
	out, err := e.d.DeliverDue(context.Background(), slotT.Add(time.Minute))
	if err != nil || out.Result != mail.ResultSent {
		t.Fatalf("first delivery: %s, %v", out.Result, err)
	}
	if !out.Digest.Since.Equal(setup) {
		t.Errorf("first digest since %v, want the set-up time %v", out.Digest.Since, setup)
	}
	body := parse(t, srv.Messages()[0].Data).Body("text/plain")
	if got := keyNamesIn(body, "Before-setup", "After-setup", "Day-before"); strings.Join(got, ",") != "After-setup,Day-before" {
		t.Errorf("first digest lists %v, want the two keys expired since set-up", got)
	}
}

// TestFirstDigestWithoutSetupTime: settings saved by a version that did not
// record the set-up time: the first digest covers the last 24 hours, as
// before.
func TestFirstDigestWithoutSetupTime(t *testing.T) {
	e := newEnv(t)
	srv := smtptest.Start(t, smtptest.Options{})
	e.addKey(t, "Three-days-ago", slotT.Add(-72*time.Hour), 1)
	e.addKey(t, "Day-before", slotT.Add(-2*time.Hour), 1)
	old := fmt.Sprintf(`{"host":%q,"port":%d,"security":"none","from":"keydesk@example.com","to":["admin@example.com"]}`, srv.Host(), srv.Port())
	if err := e.store.PutSetting(mail.SettingName, []byte(old), core.AuditEvent{Action: core.ActionSettingsChanged}); err != nil {
		t.Fatal(err)
	}
	if got, err := mail.SetupTime(e.store); err != nil || !got.IsZero() {
		t.Fatalf("SetupTime of old settings = %v, %v", got, err)
	}
	out, err := e.d.DeliverDue(context.Background(), slotT.Add(time.Minute))
	if err != nil || out.Result != mail.ResultSent {
		t.Fatalf("delivery: %s, %v", out.Result, err)
	}
	body := parse(t, srv.Messages()[0].Data).Body("text/plain")
	if got := keyNamesIn(body, "Three-days-ago", "Day-before"); strings.Join(got, ",") != "Day-before" {
		t.Errorf("digest lists %v, want only the last 24 hours", got)
	}
}
