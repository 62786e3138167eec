package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
)

func TestDigestMessageIDStable(t *testing.T) {
	slot := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	s := validSettings()
	d := core.Digest{Slot: slot, Since: slot.Add(-24 * time.Hour), Expiring: []*core.Key{{ID: "1", Name: "k", Hint: "kdk_ab", ExpiresAt: slot.Add(time.Hour)}}}
	a, err := mail.BuildDigest(s, "store1", d, slot.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	b, err := mail.BuildDigest(s, "store1", d, slot.Add(3*time.Hour)) // a resend later
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.ID != "digest-20261127T1100Z.store1@keydesk" {
		t.Errorf("Message-IDs %q and %q, want both digest-20261127T1100Z.store1@keydesk", a.ID, b.ID)
	}
	if !strings.Contains(string(a.Data), "Message-Id: <digest-20261127T1100Z.store1@keydesk>") {
		t.Errorf("message header lacks the Message-ID:\n%s", a.Data)
	}
	// In another time zone the same instant names the same slot.
	if id := mail.DigestMessageID("store1", slot.In(time.FixedZone("X", 5*3600))); id != a.ID {
		t.Errorf("Message-ID in another zone = %q", id)
	}
	for _, other := range []string{mail.DigestMessageID("store2", slot), mail.DigestMessageID("store1", slot.Add(24*time.Hour))} {
		if other == a.ID {
			t.Errorf("another store or slot gave the same Message-ID %q", other)
		}
	}
}

func TestDigestMessageEscapesAndNeverHoldsSecrets(t *testing.T) {
	slot := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	k := &core.Key{ID: "abc", Name: `<script>alert("x")</script> Ünïcødé`, Hint: "kdk_7Hq2", Digest: []byte("DIGESTBYTES"),
		MAC: []byte("MACBYTES"), Scopes: []string{"a"}, ExpiresAt: slot.Add(-time.Hour)}
	m, err := mail.BuildDigest(validSettings(), "s", core.Digest{Slot: slot, Since: slot.Add(-24 * time.Hour), Expired: []*core.Key{k}}, slot)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, m.Data)
	if strings.Contains(p.Body("text/html"), "<script>") || !strings.Contains(p.Body("text/html"), "&lt;script&gt;") {
		t.Errorf("HTML part does not escape the key name")
	}
	if !strings.Contains(p.Body("text/plain"), k.Name) || !strings.Contains(p.Body("text/plain"), "1 scope ") && !strings.Contains(p.Body("text/plain"), "1 scope\r\n") {
		t.Errorf("text part:\n%s", p.Body("text/plain"))
	}
	for _, secret := range []string{"DIGESTBYTES", "MACBYTES"} {
		if strings.Contains(string(m.Data), secret) {
			t.Errorf("message contains record material %q", secret)
		}
	}
	if !strings.Contains(p.Body("text/plain"), "No key expires between 2026-11-27 11:00 UTC and 2026-12-04 11:00 UTC.") {
		t.Errorf("text part does not say the expiring list is empty:\n%s", p.Body("text/plain"))
	}
}
