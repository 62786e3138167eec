package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/smtptest"
	"github.com/keydesk/keydesk/mail"
)

// TestDigestDeniedList: a key with denied attempts in the 24 hours before
// a slot is the digest's fourth list, with its count, exactly once in each
// MIME part; a digest whose only list it is is still sent, and the next
// days, without denied attempts (or anything else), send nothing.
func TestDigestDeniedList(t *testing.T) {
	e := newEnv(t)
	srv := smtptest.Start(t, smtptest.Options{})
	e.configureAt(t, srv, slotT.Add(-30*24*time.Hour))
	k := e.addKey(t, "Probed-key", slotT.Add(200*24*time.Hour), 1)
	quiet := e.addKey(t, "Quiet-key", slotT.Add(200*24*time.Hour), 1)
	// Denied attempts on the day before the slot's, and allowed uses of
	// the quiet key.
	day := core.UsageDay(slotT.Add(-24 * time.Hour))
	if err := e.store.PutUsage("replica-a", []core.UsageRow{
		{Day: day, KeyID: k.ID, Allowed: 10, Denied: 3},
		{Day: day, KeyID: quiet.ID, Allowed: 50},
	}, day.AddDate(0, 0, -90)); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutUsage("replica-b", []core.UsageRow{{Day: day, KeyID: k.ID, Denied: 2}}, day.AddDate(0, 0, -90)); err != nil {
		t.Fatal(err)
	}
	e.d.Denied = func(slot time.Time) ([]core.DeniedKey, error) {
		keys, err := e.store.ListKeys()
		if err != nil {
			return nil, err
		}
		return core.SelectDenied(e.store, keys, slot)
	}
	for d := range 3 {
		slot := slotT.Add(time.Duration(d) * 24 * time.Hour)
		out, err := e.d.DeliverDue(context.Background(), slot.Add(time.Hour))
		if err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		// Day 0's 24 hours begin on the day of the attempts (counts are
		// per UTC day); day 1's and 2's do not.
		want := mail.ResultNothing
		if d == 0 {
			want = mail.ResultSent
		}
		if out.Result != want {
			t.Fatalf("day %d: %s, want %s", d, out.Result, want)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	p := parse(t, msgs[0].Data)
	if subj, _ := p.Header.Subject(); subj != "Company API Keys: 0 expired, 0 expiring soon, 0 idle, 1 with denied attempts" {
		t.Errorf("Subject = %q", subj)
	}
	for _, part := range p.Parts {
		if n := strings.Count(part.Body, "Probed-key"); n != 1 || !strings.Contains(part.Body, "5 denied attempts") {
			t.Errorf("%s lists the probed key %d times (want once, with 5 denied attempts):\n%s", part.ContentType, n, part.Body)
		}
		if strings.Contains(part.Body, "Quiet-key") {
			t.Errorf("%s lists a key with no denied attempt", part.ContentType)
		}
	}
	if strings.Count(p.Body("text/plain"), "DENIED (1)") != 1 || strings.Count(p.Body("text/html"), "Denied attempts (1)") != 1 {
		t.Errorf("the denied section is not there exactly once:\n%s\n%s", p.Body("text/plain"), p.Body("text/html"))
	}
}
