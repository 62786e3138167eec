package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// anyKeyRE finds secrets anywhere in an output.
var anyKeyRE = regexp.MustCompile(`kdk_[0-9A-Za-z]{49}`)

// rolledKey is what `keys roll --json` prints.
type rolledKey struct {
	createdKey
	RolledFrom   string `json:"rolledFrom"`
	OldExpiresAt string `json:"oldExpiresAt"`
}

func (s *store) roll(args ...string) rolledKey {
	s.t.Helper()
	return okJSON[rolledKey](s, append([]string{"keys", "roll", "--json"}, args...)...)
}

// verifyAt runs keys verify with secret at now and returns its reason.
func (s *store) verifyAt(now time.Time, secret string) string {
	s.t.Helper()
	r := s.kdAt(now, secret+"\n", "keys", "verify", "--json")
	var v struct{ Reason string }
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		s.t.Fatalf("keys verify --json printed %q (%s): %v", r.stdout, r.stderr, err)
	}
	return v.Reason
}

// TestRollCommand rolls a key with the real binary: the new key's secret is
// printed once, the keys are linked both ways in the list, the old key
// verifies during its grace and is expired at its end, and rolling again,
// rolling an expired or unknown key, or a bad grace are one sentence with
// exit status 2 and change nothing.
func TestRollCommand(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	old := s.create("--name", "Billing sync", "--section", "info=read", "--expires", "30d")
	s.now = s.now.Add(24 * time.Hour)
	r := s.roll(old.ID, "--grace", "1h")
	if !keyRE.MatchString(r.Key) || r.Key == old.Key || r.RolledFrom != old.ID || r.Name != "Billing sync" ||
		strings.Join(r.Scopes, " ") != strings.Join(old.Scopes, " ") {
		t.Fatalf("roll --json = %+v", r)
	}
	if r.CreatedAt != rfc(s.now) || r.ExpiresAt != rfc(s.now.Add(30*24*time.Hour)) || r.OldExpiresAt != rfc(s.now.Add(time.Hour)) {
		t.Fatalf("roll times: created %s expires %s, old now expires %s", r.CreatedAt, r.ExpiresAt, r.OldExpiresAt)
	}
	byID := map[string]listedKey{}
	for _, k := range s.list() {
		byID[k.ID] = k
	}
	if o, n := byID[old.ID], byID[r.ID]; o.RolledTo != r.ID || n.RolledFrom != old.ID || o.RolledFrom != "" || n.RolledTo != "" || o.ExpiresAt != r.OldExpiresAt {
		t.Fatalf("list links: old %+v, new %+v", o, n)
	}
	text := s.ok("keys", "list")
	for _, want := range []string{"rolled → " + r.ID + " · stops in 1 hour", "rolled from " + old.ID} {
		if !strings.Contains(text, want) {
			t.Errorf("keys list does not show %q:\n%s", want, text)
		}
	}
	if got := s.verifyAt(s.now.Add(59*time.Minute), old.Key); got != "ok" {
		t.Errorf("old key during the grace: %s", got)
	}
	if got := s.verifyAt(s.now.Add(time.Hour), old.Key); got != "expired" {
		t.Errorf("old key at the end of the grace: %s", got)
	}
	if got := s.verifyAt(s.now.Add(time.Hour), r.Key); got != "ok" {
		t.Errorf("new key: %s", got)
	}

	// The text output shows the secret once and the old key's end.
	other := s.create("--name", "Other", "--global")
	out := s.ok("keys", "roll", other.ID)
	if n := len(anyKeyRE.FindAllString(out, -1)); n != 1 || !strings.Contains(out, "keeps working until") || !strings.Contains(out, "tomorrow") {
		t.Errorf("keys roll printed:\n%s", out)
	}
	now0 := s.ok("keys", "roll", r.ID, "--grace", "0")
	if !strings.Contains(now0, "stopped working now") {
		t.Errorf("roll --grace 0 printed:\n%s", now0)
	}

	short := s.create("--name", "Short", "--global", "--expires", "1h")
	before := s.list()
	audit := s.ok("audit")
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"already rolled", []string{old.ID}, "already been rolled"},
		{"unknown id", []string{"0000000000000000"}, "o key has the id"},
		{"bad grace", []string{short.ID, "--grace", "soon"}, "grace period"},
		{"negative grace", []string{short.ID, "--grace", "-1h"}, "grace period"},
		{"no id", nil, "exactly one key id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.kd("", append([]string{"keys", "roll"}, tc.args...)...)
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if res.code != 2 || res.stdout != "" || len(lines) != 1 || !strings.Contains(lines[0], tc.says) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one sentence with %q", res.code, res.stdout, res.stderr, tc.says)
			}
		})
	}
	expired := s.kdAt(s.now.Add(2*time.Hour), "", "keys", "roll", short.ID)
	if expired.code != 2 || !strings.Contains(expired.stderr, "has expired") || strings.Count(strings.TrimSpace(expired.stderr), "\n") != 0 {
		t.Errorf("roll of an expired key: exit %d, %q", expired.code, expired.stderr)
	}
	if after := s.list(); len(after) != len(before) {
		t.Errorf("refused rolls changed the list: %d keys, were %d", len(after), len(before))
	}
	if got := s.ok("audit"); got != audit {
		t.Errorf("refused rolls wrote to the audit log")
	}
	if !strings.Contains(audit, "key.roll") {
		t.Errorf("the audit log has no key.roll event:\n%s", audit)
	}
}

