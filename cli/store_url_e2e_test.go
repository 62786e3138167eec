package cli_test

import (
	"strings"
	"testing"
)

// TestStoreURLThatDoesNotParseIsBadUsage runs the real binary with --store
// URLs that do not parse (and the same in KEYDESK_STORE): bad usage, exit
// 2, one sentence that never repeats the password.
func TestStoreURLThatDoesNotParseIsBadUsage(t *testing.T) {
	for _, bad := range []string{
		"postgres://keydesk:hunter2-secret@db.example:notaport/keydesk",
		"postgres://keydesk:hunter2-secret@[::1/keydesk",
		"host=db password=hunter2-secret sslmode=sometimes",
	} {
		for _, how := range []string{"flag", "env"} {
			var env []string
			args := []string{"keys", "list"}
			if how == "flag" {
				args = append([]string{"--store", bad}, args...)
			} else {
				env = []string{"KEYDESK_STORE=" + bad}
			}
			r := run(t, "", env, args...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.Contains(r.stderr, "not a valid PostgreSQL URL") {
				t.Errorf("%s %q: exit %d, stderr %q; want exit 2 and one sentence", how, bad, r.code, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, "hunter2") {
				t.Errorf("%s %q: the password was printed: %q", how, bad, r.stderr)
			}
		}
	}
}

// TestStorePasswordOnCommandLineWarns: a --store URL holding a password
// (in the user part, the password parameter or a keyword/value string)
// gets one warning on stderr, without the password; the same URL in
// KEYDESK_STORE, or one without a password, gets none.
func TestStorePasswordOnCommandLineWarns(t *testing.T) {
	// Port 1 on loopback: nothing answers, so the command fails after
	// the warning (which comes before any connection).
	const warning = "holds a password"
	for _, tc := range []struct {
		url  string
		flag bool
		warn bool
	}{
		{"postgres://keydesk:hunter2-secret@127.0.0.1:1/keydesk?connect_timeout=2", true, true},
		{"postgres://keydesk@127.0.0.1:1/keydesk?connect_timeout=2&password=hunter2-secret", true, true},
		{"host=127.0.0.1 port=1 user=keydesk password=hunter2-secret connect_timeout=2", true, true},
		{"postgres://keydesk:hunter2-secret@127.0.0.1:1/keydesk?connect_timeout=2", false, false},
		{"postgres://keydesk@127.0.0.1:1/keydesk?connect_timeout=2", true, false},
	} {
		var env []string
		args := []string{"keys", "list"}
		if tc.flag {
			args = append([]string{"--store", tc.url}, args...)
		} else {
			env = []string{"KEYDESK_STORE=" + tc.url}
		}
		r := run(t, "", env, args...)
		if n := strings.Count(r.stderr, warning); (n == 1) != tc.warn || n > 1 {
			t.Errorf("%q (flag %v): %d warnings in %q, want warned=%v", tc.url, tc.flag, n, r.stderr, tc.warn)
		}
		if strings.Contains(r.stderr+r.stdout, "hunter2") {
			t.Errorf("%q: the password was printed: %q", tc.url, r.stderr)
		}
		if r.code == 0 {
			t.Errorf("%q: keys list on an unreachable store succeeded", tc.url)
		}
	}
}
