package cli_test

// End-to-end tests of `keydesk mail` and `keydesk digest`: the real binary,
// the real OS keyring (under scripts/with-keyring.sh) and a real go-smtp
// server in this process on 127.0.0.1.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/smtptest"
	"github.com/keydesk/keydesk/storage"
)

// readMail parses a received message: its header and the text/plain part.
func readMail(t *testing.T, data []byte) (gomail.Header, string) {
	t.Helper()
	p := smtptest.Parse(t, data)
	if types := p.ContentTypes(); !slices.Equal(types, []string{"text/plain", "text/html"}) {
		t.Errorf("parts %v, want text/plain and text/html", types)
	}
	return p.Header, p.Body("text/plain")
}

// openStore opens the data folder of s directly (no keyring needed) after
// the keydesk process has exited.
func (s *store) openStore() *storage.Store {
	s.t.Helper()
	st, err := storage.Open(s.dir, storage.Options{MustExist: true})
	if err != nil {
		s.t.Fatalf("open store: %v", err)
	}
	s.t.Cleanup(func() { st.Close() })
	return st
}

func auditActions(t *testing.T, st *storage.Store) []core.AuditAction {
	t.Helper()
	evs, err := st.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var out []core.AuditAction
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Action)
	}
	return out
}

func TestMailSetShowTest(t *testing.T) {
	needKeyring(t)
	const password = "Sm7p-pass-ZQ93"
	sink := smtptest.Start(t, smtptest.Options{User: "mailer", Pass: password}) // plain SMTP is allowed to loopback only
	port := strconv.Itoa(sink.Port())
	s := newStore(t)
	r := s.kd(password+"\n", "mail", "set", "--host", "127.0.0.1", "--port", port, "--security", "none",
		"--from", "Keydesk <keydesk@example.com>", "--to", "a@example.com, b@example.org", "--username", "mailer", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("mail set: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "127.0.0.1:"+port+" (none)") || strings.Contains(r.stdout, password) {
		t.Errorf("mail set printed %q", r.stdout)
	}

	show := s.ok("mail", "show")
	if !strings.Contains(show, "mailer (password stored in the OS keyring)") || strings.Contains(show, password) {
		t.Errorf("mail show printed %q", show)
	}
	var js struct {
		Configured  bool     `json:"configured"`
		Host        string   `json:"host"`
		Port        int      `json:"port"`
		Security    string   `json:"security"`
		Username    string   `json:"username"`
		To          []string `json:"to"`
		PasswordSet bool     `json:"passwordSet"`
		NextSlot    string   `json:"nextSlot"`
		SetUpAt     string   `json:"setUpAt"`
	}
	out := s.ok("mail", "show", "--json")
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("mail show --json printed %q: %v", out, err)
	}
	if !js.Configured || js.Host != "127.0.0.1" || js.Port != sink.Port() || js.Security != "none" ||
		js.Username != "mailer" || !js.PasswordSet || len(js.To) != 2 || js.NextSlot != "2026-03-01T11:00:00Z" ||
		js.SetUpAt != rfc(s.now) {
		t.Errorf("mail show --json = %+v", js)
	}
	if strings.Contains(out, password) {
		t.Errorf("mail show --json prints the password")
	}

	r = s.kd("", "mail", "test")
	if r.code != 0 {
		t.Fatalf("mail test: exit %d, stderr %q", r.code, r.stderr)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].AuthUser != "mailer" || !slices.Equal(msgs[0].To, []string{"a@example.com", "b@example.org"}) {
		t.Fatalf("server received %+v", msgs)
	}
	h, text := readMail(t, msgs[0].Data)
	if subj, _ := h.Subject(); subj != "Company API Keys: test message from Keydesk" || !strings.Contains(text, "test message") {
		t.Errorf("test message subject %q text %q", subj, text)
	}

	// The password is in the keyring only: not in the database file.
	raw, err := os.ReadFile(filepath.Join(s.dir, storage.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(password)) {
		t.Error("the database file contains the SMTP password")
	}
	st := s.openStore()
	if got := auditActions(t, st); !slices.Equal(got, []core.AuditAction{core.ActionSettingsChanged, core.ActionTestMail}) {
		t.Errorf("audit = %v", got)
	}
}

func TestMailSetBadInput(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	base := []string{"mail", "set", "--from", "k@example.com", "--to", "a@example.com"}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"plain to a remote host", []string{"--host", "smtp.example.com", "--security", "none"}, "", "allowed only to this computer"},
		{"port out of range", []string{"--host", "smtp.example.com", "--port", "70000"}, "", "from 1 to 65535 (--port)"},
		{"unknown security", []string{"--host", "smtp.example.com", "--security", "ssl"}, "", "starttls, tls or none"},
		{"bad recipient", []string{"--host", "smtp.example.com", "--to", "a@example.com,nobody"}, "", `"nobody" is not a valid`},
		{"password without username", []string{"--host", "smtp.example.com", "--password-stdin"}, "pw\n", "needs --username"},
		{"empty password", []string{"--host", "smtp.example.com", "--username", "u", "--password-stdin"}, "\n", "empty password"},
		{"no host", nil, "", "host name (--host)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			r := s.kd(tc.stdin, append(append([]string(nil), base...), tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", r.code, r.stderr, tc.want)
			}
		})
	}
	s.t = t
	if out := s.ok("mail", "show"); !strings.Contains(out, "not set up") {
		t.Errorf("after refused input, mail show printed %q", out)
	}
}