// TestListIdle: a key never used is idle from 90 days after its creation,
// not at 89 days 23 hours; --idle lists only idle keys, the JSON says
// idle: true, and the table marks them.
func TestListIdle(t *testing.T) {
	needKeyring(t)
	s := newStore(t)
	a := s.create("--name", "Quiet", "--section", "info=read")
	s.now = s.now.Add(24 * time.Hour)
	newer := s.create("--name", "Newer", "--section", "info=read")
	created := s.now.Add(-24 * time.Hour)
	at := func(now time.Time, args ...string) []listedKey {
		t.Helper()
		r := s.kdAt(now, "", append([]string{"keys", "list", "--json"}, args...)...)
		var ks []listedKey
		if err := json.Unmarshal([]byte(r.stdout), &ks); err != nil || r.code != 0 {
			t.Fatalf("keys list at %v: exit %d %q %v", now, r.code, r.stderr, err)
		}
		return ks
	}
	if ks := at(created.Add(90*24*time.Hour-time.Hour), "--idle"); len(ks) != 0 {
		t.Errorf("idle at 89 days 23 hours: %+v", ks)
	}
	ks := at(created.Add(90*24*time.Hour), "--idle")
	if len(ks) != 1 || ks[0].ID != a.ID || !ks[0].Idle {
		t.Fatalf("idle at 90 days: %+v", ks)
	}
	for _, k := range at(created.Add(90 * 24 * time.Hour)) {
		if k.Idle != (k.ID == a.ID) {
			t.Errorf("key %s idle=%v", k.Name, k.Idle)
		}
	}
	text := s.kdAt(created.Add(90*24*time.Hour), "", "keys", "list")
	if !strings.Contains(text.stdout, "Quiet  [Idle]") || strings.Contains(text.stdout, "Newer  [Idle]") {
		t.Errorf("keys list text:\n%s", text.stdout)
	}
	none := s.kdAt(created.Add(24*time.Hour), "", "keys", "list", "--idle")
	if none.code != 0 || !strings.Contains(none.stdout, "No idle keys") {
		t.Errorf("keys list --idle with none: %q", none.stdout)
	}
	// keys verify is a test, not a use: the key stays idle.
	if got := s.verifyAt(created.Add(91*24*time.Hour), a.Key); got != "ok" {
		t.Fatalf("verify: %s", got)
	}
	if ks := at(created.Add(91*24*time.Hour), "--idle"); len(ks) != 2 {
		t.Errorf("after keys verify, idle keys %+v; want both", ks)
	}
	// The digest of the slot after a key became idle lists it, once: the
	// next day's lists only the key created a day later.
	idleSlot := time.Date(created.Year(), created.Month(), created.Day(), 11, 0, 0, 0, time.UTC).Add(90 * 24 * time.Hour)
	for i, want := range []string{a.ID, newer.ID} {
		slot := idleSlot.Add(time.Duration(i) * 24 * time.Hour)
		out := s.ok("digest", "preview", "--slot", rfc(slot), "--json")
		var pv struct {
			Subject string
			Idle    []struct{ ID string }
		}
		if err := json.Unmarshal([]byte(out), &pv); err != nil {
			t.Fatal(err)
		}
		if len(pv.Idle) != 1 || pv.Idle[0].ID != want || !strings.HasSuffix(pv.Subject, ", 1 idle") {
			t.Errorf("digest preview for %s: %s", slot, out)
		}
	}
	if r := s.kd("", "keys", "list", "--idle", "--expired"); r.code != 2 {
		t.Errorf("--idle --expired: exit %d", r.code)
	}
}
