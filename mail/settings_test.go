package mail_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
)

func validSettings() mail.Settings {
	return mail.Settings{Host: "smtp.example.com", Port: 587, Security: mail.SecurityStartTLS,
		From: "Keydesk <keydesk@example.com>", To: []string{"a@example.com", "B <b@example.org>"}}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*mail.Settings)
		field string // "" means valid
		msg   string
	}{
		{"valid", func(*mail.Settings) {}, "", ""},
		{"implicit tls", func(s *mail.Settings) { s.Security, s.Port = mail.SecurityTLS, 465 }, "", ""},
		{"plain to localhost", func(s *mail.Settings) { s.Host, s.Security, s.Port = "localhost", mail.SecurityNone, 25 }, "", ""},
		{"plain to 127.1.2.3", func(s *mail.Settings) { s.Host, s.Security = "127.1.2.3", mail.SecurityNone }, "", ""},
		{"plain to ::1", func(s *mail.Settings) { s.Host, s.Security = "::1", mail.SecurityNone }, "", ""},
		{"plain to a .localhost name", func(s *mail.Settings) { s.Host, s.Security = "evil.localhost", mail.SecurityNone }, "security", "allowed only to this computer"},
		{"plain to localhost.", func(s *mail.Settings) { s.Host, s.Security = "localhost.", mail.SecurityNone }, "security", "allowed only to this computer"},
		{"plain to remote host", func(s *mail.Settings) { s.Security = mail.SecurityNone }, "security", "allowed only to this computer"},
		{"plain to LAN address", func(s *mail.Settings) { s.Host, s.Security = "192.168.1.10", mail.SecurityNone }, "security", "allowed only to this computer"},
		{"no host", func(s *mail.Settings) { s.Host = "" }, "host", "enter the SMTP server's host name"},
		{"host with port", func(s *mail.Settings) { s.Host = "smtp.example.com:587" }, "host", "is not a host name"},
		{"port 0", func(s *mail.Settings) { s.Port = 0 }, "port", "from 1 to 65535"},
		{"port 65536", func(s *mail.Settings) { s.Port = 65536 }, "port", "from 1 to 65535"},
		{"bad security", func(s *mail.Settings) { s.Security = "ssl" }, "security", `starttls, tls or none, not "ssl"`},
		{"bad from", func(s *mail.Settings) { s.From = "keydesk" }, "from", `From address "keydesk" is not a valid`},
		{"no recipients", func(s *mail.Settings) { s.To = nil }, "to", "at least one recipient"},
		{"bad recipient", func(s *mail.Settings) { s.To = []string{"a@example.com", "nobody"} }, "to", `recipient address "nobody"`},
		{"username with newline", func(s *mail.Settings) { s.Username = "a\r\nMAIL FROM" }, "username", "line breaks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSettings()
			tc.edit(&s)
			err := s.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var fe *mail.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Validate = %v, want %s error containing %q", err, tc.field, tc.msg)
			}
			if strings.Count(err.Error(), ". ") > 0 || strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one sentence: %q", err)
			}
		})
	}
}

func TestSplitAddresses(t *testing.T) {
	got := mail.SplitAddresses(` a@example.com, "Ops, Team" <ops@example.com>,,b@example.org `)
	want := []string{"<a@example.com>", `"Ops, Team" <ops@example.com>`, "<b@example.org>"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("SplitAddresses = %q, want %q", got, want)
	}
	got = mail.SplitAddresses("a@example.com, nobody")
	if strings.Join(got, "|") != "a@example.com|nobody" {
		t.Errorf("SplitAddresses keeps invalid entries for Validate to report: %q", got)
	}
}

func TestSaveSettingsStoresPasswordOnlyInKeyring(t *testing.T) {
	e := newEnv(t)
	s := validSettings()
	s.Username = "mailer"
	pw := "hunter2-very-secret"
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	if err := mail.SaveSettings(e.store, e.kr, mail.Change{Settings: s, Password: &pw, Actor: "alice", Time: now}); err != nil {
		t.Fatalf("SaveSettings: %v", err)
	}
	got, err := mail.LoadSettings(e.store)
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != s.Host || got.Username != "mailer" || len(got.To) != 2 {
		t.Errorf("loaded %+v", got)
	}
	raw, _ := e.store.Setting(mail.SettingName)
	if strings.Contains(string(raw), pw) {
		t.Errorf("the stored settings contain the password: %s", raw)
	}
	if p, _ := e.kr.MailPassword(); p != pw {
		t.Errorf("keyring password = %q", p)
	}
	evs := e.audits(t)
	if len(evs) != 1 || evs[0].Action != core.ActionSettingsChanged || evs[0].Actor != "alice" ||
		!strings.Contains(evs[0].Detail, "password changed") || strings.Contains(evs[0].Detail, pw) {
		t.Errorf("audit = %+v", evs)
	}

	// Saving without a password keeps it; removing the username deletes it.
	s.Port = 2525
	if err := mail.SaveSettings(e.store, e.kr, mail.Change{Settings: s, Time: now}); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.kr.MailPassword(); p != pw {
		t.Errorf("password after an unrelated change = %q, want kept", p)
	}
	s.Username = ""
	if err := mail.SaveSettings(e.store, e.kr, mail.Change{Settings: s, Time: now}); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.kr.MailPassword(); p != "" {
		t.Errorf("password after removing the username = %q, want deleted", p)
	}
	evs = e.audits(t)
	if d := evs[len(evs)-1].Detail; !strings.Contains(d, "username removed") {
		t.Errorf("last audit detail = %q", d)
	}
}

func TestSaveSettingsRefusesBadInputWritingNothing(t *testing.T) {
	e := newEnv(t)
	s := validSettings()
	pw := "x"
	err := mail.SaveSettings(e.store, e.kr, mail.Change{Settings: s, Password: &pw}) // password without username
	var fe *mail.FieldError
	if !errors.As(err, &fe) || fe.Field != "username" {
		t.Fatalf("SaveSettings = %v, want a username error", err)
	}
	if _, err := mail.LoadSettings(e.store); !errors.Is(err, mail.ErrNotConfigured) {
		t.Errorf("settings were stored: %v", err)
	}
	if p, _ := e.kr.MailPassword(); p != "" {
		t.Errorf("password was stored: %q", p)
	}
	if evs := e.audits(t); len(evs) != 0 {
		t.Errorf("audit = %+v, want nothing", evs)
	}
}

func TestDefaultPort(t *testing.T) {
	for sec, want := range map[mail.Security]int{mail.SecurityStartTLS: 587, mail.SecurityTLS: 465, mail.SecurityNone: 25} {
		if got := mail.DefaultPort(sec); got != want {
			t.Errorf("DefaultPort(%s) = %d, want %d", sec, got, want)
		}
	}
}