func TestDigestPreviewAndSend(t *testing.T) {
	needKeyring(t)
	sink := smtptest.Start(t, smtptest.Options{})
	port := strconv.Itoa(sink.Port())
	s := newStore(t)                                                      // clock 2026-03-01 10:00 UTC
	soon := s.create("--name", "Soon-key", "--global", "--expires", "1h") // expires at the 11:00 slot
	week := s.create("--name", "Week-key", "--global", "--expires", "7d") // 2026-03-08 10:00, within 7 days of the slot
	s.create("--name", "Later-key", "--section", "pbx=read", "--expires", "30d")

	var pv struct {
		Slot      string `json:"slot"`
		Since     string `json:"since"`
		Until     string `json:"until"`
		Subject   string `json:"subject"`
		MessageID string `json:"messageId"`
		Empty     bool   `json:"empty"`
		Delivered bool   `json:"delivered"`
		Expired   []struct {
			ID, Name, Hint, ExpiresAt string
			ScopeCount                int
		} `json:"expired"`
		Expiring []struct {
			ID, Name string
		} `json:"expiring"`
	}
	out := s.ok("digest", "preview", "--json")
	if err := json.Unmarshal([]byte(out), &pv); err != nil {
		t.Fatalf("digest preview --json printed %q: %v", out, err)
	}
	if pv.Slot != "2026-03-01T11:00:00Z" || pv.Since != "2026-02-28T11:00:00Z" || pv.Until != "2026-03-08T11:00:00Z" ||
		pv.Subject != "Company API Keys: 1 expired, 1 expiring soon, 0 idle" || pv.Empty || pv.Delivered ||
		len(pv.Expired) != 1 || pv.Expired[0].ID != soon.ID || pv.Expired[0].Hint != soon.Hint || pv.Expired[0].ScopeCount != 1 ||
		pv.Expired[0].ExpiresAt != "2026-03-01T11:00:00Z" || len(pv.Expiring) != 1 || pv.Expiring[0].ID != week.ID {
		t.Errorf("digest preview --json = %s", out)
	}
	// --slot names the slot at or before the time: the day before here.
	text := s.ok("digest", "preview", "--slot", "2026-03-01T10:59:59Z")
	if !strings.Contains(text, "Digest for 2026-02-28 11:00 UTC") || !strings.Contains(text, "Company API Keys: 0 expired, 1 expiring soon, 0 idle") ||
		!strings.Contains(text, "Soon-key") || strings.Contains(text, "Week-key") {
		t.Errorf("digest preview --slot printed:\n%s", text)
	}
	if r := s.kd("", "digest", "preview", "--slot", "tomorrow"); r.code != 2 || !strings.Contains(r.stderr, "RFC 3339") {
		t.Errorf("bad --slot: exit %d, stderr %q", r.code, r.stderr)
	}

	// Not set up: digest send fails and marks nothing.
	after := time.Date(2026, 3, 1, 11, 5, 0, 0, time.UTC)
	if r := s.kdAt(after, "", "digest", "send"); r.code != 1 || !strings.Contains(r.stderr, "not set up") {
		t.Errorf("digest send without settings: exit %d, stderr %q", r.code, r.stderr)
	}
	s.ok("mail", "set", "--host", "127.0.0.1", "--port", port, "--security", "none", "--from", "k@example.com", "--to", "ops@example.com,sec@example.com")

	// Twice for the same slot: one message.
	r := s.kdAt(after, "", "digest", "send")
	if r.code != 0 || !strings.Contains(r.stdout, "Sent the digest for 2026-03-01 11:00 UTC (1 expired, 1 expiring soon, 0 idle) to ops@example.com, sec@example.com.") {
		t.Fatalf("digest send: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = s.kdAt(after.Add(20*time.Minute), "", "digest", "send")
	if r.code != 0 || !strings.Contains(r.stdout, "already delivered") {
		t.Errorf("second digest send: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	h, body := readMail(t, msgs[0].Data)
	if id, _ := h.MessageID(); id != pv.MessageID {
		t.Errorf("Message-ID %q, preview said %q", id, pv.MessageID)
	}
	if subj, _ := h.Subject(); subj != pv.Subject {
		t.Errorf("Subject %q, want %q", subj, pv.Subject)
	}
	if !strings.Contains(body, "Soon-key") || !strings.Contains(body, "Week-key") || strings.Contains(body, "Later-key") ||
		strings.Index(body, "Soon-key") > strings.Index(body, "Week-key") {
		t.Errorf("digest text:\n%s", body)
	}
	if out := s.kdAt(after, "", "digest", "preview", "--slot", "2026-03-01T11:00:00Z").stdout; !strings.Contains(out, "already delivered") {
		t.Errorf("preview of a delivered slot printed:\n%s", out)
	}

	// The server is down at the next slot: exit 1, not marked; then it
	// recovers and exactly one more message arrives.
	sink.Close()
	next := after.Add(24 * time.Hour)
	if r := s.kdAt(next, "", "digest", "send"); r.code != 1 || !strings.Contains(r.stderr, "was not sent") {
		t.Errorf("digest send with the server down: exit %d, stderr %q", r.code, r.stderr)
	}
	sink.Restart()
	if r := s.kdAt(next, "", "digest", "send"); r.code != 0 || !strings.Contains(r.stdout, "Sent the digest for 2026-03-02 11:00 UTC") {
		t.Errorf("digest send after recovery: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := s.kdAt(next, "", "digest", "send"); r.code != 0 || !strings.Contains(r.stdout, "already delivered") {
		t.Errorf("digest send again: exit %d, stdout %q", r.code, r.stdout)
	}
	if n := len(sink.Messages()); n != 2 {
		t.Errorf("the server received %d messages in all, want 2 (one per slot)", n)
	}
	st := s.openStore()
	last, _ := st.LastDeliveredSlot()
	if !last.Equal(time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("last delivered slot = %v", last)
	}
	var sent, failed int
	for _, a := range auditActions(t, st) {
		switch a {
		case core.ActionDigestSent:
			sent++
		case core.ActionDigestFailed:
			failed++
		}
	}
	if sent != 2 || failed != 1 {
		t.Errorf("audit: %d digest.sent, %d digest.failed; want 2 and 1", sent, failed)
	}
}
